package dev.rgemma.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opens whatever a {@code --model} path names: a checkpoint directory or a {@code .gguf} file. */
public final class Checkpoints {
  private Checkpoints() {}

  public static TensorSource open(Path path) throws IOException {
    if (Files.isDirectory(path)) {
      return SafeTensorsCheckpoint.open(path);
    }
    if (Files.isRegularFile(path)) {
      return GgufCheckpoint.open(path);
    }
    throw new NoSuchFileException(path.toString(), null,
        "not found: expected a checkpoint directory (config.json + *.safetensors) or a .gguf file");
  }
}
