package dev.rgemma.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import dev.rgemma.io.GgufFile;
import dev.rgemma.io.GgufValue;
import dev.rgemma.io.JsonErrors;
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
  /** tokenizer.json, verbatim. */
  public static final String TOKENIZER_JSON_KEY = "tokenizer.huggingface.json";
  /** tokenizer.model (SentencePiece protobuf), as a UINT8 array. */
  public static final String SENTENCEPIECE_KEY = "rgemma.tokenizer.sentencepiece_model";
  /** {@code tokenizer_config.json} verbatim (it says, e.g., whether the model has a chat template). */
  public static final String TOKENIZER_CONFIG_KEY = "rgemma.tokenizer.huggingface_config_json";

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
        throw new RgemmaException(path + ": metadata '" + CONFIG_KEY + "' is not valid JSON: " + JsonErrors.describe(e));
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

  /**
   * Writes the tokenizer stored in the metadata ({@code tokenizer.huggingface.json} as {@code
   * tokenizer.json}, {@code rgemma.tokenizer.sentencepiece_model} as {@code tokenizer.model}) into
   * {@code directory}; returns whether there was one.
   */
  public boolean extractTokenizer(Path directory) throws IOException {
    boolean found = false;
    if (file.metadata().containsKey(TOKENIZER_JSON_KEY)) {
      java.nio.file.Files.writeString(directory.resolve("tokenizer.json"), file.requireString(TOKENIZER_JSON_KEY));
      found = true;
    }
    if (file.metadata().containsKey(TOKENIZER_CONFIG_KEY)) {
      java.nio.file.Files.writeString(directory.resolve("tokenizer_config.json"),
          file.requireString(TOKENIZER_CONFIG_KEY));
    }
    GgufValue model = file.metadata().get(SENTENCEPIECE_KEY);
    if (model != null) {
      if (model.type() != GgufValue.Type.ARRAY
          || (model.elementType() != GgufValue.Type.UINT8 && model.elementType() != GgufValue.Type.INT8)) {
        throw new RgemmaException(file.file() + ": metadata key '" + SENTENCEPIECE_KEY + "' is " + model.type()
            + (model.type() == GgufValue.Type.ARRAY ? " of " + model.elementType() : "") + ", expected ARRAY of UINT8");
      }
      java.util.List<?> values = model.asList();
      byte[] bytes = new byte[values.size()];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = (byte) (long) (Long) values.get(i);
      }
      java.nio.file.Files.write(directory.resolve("tokenizer.model"), bytes);
      found = true;
    }
    return found;
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
