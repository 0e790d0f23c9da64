package dev.rgemma.model;

import dev.rgemma.tensor.Floats;
import java.util.List;

/**
 * An independent float64 implementation of ARCHITECTURE.md: one full-sequence pass with explicit
 * masks, no state, no ring buffer. Slow and simple; it checks the engine on model shapes for which
 * no reference outputs exist.
 */
final class NaiveReference {
  private final TensorSource source;
  private final ModelConfig c;

  NaiveReference(TensorSource source) {
    this.source = source;
    this.c = source.config();
  }

  private double[] load(String name) {
    TensorSource.StoredTensor t = source.find(name).orElseThrow();
    long n = 1;
    for (long s : t.shape()) {
      n *= s;
    }
    float[] f = source.floats(name, t.shape());
    double[] out = new double[(int) n];
    for (int i = 0; i < out.length; i++) {
      out[i] = f[i];
    }
    return out;
  }

  /** x [T, in] times W^T for W [out, in], plus optional bias. */
  private static double[][] linear(double[][] x, double[] w, double[] bias, int out) {
    int in = x[0].length;
    double[][] y = new double[x.length][out];
    for (int t = 0; t < x.length; t++) {
      for (int o = 0; o < out; o++) {
        double s = bias == null ? 0 : bias[o];
        for (int i = 0; i < in; i++) {
          s += w[o * in + i] * x[t][i];
        }
        y[t][o] = s;
      }
    }
    return y;
  }

  private double[][] rmsNorm(double[][] x, double[] w) {
    double[][] y = new double[x.length][];
    for (int t = 0; t < x.length; t++) {
      double ms = 0;
      for (double v : x[t]) {
        ms += v * v;
      }
      double inv = 1 / Math.sqrt(ms / x[t].length + c.rmsNormEps());
      y[t] = new double[x[t].length];
      for (int j = 0; j < x[t].length; j++) {
        y[t][j] = x[t][j] * inv * (1 + w[j]);
      }
    }
    return y;
  }

  private static double gelu(double x) {
    return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
  }

  /** Logits [T, vocab] for tokens at positions 0..T-1. */
  double[][] forward(int[] tokens) {
    int T = tokens.length;
    int d = c.hiddenSize();
    double[] embed = load(TensorNames.EMBED_TOKENS);
    double scale = c.embeddingsScaleBySqrtDim() ? Floats.roundToBf16((float) Math.sqrt(d)) : 1;
    double[][] x = new double[T][d];
    for (int t = 0; t < T; t++) {
      for (int j = 0; j < d; j++) {
        x[t][j] = embed[tokens[t] * d + j] * scale;
      }
    }
    List<BlockType> types = c.blockTypes();
    for (int layer = 0; layer < types.size(); layer++) {
      double[][] n = rmsNorm(x, load(TensorNames.temporalPreNorm(layer)));
      double[][] y = types.get(layer) == BlockType.RECURRENT ? recurrent(layer, n) : attention(layer, n);
      for (int t = 0; t < T; t++) {
        for (int j = 0; j < d; j++) {
          x[t][j] += y[t][j];
        }
      }
      double[][] m = rmsNorm(x, load(TensorNames.channelPreNorm(layer)));
      int D = c.mlpWidth();
      double[][] g = linear(m, load(TensorNames.gateProj(layer, "weight")), load(TensorNames.gateProj(layer, "bias")), D);
      double[][] u = linear(m, load(TensorNames.upProj(layer, "weight")), load(TensorNames.upProj(layer, "bias")), D);
      for (int t = 0; t < T; t++) {
        for (int j = 0; j < D; j++) {
          g[t][j] = gelu(g[t][j]) * u[t][j];
        }
      }
      double[][] out = linear(g, load(TensorNames.downProj(layer, "weight")), load(TensorNames.downProj(layer, "bias")), d);
      for (int t = 0; t < T; t++) {
        for (int j = 0; j < d; j++) {
          x[t][j] += out[t][j];
        }
      }
    }
    double[][] f = rmsNorm(x, load(TensorNames.FINAL_NORM));
    double[][] logits = linear(f, embed, null, c.vocabSize());
    double cap = c.logitsSoftCap();
    if (cap > 0) {
      for (double[] row : logits) {
        for (int i = 0; i < row.length; i++) {
          row[i] = cap * Math.tanh(row[i] / cap);
        }
      }
    }
    return logits;
  }

  private double[][] recurrent(int layer, double[][] n) {
    int T = n.length;
    int e = c.lruWidth();
    int H = c.numHeads();
    int bw = e / H;
    int width = c.conv1dWidth();
    double[][] yb = linear(n, load(TensorNames.linearY(layer, "weight")), load(TensorNames.linearY(layer, "bias")), e);
    double[][] xb = linear(n, load(TensorNames.linearX(layer, "weight")), load(TensorNames.linearX(layer, "bias")), e);
    double[] convW = load(TensorNames.conv1d(layer, "weight")); // HF [e, 1, width]
    double[] convB = load(TensorNames.conv1d(layer, "bias"));
    double[][] conv = new double[T][e];
    for (int t = 0; t < T; t++) {
      for (int j = 0; j < e; j++) {
        double s = convB[j];
        for (int back = 0; back < width; back++) { // w[width-1-back] multiplies x[t-back]
          if (t - back >= 0) {
            s += convW[j * width + (width - 1 - back)] * xb[t - back][j];
          }
        }
        conv[t][j] = s;
      }
    }
    double[] aParam = load(TensorNames.rgLruRecurrentParam(layer));
    double[] wi = load(TensorNames.rgLruInputGate(layer, "weight"));
    double[] bi = load(TensorNames.rgLruInputGate(layer, "bias"));
    double[] wa = load(TensorNames.rgLruRecurrentGate(layer, "weight"));
    double[] ba = load(TensorNames.rgLruRecurrentGate(layer, "bias"));
    double[] h = new double[e];
    double[][] gated = new double[T][e];
    for (int t = 0; t < T; t++) {
      for (int head = 0; head < H; head++) {
        for (int j = 0; j < bw; j++) {
          double gi = bi[head * bw + j];
          double ga = ba[head * bw + j];
          for (int i = 0; i < bw; i++) {
            gi += conv[t][head * bw + i] * wi[(head * bw + i) * bw + j];
            ga += conv[t][head * bw + i] * wa[(head * bw + i) * bw + j];
          }
          int k = head * bw + j;
          double inputGate = 1 / (1 + Math.exp(-gi));
          double recurrenceGate = 1 / (1 + Math.exp(-ga));
          double logA = -8 * recurrenceGate * Math.log1p(Math.exp(aParam[k]));
          double a = t == 0 ? 0 : Math.exp(logA);
          double mult = t == 0 ? 1 : Math.sqrt(1 - Math.exp(2 * logA));
          h[k] = a * h[k] + conv[t][k] * inputGate * mult;
          gated[t][k] = h[k] * gelu(yb[t][k]);
        }
      }
    }
    return linear(gated, load(TensorNames.linearOut(layer, "weight")), load(TensorNames.linearOut(layer, "bias")), c.hiddenSize());
  }

  private double[][] attention(int layer, double[][] n) {
    int T = n.length;
    int H = c.numHeads();
    int hd = c.headDim();
    double[][] q = linear(n, load(TensorNames.qProj(layer)), null, H * hd);
    double[][] k = linear(n, load(TensorNames.kProj(layer)), null, hd);
    double[][] v = linear(n, load(TensorNames.vProj(layer)), null, hd);
    int rd = c.rotaryDim();
    for (int t = 0; t < T; t++) {
      for (int head = 0; head <= H; head++) {
        double[] row = head < H ? q[t] : k[t];
        int off = head < H ? head * hd : 0;
        for (int j = 0; j < rd / 2; j++) {
          double theta = t / Math.pow(c.ropeTheta(), 2.0 * j / rd);
          double a = row[off + j];
          double b = row[off + j + rd / 2];
          row[off + j] = a * Math.cos(theta) - b * Math.sin(theta);
          row[off + j + rd / 2] = b * Math.cos(theta) + a * Math.sin(theta);
        }
      }
    }
    double[][] o = new double[T][H * hd];
    int window = c.attentionWindowSize();
    for (int t = 0; t < T; t++) {
      for (int head = 0; head < H; head++) {
        double[] s = new double[T];
        double max = Double.NEGATIVE_INFINITY;
        for (int u = 0; u < T; u++) {
          boolean visible = u <= t && t - u <= window;
          if (!visible) {
            s[u] = Double.NEGATIVE_INFINITY;
            continue;
          }
          double dot = 0;
          for (int i = 0; i < hd; i++) {
            dot += q[t][head * hd + i] * k[u][i];
          }
          s[u] = dot / Math.sqrt(hd);
          max = Math.max(max, s[u]);
        }
        double z = 0;
        for (int u = 0; u < T; u++) {
          s[u] = Math.exp(s[u] - max);
          z += s[u];
        }
        for (int u = 0; u < T; u++) {
          for (int i = 0; i < hd; i++) {
            o[t][head * hd + i] += s[u] / z * v[u][i];
          }
        }
      }
    }
    return linear(o, load(TensorNames.oProj(layer, "weight")), load(TensorNames.oProj(layer, "bias")), c.hiddenSize());
  }
}
