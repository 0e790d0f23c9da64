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
    int mlp = config.mlpWidth();
    float[] gate = new float[tokens * mlp]; // [tokens, mlpWidth]
    float[] up = new float[tokens * mlp]; // [tokens, mlpWidth]
    long time = Profile.now();
    Kernels.matmul(gateProj, m, 0, tokens, gate, 0);
    Kernels.matmul(upProj, m, 0, tokens, up, 0);
    time = Profile.add(Profile.Part.MLP_GATE_UP, time);
    // Biases, GELU and the product in one pass over rows on the pool, while a row is in cache.
    Kernels.parallelRanges(tokens, Math.max(1, 16384 / mlp), (first, end) -> {
      for (int t = first; t < end; t++) {
        int base = t * mlp;
        for (int j = 0; j < mlp; j++) {
          gate[base + j] += gateBias[j];
          up[base + j] += upBias[j];
        }
        Kernels.geluTanh(gate, base, base + mlp); // nested: runs on this task's thread
        for (int j = base; j < base + mlp; j++) {
          gate[j] *= up[j];
        }
      }
    });
    time = Profile.add(Profile.Part.MLP_ACTIVATION, time);
    Kernels.matmul(downProj, gate, 0, tokens, out, 0);
    Ops.addBias(out, downBias, tokens);
    Profile.add(Profile.Part.MLP_DOWN, time);
  }
}
