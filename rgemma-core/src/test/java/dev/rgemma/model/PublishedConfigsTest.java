package dev.rgemma.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.tensor.DType;
import java.io.InputStream;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The published 2B/9B configs parse to the documented shapes, and our tensor names are the real ones. */
class PublishedConfigsTest {
  private static JsonNode resource(String path) throws Exception {
    try (InputStream in = PublishedConfigsTest.class.getResourceAsStream("/configs/" + path)) {
      return new ObjectMapper().readTree(in);
    }
  }

  @Test
  void twoB() throws Exception {
    ModelConfig c = ModelConfig.fromJson(resource("recurrentgemma-2b/config.json"));
    assertEquals(2560, c.hiddenSize());
    assertEquals(7680, c.mlpWidth());
    assertEquals(10, c.numHeads());
    assertEquals(256, c.headDim());
    assertEquals(256, c.lruBlockWidth());
    assertEquals(128, c.rotaryDim());
    assertEquals(26, c.numLayers());
    assertEquals(8, c.blockTypes().stream().filter(t -> t == BlockType.ATTENTION).count());
    assertEquals(BlockType.ATTENTION, c.blockTypes().get(2));
    assertEquals(50.5f, c.embeddingScale());
    assertEquals(2048, c.attentionWindowSize());
  }

  @Test
  void nineB() throws Exception {
    ModelConfig c = ModelConfig.fromJson(resource("recurrentgemma-9b/config.json"));
    assertEquals(4096, c.hiddenSize());
    assertEquals(12288, c.mlpWidth());
    assertEquals(38, c.numLayers());
    assertEquals(12, c.blockTypes().stream().filter(t -> t == BlockType.ATTENTION).count());
    assertEquals(64f, c.embeddingScale());
  }

  @Test
  void tensorNamesMatchThePublishedIndex() throws Exception {
    Set<String> published = new TreeSet<>();
    resource("recurrentgemma-2b/model.safetensors.index.json").get("weight_map").fieldNames()
        .forEachRemaining(published::add);
    // Same layer pattern and names at a tiny width: every name the model asks for, and no other.
    ModelConfig tiny = new ModelConfig(16, 8, 8, 2, 4, 8, 4, 4,
        ModelConfig.fromJson(resource("recurrentgemma-2b/config.json")).blockTypes(),
        30f, 1e-6f, 10000f, 0.5f, true, 2, 1, 0);
    Set<String> ours = new TreeSet<>();
    SyntheticCheckpoint synthetic = new SyntheticCheckpoint(tiny, 1, DType.F32);
    TensorSource recording = new TensorSource() {
      @Override
      public ModelConfig config() {
        return synthetic.config();
      }

      @Override
      public java.util.Optional<StoredTensor> find(String name) {
        ours.add(name);
        return synthetic.find(name);
      }

      @Override
      public String location() {
        return synthetic.location();
      }

      @Override
      public void close() {
        synthetic.close();
      }
    };
    try (RecurrentGemmaModel model = RecurrentGemmaModel.fromSource(recording)) {
      assertEquals(26, model.config().numLayers());
    }
    ours.remove(TensorNames.LM_HEAD); // looked up, absent in the published files (tied)
    assertEquals(published, ours);
    assertEquals(List.of(), List.copyOf(new TreeSet<>(published) {{ removeAll(ours); }}));
  }
}
