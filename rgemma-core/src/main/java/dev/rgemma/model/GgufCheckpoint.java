package dev.rgemma.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import dev.rgemma.io.GgufFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A model in one memory-mapped GGUF file written by {@code rgemma quantize}: tensors under their
 * Hugging Face names, the config as JSON in {@link #CONFIG_KEY} (plus informative
 * {@code recurrentgemma.*} keys).
 */
public final class GgufCheckpoint implements TensorSource {
  public static final String ARCHITECTURE = "recurrentgemma";
  /** The model's config.json, verbatim as {@link ModelConfig#toJson()} writes it. */
  public static final String CONFIG_KEY = "rgemma.config_json";

  private final GgufFile file;
  private final ModelConfig config;

  private GgufCheckpoint(GgufFile file, ModelConfig config) {
    this.file = file;
    this.config = config;
  }

  public static GgufCheckpoint open(Path path) throws IOException {
    GgufFile file = GgufFile.open(path);
    try {
      String architecture = file.requireString("general.architecture");
      if (!architecture.equals(ARCHITECTURE)) {
        throw new RgemmaException(path + ": general.architecture is '" + architecture + "', expected '"
            + ARCHITECTURE + "' (this GGUF file holds another kind of model)");
      }
      String json = file.requireString(CONFIG_KEY);
      ModelConfig config;
      try {
        config = ModelConfig.fromJson(new ObjectMapper().readTree(json));
      } catch (JsonProcessingException e) {
        throw new RgemmaException(path + ": metadata '" + CONFIG_KEY + "' is not valid JSON: " + e.getOriginalMessage());
      } catch (RgemmaException e) {
        throw new RgemmaException(path + ": metadata '" + CONFIG_KEY + "': " + e.getMessage(), e);
      }
      return new GgufCheckpoint(file, config);
    } catch (RuntimeException e) {
      file.close();
      throw e;
    }
  }

  public GgufFile file() {
    return file;
  }

  @Override
  public ModelConfig config() {
    return config;
  }

  @Override
  public Optional<StoredTensor> find(String name) {
    GgufFile.Tensor t = file.tensors().get(name);
    if (t == null) {
      return Optional.empty();
    }
    return Optional.of(new StoredTensor(name, file.file().toString(), t.dtype(), t.shape(), t.data()));
  }

  @Override
  public String location() {
    return file.file().toString();
  }

  @Override
  public void close() {
    file.close();
  }
}
