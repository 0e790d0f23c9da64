package dev.rgemma.training;

import dev.rgemma.RgemmaException;
import dev.rgemma.io.SafeTensorsWriter;
import dev.rgemma.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Map;

/**
 * Checkpoints in the Hugging Face layout: {@code config.json}, {@code model.safetensors} (HF tensor
 * names, no {@code lm_head}) and {@code tokenizer.json}, so that every other command loads them.
 */
public final class Checkpoint {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";
  public static final String TOKENIZER = "tokenizer.json";
  public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

  private Checkpoint() {}

  /**
   * Writes config and weights into {@code dir} (created if needed) and copies the tokenizer files
   * from {@code tokenizerDir} when it is not null and not {@code dir} itself.
   */
  public static void save(Path dir, ModelParameters params, DType dtype, Path tokenizerDir)
      throws IOException {
    Files.createDirectories(dir);
    params.shape().write(dir.resolve(CONFIG));
    SafeTensorsWriter writer = new SafeTensorsWriter().metadata("format", "pt");
    for (Parameter p : params.all()) {
      writer.add(p.name(), dtype, longShape(p.shape()), toFloats(p.value));
    }
    writer.write(dir.resolve(WEIGHTS));
    if (tokenizerDir != null && !sameDir(tokenizerDir, dir)) {
      for (String name : new String[] {TOKENIZER, TOKENIZER_CONFIG}) {
        Path src = tokenizerDir.resolve(name);
        if (Files.exists(src)) {
          Files.copy(src, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private static boolean sameDir(Path a, Path b) throws IOException {
    return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
  }

  /** Loads {@code config.json} and {@code model.safetensors} from {@code dir}, checking every shape. */
  public static ModelParameters load(Path dir) throws IOException {
    Path config = dir.resolve(CONFIG);
    Path weights = dir.resolve(WEIGHTS);
    for (Path p : new Path[] {config, weights}) {
      if (!Files.isRegularFile(p)) {
        throw new RgemmaException(p + ": not found (a checkpoint directory holds "
            + CONFIG + " and " + WEIGHTS + ")");
      }
    }
    ModelParameters params = new ModelParameters(ModelShape.read(config));
    loadValues(weights, params);
    return params;
  }

  static void loadValues(Path weights, ModelParameters params) throws IOException {
    Map<String, CheckpointTensors.Tensor> tensors = CheckpointTensors.read(weights);
    for (Parameter p : params.all()) {
      CheckpointTensors.Tensor t = tensors.get(p.name());
      if (t == null) {
        throw new RgemmaException(weights + ": tensor " + p.name() + " is missing (expected shape "
            + Arrays.toString(p.shape()) + ")");
      }
      if (!Arrays.equals(t.shape(), longShape(p.shape()))) {
        throw new RgemmaException(weights + ": tensor " + p.name() + " has shape "
            + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(p.shape()));
      }
      float[] v = t.values();
      for (int i = 0; i < v.length; i++) {
        p.value[i] = v[i];
      }
    }
  }

  static long[] longShape(int[] shape) {
    long[] out = new long[shape.length];
    for (int i = 0; i < shape.length; i++) {
      out[i] = shape[i];
    }
    return out;
  }

  static float[] toFloats(double[] values) {
    float[] out = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (float) values[i];
    }
    return out;
  }
}
