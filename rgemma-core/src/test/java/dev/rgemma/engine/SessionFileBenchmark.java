package dev.rgemma.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rgemma.model.LayerState;
import dev.rgemma.model.ModelConfig;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.model.SyntheticCheckpoint;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Times saving and loading a full-size session (see BENCHMARKS.md). Not a unit test; run with
 * {@code java -cp <core classes, test classes, jackson> dev.rgemma.engine.SessionFileBenchmark
 * CONFIG.json FILE}. The weights are synthetic, with a small vocabulary and MLP: the state
 * depends on neither.
 */
public final class SessionFileBenchmark {
  private SessionFileBenchmark() {}

  public static void main(String[] args) throws Exception {
    ObjectNode json = (ObjectNode) new ObjectMapper().readTree(Files.readString(Path.of(args[0])));
    json.put("vocab_size", 512);
    json.put("intermediate_size", 2);
    ModelConfig config = ModelConfig.fromJson(json);
    Path file = Path.of(args[1]);
    try (RecurrentGemmaModel model =
        RecurrentGemmaModel.fromSource(new SyntheticCheckpoint(config, 1, DType.BF16))) {
      Session session = new Session(model, null, SamplerSettings.defaults());
      SplittableRandom random = new SplittableRandom(3);
      for (LayerState layer : session.state().layers()) {
        switch (layer) {
          case LayerState.RecurrentState r -> {
            fill(r.convWindow(), random);
            fill(r.h(), random);
          }
          case LayerState.AttentionState a -> {
            fill(a.keys(), random);
            fill(a.values(), random);
          }
        }
      }
      for (int round = 0; round < 5; round++) {
        long start = System.nanoTime();
        session.save(file);
        long saved = System.nanoTime();
        new Session(model, null, SamplerSettings.defaults()).load(file);
        long loaded = System.nanoTime();
        System.out.printf("state %d bytes, file %d bytes: save %.0f ms, load %.0f ms%n",
            session.stateBytes(), Files.size(file), (saved - start) / 1e6, (loaded - saved) / 1e6);
      }
    }
  }

  private static void fill(float[] values, SplittableRandom random) {
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
  }
}
