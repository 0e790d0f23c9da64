package dev.rgemma.cli;

import dev.rgemma.RgemmaException;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.engine.TokenizerCodec;
import dev.rgemma.kernels.Kernels;
import dev.rgemma.model.RecurrentGemmaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Which model to run and on how many threads; shared by generate and chat. */
final class ModelOptions {
  /** The demo model's place under the installation (the launcher passes -Drgemma.home). */
  static final String DEMO_MODEL = "models/demo";

  @Option(names = "--model", paramLabel = "DIR|FILE.gguf",
      description = "Checkpoint directory (config.json, model.safetensors or shards, tokenizer.json) "
          + "or a GGUF file from rgemma quantize (its tokenizer is in the file). "
          + "Default: the demo model, <rgemma home>/" + DEMO_MODEL + ".")
  Path model;

  @Option(names = "--threads", paramLabel = "N",
      description = "Compute threads (default: all processors). Results do not depend on it.")
  Integer threads;

  /** The model directory: --model, or the demo model. */
  Path modelDirectory() {
    if (model != null) {
      return model;
    }
    String home = System.getProperty("rgemma.home");
    if (home == null || home.isBlank()) {
      throw new RgemmaException("no --model given and rgemma.home is not set: pass --model DIR");
    }
    Path demo = Path.of(home).resolve(DEMO_MODEL);
    if (!Files.isDirectory(demo)) {
      throw new RgemmaException("no --model given and the demo model is not installed at " + demo
          + ": pass --model DIR (a checkpoint directory with config.json and model.safetensors)");
    }
    return demo;
  }

  RecurrentGemmaModel load() throws IOException {
    if (threads != null) {
      if (threads < 1) {
        throw new IllegalArgumentException("--threads is " + threads + ", expected at least 1");
      }
      Kernels.setThreads(threads);
    }
    return RecurrentGemmaModel.load(modelDirectory());
  }

  /** The tokenizer in the GGUF file or beside the weights (tokenizer.json or tokenizer.model); null if none. */
  TextCodec loadTokenizer(RecurrentGemmaModel loaded) throws IOException {
    return TokenizerCodec.forModel(loaded, modelDirectory()).orElse(null);
  }
}
