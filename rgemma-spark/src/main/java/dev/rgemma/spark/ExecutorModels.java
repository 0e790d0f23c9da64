package dev.rgemma.spark;

import dev.rgemma.RgemmaException;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.engine.TokenizerCodec;
import dev.rgemma.kernels.Kernels;
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
      TextCodec codec = TokenizerCodec.forModel(path, model.config().vocabSize()).orElse(null);
      return new Loaded(model, codec);
    } catch (IOException e) {
      throw new UncheckedIOException("rgemma: cannot load the model " + path + ": " + e.getMessage(), e);
    }
  }

  /** What the driver can tell about a model without loading its weights. */
  record ModelInfo(ModelConfig config, boolean hasTokenizer) {}

  /**
   * Checks on the driver that {@code path} is a checkpoint directory (config.json readable and
   * valid, weights present), so that a wrong path fails the job at once rather than in a task.
   */
  static ModelInfo inspect(String path) {
    Path dir = Path.of(path);
    if (!Files.exists(dir)) {
      throw new RgemmaException("model " + path + " does not exist; expected a checkpoint directory "
          + "(config.json, model.safetensors) at a path every executor can read");
    }
    if (!Files.isDirectory(dir)) {
      throw new RgemmaException("model " + path + " is a file; expected a checkpoint directory "
          + "(config.json, model.safetensors)");
    }
    Path config = dir.resolve("config.json");
    if (!Files.isRegularFile(config)) {
      throw new RgemmaException("model " + path + " has no config.json; expected a checkpoint directory "
          + "(config.json, model.safetensors)");
    }
    if (!Files.isRegularFile(dir.resolve("model.safetensors"))
        && !Files.isRegularFile(dir.resolve("model.safetensors.index.json"))) {
      throw new RgemmaException("model " + path + " has no model.safetensors or model.safetensors.index.json");
    }
    try {
      boolean tokenizer = Files.isRegularFile(dir.resolve("tokenizer.json"))
          || Files.isRegularFile(dir.resolve("tokenizer.model"));
      return new ModelInfo(ModelConfig.load(config), tokenizer);
    } catch (IOException e) {
      throw new UncheckedIOException("model " + path + ": cannot read config.json: " + e.getMessage(), e);
    }
  }
}
