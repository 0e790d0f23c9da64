package dev.rgemma.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.rgemma.RgemmaException;
import dev.rgemma.io.SafeTensorsWriter;
import dev.rgemma.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The training loop: seeded random windows, AdamW with clipping, warm-up + cosine schedule,
 * periodic held-out evaluation, a progress line, and Hugging Face-layout checkpoints that also
 * carry the optimizer state ({@code optimizer.safetensors}, {@code trainer_state.json}) for resume.
 */
public final class Trainer {
  public static final String TRAINER_STATE = "trainer_state.json";
  public static final String OPTIMIZER = "optimizer.safetensors";

  /** Runtime options of one training run (the model shape lives in {@link ModelShape}). */
  public record Options(
      int steps,
      int batchSize,
      int seqLen,
      double learningRate,
      int warmupSteps,
      double minLearningRateRatio,
      double weightDecay,
      double gradientClip,
      long seed,
      int evalEvery,
      int evalWindows,
      int saveEvery,
      int logEvery,
      DType saveDType) {
    public Options {
      if (steps < 1 || batchSize < 1 || seqLen < 2 || evalEvery < 0 || evalWindows < 0
          || saveEvery < 0 || logEvery < 1) {
        throw new IllegalArgumentException("training options out of range: steps " + steps
            + ", batch " + batchSize + ", seq-len " + seqLen + " (>= 2), eval-every " + evalEvery
            + ", eval-windows " + evalWindows + ", save-every " + saveEvery);
      }
    }
  }

  /** Held-out result for one document: mean NLL (nats/token) and bits per UTF-8 byte. */
  public record Evaluation(String name, long tokens, double meanLoss, double bitsPerByte) {}

  private final TrainingModel model;
  private final ModelParameters params;
  private final AdamW optimizer;
  private final Options options;
  private final TokenCorpus train;
  private final TokenCorpus heldOut;
  private final BpeEncoder encoder;
  private final PrintWriter log;
  private final boolean interactive;
  private int startStep;
  private double lastTrainLoss = Double.NaN;
  private List<Evaluation> lastEvaluation = List.of();

  public Trainer(ModelParameters params, Gemm gemm, Options options, TokenCorpus train,
      TokenCorpus heldOut, BpeEncoder encoder, PrintWriter log, boolean interactive) {
    this.params = params;
    this.model = new TrainingModel(params, gemm);
    this.optimizer = new AdamW(params.all(), 0.9, 0.95, 1e-8, options.weightDecay());
    this.options = options;
    this.train = train;
    this.heldOut = heldOut;
    this.encoder = encoder;
    this.log = log;
    this.interactive = interactive;
    if (encoder.vocabSize() > params.shape().vocabSize()) {
      throw new RgemmaException("the tokenizer has " + encoder.vocabSize()
          + " pieces but the model's vocab_size is " + params.shape().vocabSize());
    }
  }

  public int startStep() {
    return startStep;
  }

  public double lastTrainLoss() {
    return lastTrainLoss;
  }

  public List<Evaluation> lastEvaluation() {
    return lastEvaluation;
  }

  /** Runs from {@link #startStep()} to {@code options.steps()}, saving into {@code out}. */
  public void run(Path out, Path tokenizerDir) throws IOException {
    runUntil(options.steps(), out, tokenizerDir);
  }

  /**
   * Runs steps {@link #startStep()} .. {@code stopStep - 1} of the {@code options.steps()}-step
   * schedule, then saves (when {@code out} is not null) and evaluates.
   */
  public void runUntil(int stopStep, Path out, Path tokenizerDir) throws IOException {
    if (stopStep < startStep || stopStep > options.steps()) {
      throw new IllegalArgumentException("stop step " + stopStep + " outside [" + startStep + ", "
          + options.steps() + "]");
    }
    LearningRateSchedule schedule = new LearningRateSchedule(options.learningRate(),
        options.warmupSteps(), options.steps(), options.minLearningRateRatio());
    long tokensPerStep = (long) options.batchSize() * options.seqLen();
    log.printf(Locale.ROOT, "rgemma train: %,d parameters, %,d training tokens in %d file(s), "
            + "%,d tokens per step, steps %d..%d%n",
        params.shape().parameterCount(), train.tokenCount(), train.documents().size(),
        tokensPerStep, startStep, options.steps());
    long startNanos = System.nanoTime();
    double smoothed = Double.NaN;
    for (int step = startStep; step < stopStep; step++) {
      Random random = new Random(options.seed() * 1_000_003L + step);
      int[][][] batch = train.randomBatch(random, options.batchSize(), options.seqLen());
      params.zeroGradients();
      double loss = model.lossAndGradient(batch[0], batch[1]);
      if (!Double.isFinite(loss)) {
        throw new IllegalStateException("loss became " + loss + " at step " + step
            + "; lower --lr or raise --warmup");
      }
      double lr = schedule.at(step);
      double norm = optimizer.update(lr, options.gradientClip());
      lastTrainLoss = loss;
      smoothed = Double.isNaN(smoothed) ? loss : 0.9 * smoothed + 0.1 * loss;
      int done = step + 1;
      boolean last = done == stopStep;
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      double tokensPerSecond = (done - startStep) * tokensPerStep / seconds;
      double eta = (options.steps() - done) * tokensPerStep / tokensPerSecond;
      if (interactive) {
        log.print("\r" + progressLine(done, smoothed, lr, norm, tokensPerSecond, eta));
        log.flush();
      }
      if (done % options.logEvery() == 0 || last) {
        if (interactive) {
          log.println();
        } else {
          log.println(progressLine(done, smoothed, lr, norm, tokensPerSecond, eta));
        }
      }
      if (heldOut != null && options.evalEvery() > 0 && (done % options.evalEvery() == 0 || last)) {
        lastEvaluation = evaluate(heldOut, options.evalWindows());
        for (Evaluation e : lastEvaluation) {
          log.printf(Locale.ROOT, "  held-out %s: loss %.4f, %.3f bits/byte (%d tokens)%n",
              e.name(), e.meanLoss(), e.bitsPerByte(), e.tokens());
        }
      }
      if (out != null && ((options.saveEvery() > 0 && done % options.saveEvery() == 0) || last)) {
        save(out, tokenizerDir, done);
      }
    }
  }

  private String progressLine(int done, double loss, double lr, double norm, double tps, double eta) {
    int width = 24;
    int filled = (int) Math.round(width * (double) done / options.steps());
    return String.format(Locale.ROOT, "step %d/%d [%s%s] loss %.4f lr %.2e |g| %.2f %,.0f tok/s ETA %s",
        done, options.steps(), "#".repeat(filled), "-".repeat(width - filled), loss, lr, norm, tps,
        duration(eta));
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
        : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
  }

  /**
   * Mean NLL and bits per byte over consecutive windows of each held-out document (at most
   * {@code maxWindows} per document; 0 means all). Each window starts with {@code <bos>}.
   */
  public List<Evaluation> evaluate(TokenCorpus corpus, int maxWindows) {
    List<Evaluation> results = new ArrayList<>();
    int seqLen = options.seqLen();
    for (TokenCorpus.Document d : corpus.documents()) {
      int windows = d.tokens().length / seqLen;
      if (maxWindows > 0) {
        windows = Math.min(windows, maxWindows);
      }
      double nll = 0;
      long bytes = 0;
      long tokens = 0;
      for (int w0 = 0; w0 < windows; w0 += options.batchSize()) {
        int n = Math.min(options.batchSize(), windows - w0);
        int[][] inputs = new int[n][];
        int[][] targets = new int[n][];
        for (int i = 0; i < n; i++) {
          inputs[i] = TokenCorpus.window(d.tokens(), (w0 + i) * seqLen, seqLen, true);
          targets[i] = TokenCorpus.window(d.tokens(), (w0 + i) * seqLen, seqLen, false);
          for (int t : targets[i]) {
            bytes += encoder.byteLength(t);
          }
        }
        nll += model.loss(inputs, targets) * n * seqLen;
        tokens += (long) n * seqLen;
      }
      if (tokens > 0) {
        results.add(new Evaluation(d.name(), tokens, nll / tokens,
            nll / Math.log(2) / Math.max(1, bytes)));
      }
    }
    return results;
  }

  /** Writes a complete checkpoint (weights in the chosen dtype, optimizer state in F32). */
  public void save(Path out, Path tokenizerDir, int step) throws IOException {
    Checkpoint.save(out, params, options.saveDType(), tokenizerDir);
    SafeTensorsWriter writer = new SafeTensorsWriter().metadata("step", Integer.toString(step));
    List<Parameter> all = params.all();
    for (int i = 0; i < all.size(); i++) {
      long[] shape = Checkpoint.longShape(all.get(i).shape());
      writer.add("m." + all.get(i).name(), DType.F32, shape,
          Checkpoint.toFloats(optimizer.firstMoment[i]));
      writer.add("v." + all.get(i).name(), DType.F32, shape,
          Checkpoint.toFloats(optimizer.secondMoment[i]));
    }
    writer.write(out.resolve(OPTIMIZER));
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("step", step);
    state.put("optimizer_step", optimizer.step());
    // Plain maps only: the core is a JPMS module that does not open this package to Jackson.
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("steps", options.steps());
    o.put("batch_size", options.batchSize());
    o.put("seq_len", options.seqLen());
    o.put("learning_rate", options.learningRate());
    o.put("warmup_steps", options.warmupSteps());
    o.put("min_learning_rate_ratio", options.minLearningRateRatio());
    o.put("weight_decay", options.weightDecay());
    o.put("gradient_clip", options.gradientClip());
    o.put("seed", options.seed());
    o.put("save_dtype", options.saveDType().name());
    state.put("options", o);
    state.put("last_train_loss", lastTrainLoss);
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
        .writeValue(out.resolve(TRAINER_STATE).toFile(), state);
  }

  /** Restores the optimizer moments and the step counter saved by {@link #save}. */
  public void resume(Path dir) throws IOException {
    Path statePath = dir.resolve(TRAINER_STATE);
    if (!Files.isRegularFile(statePath)) {
      throw new RgemmaException(statePath + ": not found (--resume needs a directory written by "
          + "rgemma train; use --init to start from weights only)");
    }
    JsonNode state;
    try {
      state = new ObjectMapper().readTree(statePath.toFile());
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new RgemmaException(statePath + ": " + dev.rgemma.io.JsonErrors.describe(e), e);
    }
    Map<String, CheckpointTensors.Tensor> moments = CheckpointTensors.read(dir.resolve(OPTIMIZER));
    List<Parameter> all = params.all();
    for (int i = 0; i < all.size(); i++) {
      copyInto(moments, "m." + all.get(i).name(), optimizer.firstMoment[i], dir);
      copyInto(moments, "v." + all.get(i).name(), optimizer.secondMoment[i], dir);
    }
    optimizer.setStep(state.path("optimizer_step").asLong());
    startStep = state.path("step").asInt();
  }

  private static void copyInto(Map<String, CheckpointTensors.Tensor> tensors, String name,
      double[] target, Path dir) {
    CheckpointTensors.Tensor t = tensors.get(name);
    if (t == null || t.values().length != target.length) {
      throw new RgemmaException(dir.resolve(OPTIMIZER) + ": tensor " + name
          + " missing or of the wrong size (expected " + target.length + " values)");
    }
    for (int k = 0; k < target.length; k++) {
      target[k] = t.values()[k];
    }
  }
}
