package dev.rgemma.model;

/** Every checkpoint tensor name (Hugging Face layout), in one place. */
public final class TensorNames {
  private TensorNames() {}

  public static final String EMBED_TOKENS = "model.embed_tokens.weight";
  public static final String FINAL_NORM = "model.final_norm.weight";
  /** Usually absent: the output projection is tied to {@link #EMBED_TOKENS}. */
  public static final String LM_HEAD = "lm_head.weight";

  private static String layer(int i, String suffix) {
    return "model.layers." + i + "." + suffix;
  }

  public static String temporalPreNorm(int i) {
    return layer(i, "temporal_pre_norm.weight");
  }

  public static String channelPreNorm(int i) {
    return layer(i, "channel_pre_norm.weight");
  }

  // Recurrent block.
  public static String linearY(int i, String part) {
    return layer(i, "temporal_block.linear_y." + part);
  }

  public static String linearX(int i, String part) {
    return layer(i, "temporal_block.linear_x." + part);
  }

  public static String linearOut(int i, String part) {
    return layer(i, "temporal_block.linear_out." + part);
  }

  public static String conv1d(int i, String part) {
    return layer(i, "temporal_block.conv_1d." + part);
  }

  public static String rgLruRecurrentParam(int i) {
    return layer(i, "temporal_block.rg_lru.recurrent_param");
  }

  public static String rgLruInputGate(int i, String part) {
    return layer(i, "temporal_block.rg_lru.input_gate_" + part);
  }

  public static String rgLruRecurrentGate(int i, String part) {
    return layer(i, "temporal_block.rg_lru.recurrent_gate_" + part);
  }

  // Local attention block.
  public static String qProj(int i) {
    return layer(i, "temporal_block.q_proj.weight");
  }

  public static String kProj(int i) {
    return layer(i, "temporal_block.k_proj.weight");
  }

  public static String vProj(int i) {
    return layer(i, "temporal_block.v_proj.weight");
  }

  public static String oProj(int i, String part) {
    return layer(i, "temporal_block.o_proj." + part);
  }

  // MLP block.
  public static String gateProj(int i, String part) {
    return layer(i, "mlp_block.gate_proj." + part);
  }

  public static String upProj(int i, String part) {
    return layer(i, "mlp_block.up_proj." + part);
  }

  public static String downProj(int i, String part) {
    return layer(i, "mlp_block.down_proj." + part);
  }
}
