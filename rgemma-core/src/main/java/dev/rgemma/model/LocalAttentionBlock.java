package dev.rgemma.model;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.tensor.WeightMatrix;

/**
 * Local multi-query attention: every query head attends, with one shared key/value head, to the
 * current token and the previous {@code attentionWindowSize} tokens (window + 1 keys). Keys and
 * values of earlier calls come from the ring buffer in {@link LayerState.AttentionState}.
 */
public record LocalAttentionBlock(
    ModelConfig config,
    WeightMatrix qProj, // [numHeads * headDim, hidden]
    WeightMatrix kProj, // [headDim, hidden]
    WeightMatrix vProj, // [headDim, hidden]
    WeightMatrix oProj, // [hidden, numHeads * headDim]
    float[] oProjBias) // [hidden]
    implements TemporalBlock {

  static LocalAttentionBlock load(TensorSource source, ModelConfig config, int layer) {
    int d = config.hiddenSize();
    int hd = config.headDim();
    int qWidth = config.numHeads() * hd;
    return new LocalAttentionBlock(
        config,
        source.matrix(TensorNames.qProj(layer), qWidth, d),
        source.matrix(TensorNames.kProj(layer), hd, d),
        source.matrix(TensorNames.vProj(layer), hd, d),
        source.matrix(TensorNames.oProj(layer, "weight"), d, qWidth),
        source.floats(TensorNames.oProj(layer, "bias"), d));
  }

  void forward(float[] n, int tokens, java.util.List<Segment> segments, int layer, float[] out) {
    int heads = config.numHeads();
    int hd = config.headDim();
    int window = config.attentionWindowSize();
    float[] q = new float[tokens * heads * hd]; // [tokens, numHeads, headDim]
    float[] k = new float[tokens * hd]; // [tokens, headDim]
    float[] v = new float[tokens * hd]; // [tokens, headDim]
    Kernels.matmul(qProj, n, 0, tokens, q, 0);
    Kernels.matmul(kProj, n, 0, tokens, k, 0);
    Kernels.matmul(vProj, n, 0, tokens, v, 0);
    float[] attended = new float[tokens * heads * hd]; // [tokens, numHeads, headDim]
    for (Segment segment : segments) {
      var state = (LayerState.AttentionState) segment.state().layer(layer);
      attend(q, k, v, segment.firstRow(), segment.rows(), segment.startPosition(), state, attended);
    }
    Kernels.matmul(oProj, attended, 0, tokens, out, 0);
    Ops.addBias(out, oProjBias, tokens);
  }

  /** Attention for rows [firstRow, firstRow + tokens) of one sequence; then stores their k/v. */
  private void attend(float[] q, float[] k, float[] v, int firstRow, int tokens, long startPosition,
      LayerState.AttentionState state, float[] attended) {
    int heads = config.numHeads();
    int hd = config.headDim();
    int window = config.attentionWindowSize();
    Rope rope = new Rope(config.rotaryDim(), config.ropeTheta());
    for (int t = firstRow; t < firstRow + tokens; t++) {
      long position = startPosition + t - firstRow;
      for (int h = 0; h < heads; h++) {
        rope.apply(q, (t * heads + h) * hd, position);
      }
      rope.apply(k, t * hd, position);
    }

    float scale = (float) (1.0 / Math.sqrt(hd));
    float[] cacheKeys = state.keys();
    float[] cacheValues = state.values();
    float[] scores = new float[window + 1];
    for (int t = 0; t < tokens; t++) {
      long position = startPosition + t;
      long first = Math.max(0, position - window); // oldest visible key position
      int keyCount = (int) (position - first + 1);
      for (int h = 0; h < heads; h++) {
        int qOffset = ((firstRow + t) * heads + h) * hd;
        float max = Float.NEGATIVE_INFINITY;
        for (int u = 0; u < keyCount; u++) {
          long keyPosition = first + u;
          float[] keys = keyPosition < startPosition ? cacheKeys : k;
          int kOffset = keyPosition < startPosition
              ? (int) (keyPosition % window) * hd
              : (int) (keyPosition - startPosition + firstRow) * hd;
          float dot = 0f;
          for (int i = 0; i < hd; i++) {
            dot += q[qOffset + i] * keys[kOffset + i];
          }
          float s = dot * scale;
          scores[u] = s;
          max = Math.max(max, s);
        }
        float sum = 0f;
        for (int u = 0; u < keyCount; u++) {
          float p = (float) Math.exp(scores[u] - max);
          scores[u] = p;
          sum += p;
        }
        int oOffset = qOffset;
        for (int u = 0; u < keyCount; u++) {
          long keyPosition = first + u;
          float[] values = keyPosition < startPosition ? cacheValues : v;
          int vOffset = keyPosition < startPosition
              ? (int) (keyPosition % window) * hd
              : (int) (keyPosition - startPosition + firstRow) * hd;
          float p = scores[u] / sum;
          for (int i = 0; i < hd; i++) {
            attended[oOffset + i] += p * values[vOffset + i];
          }
        }
      }
    }

    // The ring buffer keeps the last `window` keys: only those of this chunk that are still visible.
    for (int t = Math.max(0, tokens - window); t < tokens; t++) {
      int slot = (int) ((startPosition + t) % window);
      System.arraycopy(k, (firstRow + t) * hd, cacheKeys, slot * hd, hd);
      System.arraycopy(v, (firstRow + t) * hd, cacheValues, slot * hd, hd);
    }
  }

  /** Half-split rotary embedding on the first {@code rotaryDim} dims of a head. */
  record Rope(int rotaryDim, float base) {
    void apply(float[] x, int offset, long position) {
      int half = rotaryDim / 2;
      for (int j = 0; j < half; j++) {
        // float32 as the reference: timescale = base^(2j/rd), theta = pos / timescale.
        float exponent = (float) (2 * j) / rotaryDim;
        float timescale = (float) Math.pow(base, exponent);
        float theta = (float) position / timescale;
        float sin = (float) Math.sin(theta);
        float cos = (float) Math.cos(theta);
        float first = x[offset + j];
        float second = x[offset + j + half];
        x[offset + j] = first * cos - second * sin;
        x[offset + j + half] = second * cos + first * sin;
      }
    }
  }
}
