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

  /** {@code gate = gelu(gate + b_gate) * (up + b_up)} on columns [from, to) of the row at base. */
  private void activate(float[] gate, float[] up, int base, int from, int to) {
    for (int j = from; j < to; j++) {
      gate[base + j] += gateBias[j];
      up[base + j] += upBias[j];
    }
    Kernels.geluTanh(gate, base + from, base + to); // nested: runs on this task's thread
    for (int j = base + from; j < base + to; j++) {
      gate[j] *= up[j];
    }
  }

  void forward(float[] m, int tokens, float[] out) {
    int mlp = config.mlpWidth();
    float[] gate = new float[tokens * mlp]; // [tokens, mlpWidth]
    float[] up = new float[tokens * mlp]; // [tokens, mlpWidth]
    long time = Profile.now();
    Kernels.matmul(gateProj, m, 0, tokens, gate, 0);
    Kernels.matmul(upProj, m, 0, tokens, up, 0);
    time = Profile.add(Profile.Part.MLP_GATE_UP, time);
    // Biases, GELU and the product in one pass on the pool, while a row is in cache: rows split
    // over the threads, or one row's columns when decoding (element-wise, so any split agrees).
    if (tokens == 1) {
      Kernels.parallelRanges(mlp, 1024, (from, to) -> activate(gate, up, 0, from, to));
    } else {
      Kernels.parallelRanges(tokens, Math.max(1, 16384 / mlp), (first, end) -> {
        for (int t = first; t < end; t++) {
          activate(gate, up, t * mlp, 0, mlp);
        }
      });
    }
    time = Profile.add(Profile.Part.MLP_ACTIVATION, time);
    Kernels.matmul(downProj, gate, 0, tokens, out, 0);
    Ops.addBias(out, downBias, tokens);
    Profile.add(Profile.Part.MLP_DOWN, time);
  }
}
