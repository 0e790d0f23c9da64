package dev.rgemma.spark;

import dev.rgemma.RgemmaException;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.engine.TokenizerCodec;
import dev.rgemma.kernels.Kernels;
import dev.rgemma.model.GgufCheckpoint;
import dev.rgemma.model.ModelConfig;
import dev.rgemma.model.RecurrentGemmaModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.util.LongAccumulator;

/**
 * The models of this JVM (an executor, or the driver in local mode): each loaded once, lazily, on
 * first use by a task, then shared by every task of the JVM until it exits. Weights are
 * memory-mapped, so the tasks share one copy in the page cache; the heap holds only scratch
 * buffers and per-sequence states.
 */
final class ExecutorModels {
  /** A loaded model and its tokenizer (null for models without one). */
  record Loaded(RecurrentGemmaModel model, TextCodec codec) {}

  private static final Map<Path, Loaded> MODELS = new ConcurrentHashMap<>();
  private static final AtomicLong LOADS = new AtomicLong();

  private ExecutorModels() {}

  /**
   * The model at {@code path}, loading it if this JVM has not yet. A load adds one to {@code
   * loads} (the job's counter, summed on the driver) and sets the kernel threads of the JVM.
   */
  static Loaded get(String path, int threads, LongAccumulator loads) {
    Path key = Path.of(path).toAbsolutePath().normalize();
    Loaded loaded = MODELS.get(key);
    if (loaded != null) {
      return loaded;
    }
    synchronized (ExecutorModels.class) {
      loaded = MODELS.get(key);
      if (loaded == null) {
        Kernels.setThreads(threads);
        loaded = load(key);
        MODELS.put(key, loaded);
        LOADS.incrementAndGet();
        if (loads != null) {
          loads.add(1);
        }
      }
      return loaded;
    }
  }

  /** Models loaded by this JVM since it started. */
  static long loadsInThisJvm() {
    return LOADS.get();
  }

  private static Loaded load(Path path) {
    try {
      RecurrentGemmaModel model = RecurrentGemmaModel.load(path);
      TextCodec codec = TokenizerCodec.forModel(model, path).orElse(null);
      return new Loaded(model, codec);
    } catch (IOException e) {
      throw new UncheckedIOException("rgemma: cannot load the model " + path + ": " + e.getMessage(), e);
    }
  }

  /** What the driver can tell about a model without loading its weights. */
  record ModelInfo(ModelConfig config, boolean hasTokenizer) {}

  /**
   * Checks on the driver that {@code path} is a model (a checkpoint directory with a valid
   * config.json and weights, or a GGUF file with a valid header), so that a wrong path fails the
   * job at once rather than in a task. Reads no weights.
   */
  static ModelInfo inspect(String path) {
    Path model = Path.of(path);
    String expected = "expected a checkpoint directory (config.json, model.safetensors) or a .gguf file "
        + "at a path every executor can read";
    if (!Files.exists(model)) {
      throw new RgemmaException("model " + path + " does not exist; " + expected);
    }
    try {
      if (Files.isRegularFile(model)) {
        try (GgufCheckpoint gguf = GgufCheckpoint.open(model)) {
          Map<String, ?> metadata = gguf.file().metadata();
          return new ModelInfo(gguf.config(), metadata.containsKey(GgufCheckpoint.TOKENIZER_JSON_KEY)
              || metadata.containsKey(GgufCheckpoint.SENTENCEPIECE_KEY));
        }
      }
      Path config = model.resolve("config.json");
      if (!Files.isRegularFile(config)) {
        throw new RgemmaException("model " + path + " has no config.json; " + expected);
      }
      if (!Files.isRegularFile(model.resolve("model.safetensors"))
          && !Files.isRegularFile(model.resolve("model.safetensors.index.json"))) {
        throw new RgemmaException("model " + path + " has no model.safetensors or model.safetensors.index.json");
      }
      boolean tokenizer = Files.isRegularFile(model.resolve("tokenizer.json"))
          || Files.isRegularFile(model.resolve("tokenizer.model"));
      return new ModelInfo(ModelConfig.load(config), tokenizer);
    } catch (IOException e) {
      throw new UncheckedIOException("model " + path + ": " + e.getMessage(), e);
    }
  }
}
