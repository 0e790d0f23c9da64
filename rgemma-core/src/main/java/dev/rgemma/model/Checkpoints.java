package dev.rgemma.model;

import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/** Opens whatever a {@code --model} path names: a checkpoint directory or a {@code .gguf} file. */
public final class Checkpoints {
  private Checkpoints() {}

  public static TensorSource open(Path path) throws IOException {
    if (Files.isDirectory(path)) {
      return SafeTensorsCheckpoint.open(path);
    }
    if (Files.isRegularFile(path)) {
      checkNotAFileOfADirectory(path);
      return GgufCheckpoint.open(path);
    }
    throw new NoSuchFileException(path.toString(), null,
        "not found: expected a checkpoint directory (config.json + *.safetensors) or a .gguf file");
  }

  /**
   * A file that is not a GGUF file but one of a checkpoint directory's (config.json, a
   * .safetensors shard, tokenizer.json, ...) is a likely slip for its directory: said so, rather
   * than as a GGUF file with a bad magic number.
   */
  private static void checkNotAFileOfADirectory(Path path) throws IOException {
    String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
    if (!(name.endsWith(".json") || name.endsWith(".safetensors") || name.equals("tokenizer.model"))) {
      return;
    }
    if (dev.rgemma.io.GgufFile.startsWithMagic(path)) {
      return;
    }
    Path directory = path.getParent() != null ? path.getParent() : path.toAbsolutePath().getParent();
    throw new RgemmaException(path + " is a file of a checkpoint, not a model: pass the directory that contains it ("
        + directory + ") or a .gguf file");
  }
}
