package dev.rgemma.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rgemma.RgemmaException;
import dev.rgemma.io.JsonErrors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * RecurrentGemma hyperparameters, immutable, read from a Hugging Face {@code config.json}
 * (RecurrentGemmaConfig field names). Every field is validated on construction.
 *
 * @param mlpWidth per-branch MLP width D (HF {@code intermediate_size} / 2)
 * @param blockTypes one entry per layer (the config's {@code block_types} cycled to the layer count)
 * @param logitsSoftCap 0 disables the soft-cap
 */
public record ModelConfig(
    int vocabSize,
    int hiddenSize,
    int mlpWidth,
    int numHeads,
    int headDim,
    int lruWidth,
    int attentionWindowSize,
    int conv1dWidth,
    List<BlockType> blockTypes,
    float logitsSoftCap,
    float rmsNormEps,
    float ropeTheta,
    float partialRotaryFactor,
    boolean embeddingsScaleBySqrtDim,
    int bosTokenId,
    int eosTokenId,
    int padTokenId) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public ModelConfig {
    blockTypes = List.copyOf(blockTypes);
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("intermediate_size", mlpWidth);
    positive("num_attention_heads", numHeads);
    positive("head_dim", headDim);
    positive("lru_width", lruWidth);
    positive("attention_window_size", attentionWindowSize);
    positive("conv1d_width", conv1dWidth);
    if (blockTypes.isEmpty()) {
      throw invalid("num_hidden_layers", "0", "at least one layer");
    }
    if (headDim * numHeads != hiddenSize) {
      throw invalid("head_dim", String.valueOf(headDim),
          "hidden_size / num_attention_heads = " + hiddenSize + " / " + numHeads);
    }
    if (lruWidth % numHeads != 0) {
      throw invalid("lru_width", String.valueOf(lruWidth),
          "a multiple of num_attention_heads (" + numHeads + "): the RG-LRU gates are block-diagonal");
    }
    if (!(logitsSoftCap >= 0) || Float.isInfinite(logitsSoftCap)) {
      throw invalid("logits_soft_cap", String.valueOf(logitsSoftCap), "a finite number >= 0");
    }
    if (!(rmsNormEps > 0) || Float.isInfinite(rmsNormEps)) {
      throw invalid("rms_norm_eps", String.valueOf(rmsNormEps), "a finite number > 0");
    }
    if (!(ropeTheta > 0) || Float.isInfinite(ropeTheta)) {
      throw invalid("rope_theta", String.valueOf(ropeTheta), "a finite number > 0");
    }
    if (!(partialRotaryFactor > 0 && partialRotaryFactor <= 1)) {
      throw invalid("partial_rotary_factor", String.valueOf(partialRotaryFactor), "a number in (0, 1]");
    }
    int rotary = (int) (headDim * partialRotaryFactor);
    if (rotary < 2 || rotary % 2 != 0) {
      throw invalid("partial_rotary_factor", String.valueOf(partialRotaryFactor),
          "head_dim * partial_rotary_factor to be an even number >= 2 (got " + rotary + ")");
    }
    for (var entry : List.of(
        new Object[] {"bos_token_id", bosTokenId},
        new Object[] {"eos_token_id", eosTokenId},
        new Object[] {"pad_token_id", padTokenId})) {
      int id = (Integer) entry[1];
      if (id < -1 || id >= vocabSize) {
        throw invalid((String) entry[0], String.valueOf(id), "an id below vocab_size (" + vocabSize + ")");
      }
    }
  }

  public int numLayers() {
    return blockTypes.size();
  }

  /** RG-LRU block width: lruWidth / numHeads. */
  public int lruBlockWidth() {
    return lruWidth / numHeads;
  }

  /** Number of leading head dimensions that RoPE rotates. */
  public int rotaryDim() {
    return (int) (headDim * partialRotaryFactor);
  }

  /** The embedding multiplier: sqrt(hidden_size) rounded to bfloat16, as the reference does. */
  public float embeddingScale() {
    if (!embeddingsScaleBySqrtDim) {
      return 1f;
    }
    return dev.rgemma.tensor.Floats.roundToBf16((float) Math.sqrt(hiddenSize));
  }

  /** Reads and validates {@code config.json}. */
  public static ModelConfig load(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, "config.json not found");
    }
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(file));
    } catch (JsonProcessingException e) {
      throw new RgemmaException(file + ": " + JsonErrors.describe(e));
    }
    try {
      return fromJson(root);
    } catch (RgemmaException e) {
      throw new RgemmaException(file + ": " + e.getMessage(), e);
    }
  }

  /** Builds a config from a parsed config.json object. */
  public static ModelConfig fromJson(JsonNode root) {
    if (root == null || !root.isObject()) {
      throw new RgemmaException("config must be a JSON object");
    }
    String modelType = optionalString(root, "model_type", "recurrent_gemma");
    if (!modelType.equals("recurrent_gemma")) {
      throw invalid("model_type", modelType, "\"recurrent_gemma\"");
    }
    int hidden = requiredInt(root, "hidden_size");
    int heads = requiredInt(root, "num_attention_heads");
    int intermediate = requiredInt(root, "intermediate_size");
    if (intermediate <= 0 || intermediate % 2 != 0) {
      throw invalid("intermediate_size", String.valueOf(intermediate),
          "a positive even number (twice the per-branch MLP width)");
    }
    int kvHeads = optionalInt(root, "num_key_value_heads", 1);
    if (kvHeads != 1) {
      throw invalid("num_key_value_heads", String.valueOf(kvHeads), "1 (RecurrentGemma uses multi-query attention)");
    }
    int layers = requiredInt(root, "num_hidden_layers");
    positive("num_hidden_layers", layers);
    JsonNode types = root.get("block_types");
    if (types == null || !types.isArray() || types.isEmpty()) {
      throw invalid("block_types", String.valueOf(types), "a non-empty array of \"recurrent\" / \"attention\"");
    }
    List<BlockType> pattern = new ArrayList<>();
    for (JsonNode t : types) {
      pattern.add(switch (t.isTextual() ? t.asText() : "") {
        case "recurrent" -> BlockType.RECURRENT;
        case "attention" -> BlockType.ATTENTION;
        default -> throw invalid("block_types", t.toString(), "\"recurrent\" or \"attention\"");
      });
    }
    List<BlockType> blockTypes = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      blockTypes.add(pattern.get(i % pattern.size()));
    }
    int headDim = heads > 0 ? optionalInt(root, "head_dim", hidden / heads) : 0;
    String activation = optionalString(root, "hidden_activation", "gelu_pytorch_tanh");
    if (!activation.equals("gelu_pytorch_tanh") && !activation.equals("gelu_tanh")) {
      throw invalid("hidden_activation", activation, "\"gelu_pytorch_tanh\"");
    }
    if (root.has("attention_bias") && root.get("attention_bias").asBoolean(false)) {
      throw invalid("attention_bias", "true", "false (RecurrentGemma's q/k/v projections have no bias)");
    }
    return new ModelConfig(
        requiredInt(root, "vocab_size"),
        hidden,
        intermediate / 2,
        heads,
        headDim,
        optionalInt(root, "lru_width", hidden),
        requiredInt(root, "attention_window_size"),
        optionalInt(root, "conv1d_width", 4),
        blockTypes,
        optionalFloat(root, "logits_soft_cap", 30f, true),
        optionalFloat(root, "rms_norm_eps", 1e-6f, false),
        optionalFloat(root, "rope_theta", 10000f, false),
        optionalFloat(root, "partial_rotary_factor", 0.5f, false),
        optionalBoolean(root, "embeddings_scale_by_sqrt_dim", true),
        optionalInt(root, "bos_token_id", 2),
        optionalInt(root, "eos_token_id", 1),
        optionalInt(root, "pad_token_id", 0));
  }

  /** The config as a Hugging Face config.json object. */
  public ObjectNode toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.putArray("architectures").add("RecurrentGemmaForCausalLM");
    root.put("model_type", "recurrent_gemma");
    root.put("vocab_size", vocabSize);
    root.put("hidden_size", hiddenSize);
    root.put("intermediate_size", 2 * mlpWidth);
    root.put("num_attention_heads", numHeads);
    root.put("num_key_value_heads", 1);
    root.put("head_dim", headDim);
    root.put("lru_width", lruWidth);
    root.put("num_hidden_layers", numLayers());
    root.put("attention_window_size", attentionWindowSize);
    root.put("conv1d_width", conv1dWidth);
    ArrayNode types = root.putArray("block_types");
    int period = patternPeriod();
    for (int i = 0; i < period; i++) {
      types.add(blockTypes.get(i).configName());
    }
    root.put("logits_soft_cap", logitsSoftCap);
    root.put("rms_norm_eps", rmsNormEps);
    root.put("rope_theta", ropeTheta);
    root.put("partial_rotary_factor", partialRotaryFactor);
    root.put("embeddings_scale_by_sqrt_dim", embeddingsScaleBySqrtDim);
    root.put("hidden_activation", "gelu_pytorch_tanh");
    root.put("attention_bias", false);
    root.put("bos_token_id", bosTokenId);
    root.put("eos_token_id", eosTokenId);
    root.put("pad_token_id", padTokenId);
    return root;
  }

  /** Shortest prefix of blockTypes that, cycled, reproduces it. */
  private int patternPeriod() {
    int n = blockTypes.size();
    for (int p = 1; p < n; p++) {
      boolean ok = true;
      for (int i = p; i < n && ok; i++) {
        ok = blockTypes.get(i) == blockTypes.get(i % p);
      }
      if (ok) {
        return p;
      }
    }
    return n;
  }

  private static RgemmaException invalid(String field, String value, String expected) {
    return new RgemmaException("config field '" + field + "' is " + value + ", expected " + expected);
  }

  private static void positive(String field, int value) {
    if (value <= 0) {
      throw invalid(field, String.valueOf(value), "a positive integer");
    }
  }

  private static int requiredInt(JsonNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      throw new RgemmaException("config field '" + field + "' is missing");
    }
    return intValue(field, node);
  }

  private static int optionalInt(JsonNode root, String field, int fallback) {
    JsonNode node = root.get(field);
    return node == null || node.isNull() ? fallback : intValue(field, node);
  }

  private static int intValue(String field, JsonNode node) {
    if (!node.isIntegralNumber() || !node.canConvertToInt()) {
      throw invalid(field, node.toString(), "an integer");
    }
    return node.asInt();
  }

  private static float optionalFloat(JsonNode root, String field, float fallback, boolean nullMeansZero) {
    JsonNode node = root.get(field);
    if (node == null) {
      return fallback;
    }
    if (node.isNull()) {
      if (nullMeansZero) {
        return 0f;
      }
      return fallback;
    }
    if (!node.isNumber()) {
      throw invalid(field, node.toString(), "a number");
    }
    return (float) node.asDouble();
  }

  private static boolean optionalBoolean(JsonNode root, String field, boolean fallback) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      return fallback;
    }
    if (!node.isBoolean()) {
      throw invalid(field, node.toString(), "true or false");
    }
    return node.asBoolean();
  }

  private static String optionalString(JsonNode root, String field, String fallback) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      return fallback;
    }
    if (!node.isTextual()) {
      throw invalid(field, node.toString(), "a string");
    }
    return node.asText();
  }
}
