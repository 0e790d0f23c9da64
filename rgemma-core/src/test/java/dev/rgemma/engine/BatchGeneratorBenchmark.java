package dev.rgemma.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rgemma.kernels.Kernels;
import dev.rgemma.model.ModelConfig;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.model.SyntheticCheckpoint;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Decode throughput of {@link BatchGenerator} by batch size (see BENCHMARKS.md). Not a unit test;
 * run with {@code java -cp <core classes, test classes, jackson> dev.rgemma.engine.BatchGeneratorBenchmark
 * CONFIG.json LAYERS VOCAB SEQUENCES TOKENS THREADS}. The weights are synthetic (bf16), the config's
 * widths with fewer layers and a smaller vocabulary so that it fits a small machine.
 */
public final class BatchGeneratorBenchmark {
  private BatchGeneratorBenchmark() {}

  public static void main(String[] args) throws Exception {
    ObjectNode json = (ObjectNode) new ObjectMapper().readTree(Files.readString(Path.of(args[0])));
    json.put("num_hidden_layers", Integer.parseInt(args[1]));
    json.put("vocab_size", Integer.parseInt(args[2]));
    int sequences = Integer.parseInt(args[3]);
    int tokens = Integer.parseInt(args[4]);
    Kernels.setThreads(Integer.parseInt(args[5]));
    ModelConfig config = ModelConfig.fromJson(json);
    try (RecurrentGemmaModel model = RecurrentGemmaModel.fromSource(new SyntheticCheckpoint(config, 1, DType.BF16))) {
      SplittableRandom random = new SplittableRandom(5);
      List<BatchGenerator.Request> requests = new ArrayList<>();
      for (int i = 0; i < sequences; i++) {
        int[] prompt = new int[16];
        for (int t = 0; t < prompt.length; t++) {
          prompt[t] = 3 + random.nextInt(config.vocabSize() - 3);
        }
        requests.add(new BatchGenerator.Request(prompt, SamplerSettings.defaults().withSeed(i),
            new GenerationOptions(tokens, List.of(), true)));
      }
      System.out.printf("kernels: %s, %d threads; %d layers, hidden %d, vocab %d; %d sequences x (16 prompt + %d generated)%n",
          Kernels.implementation(), Kernels.threads(), config.numLayers(), config.hiddenSize(), config.vocabSize(),
          sequences, tokens);
      for (int batch : new int[] {1, 1, 4, 8, 16}) {
        long start = System.nanoTime();
        List<BatchGenerator.Outcome> outcomes = new BatchGenerator(model, null, batch, 64).generateAll(requests);
        double seconds = (System.nanoTime() - start) / 1e9;
        long generated = outcomes.stream().mapToLong(o -> o.result().generatedTokens()).sum();
        System.out.printf("batch %2d: %d tokens in %.1f s = %.1f generated tok/s (prefill included)%n",
            batch, generated, seconds, generated / seconds);
      }
    }
  }
}
