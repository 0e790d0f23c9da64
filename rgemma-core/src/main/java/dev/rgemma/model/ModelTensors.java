package dev.rgemma.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Every tensor a config calls for, with its shape (outermost first) and role. Names come from
 * {@link TensorNames}; the role decides how a tensor is stored when quantizing (only {@link
 * Role#MATRIX} is ever quantized) and how synthetic weights are drawn.
 */
public final class ModelTensors {
  private ModelTensors() {}

  public enum Role {
    /** A linear layer's weight or the embedding: [rows, cols], used in matrix products. */
    MATRIX,
    /** RMSNorm scale. */
    NORM,
    BIAS,
    CONV,
    /** RG-LRU recurrent parameter (a = sigmoid(-softplus)...), kept precise. */
    LRU_PARAM,
    /** RG-LRU block-diagonal gate weights [heads, blockWidth, blockWidth]. */
    LRU_GATE
  }

  /** @param fanIn input width, for synthetic initialisation */
  public record Spec(String name, long[] shape, Role role, int fanIn) {}

  /** The tensors of {@code config}, embedding first, in layer order (no {@code lm_head}). */
  public static List<Spec> of(ModelConfig config) {
    int d = config.hiddenSize();
    int e = config.lruWidth();
    int heads = config.numHeads();
    int bw = config.lruBlockWidth();
    int hd = config.headDim();
    int mlp = config.mlpWidth();
    int width = config.conv1dWidth();
    List<Spec> specs = new ArrayList<>();
    specs.add(new Spec(TensorNames.EMBED_TOKENS, new long[] {config.vocabSize(), d}, Role.MATRIX, d));
    for (int i = 0; i < config.numLayers(); i++) {
      specs.add(new Spec(TensorNames.temporalPreNorm(i), new long[] {d}, Role.NORM, d));
      switch (config.blockTypes().get(i)) {
        case RECURRENT -> {
          specs.add(new Spec(TensorNames.linearY(i, "weight"), new long[] {e, d}, Role.MATRIX, d));
          specs.add(new Spec(TensorNames.linearY(i, "bias"), new long[] {e}, Role.BIAS, d));
          specs.add(new Spec(TensorNames.linearX(i, "weight"), new long[] {e, d}, Role.MATRIX, d));
          specs.add(new Spec(TensorNames.linearX(i, "bias"), new long[] {e}, Role.BIAS, d));
          specs.add(new Spec(TensorNames.linearOut(i, "weight"), new long[] {d, e}, Role.MATRIX, e));
          specs.add(new Spec(TensorNames.linearOut(i, "bias"), new long[] {d}, Role.BIAS, e));
          specs.add(new Spec(TensorNames.conv1d(i, "weight"), new long[] {e, 1, width}, Role.CONV, width));
          specs.add(new Spec(TensorNames.conv1d(i, "bias"), new long[] {e}, Role.BIAS, width));
          specs.add(new Spec(TensorNames.rgLruRecurrentParam(i), new long[] {e}, Role.LRU_PARAM, 1));
          specs.add(new Spec(TensorNames.rgLruInputGate(i, "weight"), new long[] {heads, bw, bw}, Role.LRU_GATE, bw));
          specs.add(new Spec(TensorNames.rgLruInputGate(i, "bias"), new long[] {heads, bw}, Role.BIAS, bw));
          specs.add(new Spec(TensorNames.rgLruRecurrentGate(i, "weight"), new long[] {heads, bw, bw}, Role.LRU_GATE, bw));
          specs.add(new Spec(TensorNames.rgLruRecurrentGate(i, "bias"), new long[] {heads, bw}, Role.BIAS, bw));
        }
        case ATTENTION -> {
          specs.add(new Spec(TensorNames.qProj(i), new long[] {heads * hd, d}, Role.MATRIX, d));
          specs.add(new Spec(TensorNames.kProj(i), new long[] {hd, d}, Role.MATRIX, d));
          specs.add(new Spec(TensorNames.vProj(i), new long[] {hd, d}, Role.MATRIX, d));
          specs.add(new Spec(TensorNames.oProj(i, "weight"), new long[] {d, heads * hd}, Role.MATRIX, heads * hd));
          specs.add(new Spec(TensorNames.oProj(i, "bias"), new long[] {d}, Role.BIAS, heads * hd));
        }
      }
      specs.add(new Spec(TensorNames.channelPreNorm(i), new long[] {d}, Role.NORM, d));
      specs.add(new Spec(TensorNames.gateProj(i, "weight"), new long[] {mlp, d}, Role.MATRIX, d));
      specs.add(new Spec(TensorNames.gateProj(i, "bias"), new long[] {mlp}, Role.BIAS, d));
      specs.add(new Spec(TensorNames.upProj(i, "weight"), new long[] {mlp, d}, Role.MATRIX, d));
      specs.add(new Spec(TensorNames.upProj(i, "bias"), new long[] {mlp}, Role.BIAS, d));
      specs.add(new Spec(TensorNames.downProj(i, "weight"), new long[] {d, mlp}, Role.MATRIX, mlp));
      specs.add(new Spec(TensorNames.downProj(i, "bias"), new long[] {d}, Role.BIAS, mlp));
    }
    specs.add(new Spec(TensorNames.FINAL_NORM, new long[] {d}, Role.NORM, d));
    return specs;
  }
}
