package dev.rgemma.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hyperparameters of a model being trained, with the field names of Hugging Face's
 * {@code RecurrentGemmaConfig} in {@code config.json}. {@code mlpWidth} is the width of one MLP
 * branch (HF {@code intermediate_size} / 2); {@code blockTypes} is cycled over the layers.
 */
public record ModelShape(
    int vocabSize,
    int width,
    int mlpWidth,
    int numHeads,
    int headDim,
    int lruWidth,
    int numLayers,
    int attentionWindowSize,
    double logitsSoftCap,
    List<String> blockTypes) {

  public static final String RECURRENT = "recurrent";
  public static final String ATTENTION = "attention";
  public static final int CONV_WIDTH = 4;
  public static final double RMS_NORM_EPS = 1e-6;
  public static final double ROPE_THETA = 10000.0;

  public ModelShape {
    blockTypes = List.copyOf(blockTypes);
    require(vocabSize > 0, "vocab_size", vocabSize, "> 0");
    require(width > 0, "hidden_size", width, "> 0");
    require(mlpWidth > 0, "intermediate_size / 2", mlpWidth, "> 0");
    require(numHeads > 0, "num_attention_heads", numHeads, "> 0");
    require(headDim > 0 && headDim % 4 == 0, "head_dim", headDim, "a positive multiple of 4");
    require(lruWidth > 0 && lruWidth % numHeads == 0, "lru_width", lruWidth,
        "a positive multiple of num_attention_heads (" + numHeads + ")");
    require(numLayers > 0, "num_hidden_layers", numLayers, "> 0");
    require(attentionWindowSize > 0, "attention_window_size", attentionWindowSize, "> 0");
    require(logitsSoftCap >= 0, "logits_soft_cap", logitsSoftCap, ">= 0");
    if (blockTypes.isEmpty()) {
      throw new RgemmaException("config block_types: expected a non-empty list");
    }
    for (String t : blockTypes) {
      if (!t.equals(RECURRENT) && !t.equals(ATTENTION)) {
        throw new RgemmaException(
            "config block_types: expected \"recurrent\" or \"attention\", got \"" + t + "\"");
      }
    }
  }

  /** The usual RecurrentGemma layout: (recurrent, recurrent, attention) cycled, head dim = width / heads. */
  public static ModelShape griffin(
      int vocabSize, int width, int numHeads, int numLayers, int attentionWindowSize) {
    if (width % numHeads != 0) {
      throw new IllegalArgumentException(
          "width " + width + " must be a multiple of the head count " + numHeads);
    }
    return new ModelShape(vocabSize, width, 3 * width, numHeads, width / numHeads, width,
        numLayers, attentionWindowSize, 30.0, List.of(RECURRENT, RECURRENT, ATTENTION));
  }

  private static void require(boolean ok, String field, Object value, String expected) {
    if (!ok) {
      throw new RgemmaException("config " + field + ": expected " + expected + ", got " + value);
    }
  }

  public boolean isAttention(int layer) {
    return blockTypes.get(layer % blockTypes.size()).equals(ATTENTION);
  }

  /** RG-LRU block width: the size of each block-diagonal gate block. */
  public int lruBlockWidth() {
    return lruWidth / numHeads;
  }

  /** {@code bf16_round(float32(sqrt(width)))}, the embedding multiplier (ARCHITECTURE.md section 2). */
  public double embeddingScale() {
    return bf16Round((float) Math.sqrt(width));
  }

  static float bf16Round(float value) {
    int bits = Float.floatToRawIntBits(value);
    int rounded = (bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000;
    return Float.intBitsToFloat(rounded);
  }

  /** The {@code config.json} fields, in the order Hugging Face writes them. */
  public Map<String, Object> toConfigJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("architectures", List.of("RecurrentGemmaForCausalLM"));
    m.put("attention_bias", false);
    m.put("attention_dropout", 0.0);
    m.put("attention_window_size", attentionWindowSize);
    m.put("block_types", blockTypes);
    m.put("bos_token_id", 2);
    m.put("conv1d_width", CONV_WIDTH);
    m.put("embeddings_scale_by_sqrt_dim", true);
    m.put("eos_token_id", 1);
    m.put("final_w_init_variance_scale", 2.0 / numLayers);
    m.put("head_dim", headDim);
    m.put("hidden_activation", "gelu_pytorch_tanh");
    m.put("hidden_size", width);
    m.put("intermediate_size", 2 * mlpWidth);
    m.put("logits_soft_cap", logitsSoftCap);
    m.put("lru_width", lruWidth);
    m.put("model_type", "recurrent_gemma");
    m.put("num_attention_heads", numHeads);
    m.put("num_hidden_layers", numLayers);
    m.put("num_key_value_heads", 1);
    m.put("pad_token_id", 0);
    m.put("partial_rotary_factor", 0.5);
    m.put("rms_norm_eps", RMS_NORM_EPS);
    m.put("rope_theta", ROPE_THETA);
    m.put("torch_dtype", "float32");
    m.put("use_cache", true);
    m.put("vocab_size", vocabSize);
    m.put("w_init_variance_scale", 0.01);
    return m;
  }

  public void write(Path configJson) throws IOException {
    new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT)
        .writeValue(configJson.toFile(), toConfigJson());
  }

  /** Reads a RecurrentGemma {@code config.json}; fields this trainer cannot honour are rejected. */
  public static ModelShape read(Path configJson) throws IOException {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(configJson.toFile());
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new RgemmaException(configJson + ": " + dev.rgemma.io.JsonErrors.describe(e), e);
    }
    int width = intField(root, configJson, "hidden_size");
    int heads = intField(root, configJson, "num_attention_heads");
    int headDim = root.has("head_dim") ? intField(root, configJson, "head_dim") : width / heads;
    int lru = root.has("lru_width") && !root.get("lru_width").isNull()
        ? intField(root, configJson, "lru_width") : width;
    int intermediate = intField(root, configJson, "intermediate_size");
    if (intermediate % 2 != 0) {
      throw new RgemmaException(configJson + ": intermediate_size must be even (2 x MLP width), got "
          + intermediate);
    }
    if (root.has("num_key_value_heads") && root.get("num_key_value_heads").asInt() != 1) {
      throw new RgemmaException(configJson + ": num_key_value_heads must be 1, got "
          + root.get("num_key_value_heads"));
    }
    if (root.has("conv1d_width") && root.get("conv1d_width").asInt() != CONV_WIDTH) {
      throw new RgemmaException(configJson + ": conv1d_width must be 4, got " + root.get("conv1d_width"));
    }
    List<String> types = new ArrayList<>();
    JsonNode bt = root.get("block_types");
    if (bt == null || !bt.isArray()) {
      throw new RgemmaException(configJson + ": block_types: expected a list");
    }
    bt.forEach(n -> types.add(n.asText()));
    double cap = root.has("logits_soft_cap") && !root.get("logits_soft_cap").isNull()
        ? root.get("logits_soft_cap").asDouble() : 0.0;
    try {
      return new ModelShape(intField(root, configJson, "vocab_size"), width, intermediate / 2, heads,
          headDim, lru, intField(root, configJson, "num_hidden_layers"),
          intField(root, configJson, "attention_window_size"), cap, types);
    } catch (RgemmaException e) {
      throw new RgemmaException(configJson + ": " + e.getMessage(), e);
    }
  }

  private static int intField(JsonNode root, Path file, String name) {
    JsonNode n = root.get(name);
    if (n == null || !n.canConvertToInt()) {
      throw new RgemmaException(file + ": field " + name + ": expected an integer, got " + n);
    }
    return n.asInt();
  }

  /** Total number of trainable values. */
  public long parameterCount() {
    long d = width;
    long total = (long) vocabSize * d + d;
    for (int i = 0; i < numLayers; i++) {
      total += 2 * d;
      if (isAttention(i)) {
        long qd = (long) numHeads * headDim;
        total += qd * d + 2L * headDim * d + d * qd + d;
      } else {
        long e = lruWidth;
        long bw = lruBlockWidth();
        total += 2 * (e * d + e) + d * e + d + e * CONV_WIDTH + e + e + 2 * (numHeads * bw * bw + e);
      }
      total += 2 * ((long) mlpWidth * d + mlpWidth) + d * mlpWidth + d;
    }
    return total;
  }
}
