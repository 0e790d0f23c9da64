package dev.rgemma.cli;

import dev.rgemma.model.ModelConfig;
import dev.rgemma.model.ModelState;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.model.SyntheticCheckpoint;
import dev.rgemma.sampling.Sampler;
import dev.rgemma.tensor.DType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rgemma bench-batch}: aggregate decode speed of N sequences batched together. */
@Command(
    name = "bench-batch",
    mixinStandardHelpOptions = true,
    description = {
      "Measure batched decoding: for each N in --parallel, N sequences are prefilled with "
          + "--prompt-tokens random tokens, then decode --tokens steps together (one pass over the weights "
          + "per step, as the server does). Prints the time per step and the aggregate and per-sequence "
          + "tokens per second. Nothing is timed before a warm-up (a prompt and a few decode steps at "
          + "every batch size, in rounds until a round spends under 5 %% of its time in the JIT "
          + "compiler, 2 to 6 rounds) has compiled the single-sequence and the batched code paths.",
      "Weights come from --model, or are seeded random ones of the shapes in --config (no download needed)."
    })
final class BatchBenchCommand implements Callable<Integer> {

  static final class Source {
    @Option(names = "--model", paramLabel = "DIR|FILE.gguf",
        description = "Checkpoint directory or a GGUF file from rgemma quantize.")
    Path model;

    @Option(names = "--config", paramLabel = "FILE",
        description = "config.json of the shapes to benchmark with random weights, e.g. the 2B one.")
    Path config;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  @Spec CommandSpec spec;

  @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "BF16",
      description = "Matrix dtype of random weights with --config: F32, BF16 or F16 (default: ${DEFAULT-VALUE}).")
  DType dtype;

  @Option(names = "--parallel", paramLabel = "N,N,...", defaultValue = "1,4,8", split = ",",
      description = "Batch sizes to measure (default: ${DEFAULT-VALUE}).")
  int[] parallel;

  @Option(names = "--tokens", paramLabel = "N", defaultValue = "4",
      description = "Timed decode steps per batch size, after the warm-up (default: ${DEFAULT-VALUE}).")
  int tokens;

  @Option(names = "--prompt-tokens", paramLabel = "N", defaultValue = "4",
      description = "Prompt length of each sequence (default: ${DEFAULT-VALUE}).")
  int promptTokens;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
      description = "Seed of the random weights and prompts (default: ${DEFAULT-VALUE}).")
  long seed;

  @Override
  public Integer call() throws Exception {
    if (tokens < 1 || promptTokens < 1) {
      throw new IllegalArgumentException("--tokens and --prompt-tokens must be >= 1");
    }
    for (int n : parallel) {
      if (n < 1) {
        throw new IllegalArgumentException("--parallel: batch sizes must be >= 1, got " + n);
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    long loadStart = System.nanoTime();
    try (RecurrentGemmaModel model = source.model != null
        ? RecurrentGemmaModel.load(source.model)
        : RecurrentGemmaModel.fromSource(new SyntheticCheckpoint(ModelConfig.load(source.config), seed, dtype))) {
      out.printf(Locale.ROOT, "model: %s (%s), loaded in %.1f s; %d CPUs; Java %s%n",
          source.model != null ? source.model : source.config + " with random " + dtype + " weights",
          describe(model.config()), (System.nanoTime() - loadStart) / 1e9,
          Runtime.getRuntime().availableProcessors(), Runtime.version());
      SplittableRandom random = new SplittableRandom(seed);
      int rounds = warmUp(model, random);
      out.printf(Locale.ROOT, "warm-up: %d rounds%n", rounds);
      out.println("parallel  steps  ms/step  aggregate tok/s  tok/s per sequence");
      for (int n : parallel) {
        List<ModelState> states = new ArrayList<>();
        List<float[]> logits = prefill(model, n, random, states);
        long start = System.nanoTime();
        for (int step = 0; step < tokens; step++) {
          logits = model.forwardBatch(states, next(logits));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        out.printf(Locale.ROOT, "%8d  %5d  %7.1f  %15.2f  %18.2f%n", n, tokens, seconds * 1e3 / tokens,
            n * tokens / seconds, tokens / seconds);
        out.flush();
      }
    }
    return 0;
  }

  /** N new states (added to {@code states}) fed random prompts; their last logits. */
  private List<float[]> prefill(RecurrentGemmaModel model, int n, SplittableRandom random, List<ModelState> states) {
    List<int[]> prompts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      states.add(model.newState());
      prompts.add(random.ints(promptTokens, 0, model.config().vocabSize()).toArray());
    }
    return model.forwardBatch(states, prompts);
  }

  /**
   * Runs every batch size untimed (its prompts and {@link #WARM_STEPS} decode steps) in rounds until
   * the JIT has settled, as {@code rgemma bench} warms up ({@link BenchCommand#untilCompiled}). With
   * a single untimed step, the first batch size measured was timed while C2 still compiled the
   * decode path (13 tok/s at N = 1 on the demo model against 436 at N = 4). Returns the rounds run.
   */
  private int warmUp(RecurrentGemmaModel model, SplittableRandom random) {
    return BenchCommand.untilCompiled(() -> {
      for (int n : parallel) {
        List<ModelState> states = new ArrayList<>();
        List<float[]> logits = prefill(model, n, random, states);
        for (int step = 0; step < WARM_STEPS; step++) {
          logits = model.forwardBatch(states, next(logits));
        }
      }
    });
  }

  /** Decode steps per batch size in each warm-up round. */
  private static final int WARM_STEPS = 8;

  /** Greedy next tokens, one per sequence. */
  private static List<int[]> next(List<float[]> logits) {
    List<int[]> out = new ArrayList<>();
    for (float[] row : logits) {
      out.add(new int[] {Sampler.argmax(row)});
    }
    return out;
  }

  private static String describe(ModelConfig config) {
    return config.numLayers() + " layers, hidden " + config.hiddenSize() + ", vocab " + config.vocabSize();
  }
}
