package dev.rgemma.model;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;

/** GeGLU MLP: {@code (gelu(m Wg + bg) * (m Wu + bu)) Wd + bd}. */
public record MlpBlock(
    ModelConfig config,
    PackedMatrix gateProj, // [mlpWidth, hidden]
    float[] gateBias, // [mlpWidth]
    PackedMatrix upProj, // [mlpWidth, hidden]
    float[] upBias, // [mlpWidth]
    PackedMatrix downProj, // [hidden, mlpWidth]
    float[] downBias) { // [hidden]

  static MlpBlock load(Weights source, ModelConfig config, int layer) {
    int d = config.hiddenSize();
    int mlp = config.mlpWidth();
    return new MlpBlock(
        config,
        source.matrix(TensorNames.gateProj(layer, "weight"), mlp, d),
        source.floats(TensorNames.gateProj(layer, "bias"), mlp),
        source.matrix(TensorNames.upProj(layer, "weight"), mlp, d),
        source.floats(TensorNames.upProj(layer, "bias"), mlp),
        source.matrix(TensorNames.downProj(layer, "weight"), d, mlp),
        source.floats(TensorNames.downProj(layer, "bias"), d));
  }

  void forward(float[] m, int tokens, float[] out) {
    if (tokens == 1) {
      forwardOne(m, out);
      return;
    }
    int mlp = config.mlpWidth();
    float[] gate = new float[tokens * mlp]; // [tokens, mlpWidth]
    float[] up = new float[tokens * mlp]; // [tokens, mlpWidth]
    long time = Profile.now();
    Kernels.matmul(gateProj, m, 0, tokens, gate, 0);
    Kernels.matmul(upProj, m, 0, tokens, up, 0);
    time = Profile.add(Profile.Part.MLP_GATE_UP, time);
    Kernels.geluProduct(gate, 0, gateBias, up, 0, upBias, tokens, mlp);
    time = Profile.add(Profile.Part.MLP_ACTIVATION, time);
    Kernels.matmul(downProj, gate, 0, tokens, out, 0);
    Ops.addBias(out, downBias, tokens);
    Profile.add(Profile.Part.MLP_DOWN, time);
  }

  /**
   * One token (decoding): gate and up side by side in one array, both products in one split over
   * the threads (one hand-off and one tail instead of two; the same arithmetic per output), the
   * activation split by columns.
   */
  private void forwardOne(float[] m, float[] out) {
    int mlp = config.mlpWidth();
    float[] gateUp = new float[2 * mlp]; // [gate | up]
    long time = Profile.now();
    Kernels.matmulEach(new PackedMatrix[] {gateProj, upProj}, m, new int[] {0, 0}, gateUp, new int[] {0, mlp});
    time = Profile.add(Profile.Part.MLP_GATE_UP, time);
    Kernels.geluProduct(gateUp, 0, gateBias, gateUp, mlp, upBias, 1, mlp);
    time = Profile.add(Profile.Part.MLP_ACTIVATION, time);
    Kernels.matmul(downProj, gateUp, 0, 1, out, 0);
    Ops.addBias(out, downBias, 1);
    Profile.add(Profile.Part.MLP_DOWN, time);
  }
}
