package dev.rgemma.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import dev.rgemma.io.JsonErrors;
import dev.rgemma.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face checkpoint directory: {@code config.json} plus either {@code model.safetensors}
 * or the shards named in {@code model.safetensors.index.json}. Every file is memory-mapped.
 */
public final class SafeTensorsCheckpoint implements TensorSource {
  public static final String CONFIG = "config.json";
  public static final String SINGLE = "model.safetensors";
  public static final String INDEX = "model.safetensors.index.json";

  private final Path directory;
  private final ModelConfig config;
  private final List<SafeTensors> files;
  private final Map<String, SafeTensors.Tensor> tensors;

  private SafeTensorsCheckpoint(Path directory, ModelConfig config, List<SafeTensors> files,
      Map<String, SafeTensors.Tensor> tensors) {
    this.directory = directory;
    this.config = config;
    this.files = files;
    this.tensors = tensors;
  }

  public static SafeTensorsCheckpoint open(Path directory) throws IOException {
    if (!Files.isDirectory(directory)) {
      throw new NoSuchFileException(directory.toString(), null, "checkpoint directory not found");
    }
    ModelConfig config = ModelConfig.load(directory.resolve(CONFIG));
    List<SafeTensors> files = new ArrayList<>();
    Map<String, SafeTensors.Tensor> tensors = new HashMap<>();
    try {
      Path index = directory.resolve(INDEX);
      if (Files.isRegularFile(index)) {
        openShards(index, files, tensors);
      } else {
        Path single = directory.resolve(SINGLE);
        if (!Files.isRegularFile(single)) {
          throw new RgemmaException(directory + ": neither " + SINGLE + " nor " + INDEX + " found");
        }
        SafeTensors st = SafeTensors.open(single);
        files.add(st);
        tensors.putAll(st.tensors());
      }
    } catch (IOException | RuntimeException e) {
      files.forEach(SafeTensors::close);
      throw e;
    }
    return new SafeTensorsCheckpoint(directory, config, files, tensors);
  }

  private static void openShards(Path index, List<SafeTensors> files, Map<String, SafeTensors.Tensor> tensors)
      throws IOException {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(Files.readString(index));
    } catch (JsonProcessingException e) {
      throw new RgemmaException(index + ": " + JsonErrors.describe(e));
    }
    JsonNode weightMap = root == null ? null : root.get("weight_map");
    if (weightMap == null || !weightMap.isObject()) {
      throw new RgemmaException(index + ": field 'weight_map' (tensor name -> shard file) is missing");
    }
    Map<String, String> shardOf = new LinkedHashMap<>();
    weightMap.fields().forEachRemaining(e -> shardOf.put(e.getKey(), e.getValue().asText()));
    Map<String, SafeTensors> opened = new LinkedHashMap<>();
    for (var entry : shardOf.entrySet()) {
      String shardName = entry.getValue();
      Path shardPath = index.getParent().resolve(shardName).normalize();
      if (shardName.isEmpty() || !shardPath.getParent().equals(index.getParent().normalize())) {
        throw new RgemmaException(index + ": tensor '" + entry.getKey() + "' names an invalid shard file '" + shardName + "'");
      }
      SafeTensors shard = opened.get(shardName);
      if (shard == null) {
        if (!Files.isRegularFile(shardPath)) {
          throw new RgemmaException(index + ": shard '" + shardName + "' (holding tensor '" + entry.getKey()
              + "') does not exist in " + index.getParent());
        }
        shard = SafeTensors.open(shardPath);
        opened.put(shardName, shard);
        files.add(shard);
      }
      SafeTensors.Tensor t = shard.tensors().get(entry.getKey());
      if (t == null) {
        throw new RgemmaException(shardPath + ": tensor '" + entry.getKey() + "' is listed in " + index.getFileName()
            + " but not present in this shard");
      }
      tensors.put(entry.getKey(), t);
    }
  }

  @Override
  public ModelConfig config() {
    return config;
  }

  @Override
  public Optional<StoredTensor> find(String name) {
    SafeTensors.Tensor t = tensors.get(name);
    if (t == null) {
      return Optional.empty();
    }
    return Optional.of(new StoredTensor(name, t.file().toString(), t.dtype(), t.shape(), t.data()));
  }

  @Override
  public String location() {
    return directory.toString();
  }

  @Override
  public void close() {
    files.forEach(SafeTensors::close);
  }
}
