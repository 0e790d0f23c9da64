package dev.rgemma.training;

import dev.rgemma.training.ModelParameters.Attention;
import dev.rgemma.training.ModelParameters.Layer;
import dev.rgemma.training.ModelParameters.Mlp;
import dev.rgemma.training.ModelParameters.Recurrent;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The RecurrentGemma forward pass of ARCHITECTURE.md over a batch of sequences (each at positions
 * 0..T-1), with the cross-entropy loss and the backward pass of every part. Matrix products go
 * through {@link Gemm}; everything else is computed in double. Activations of the last forward
 * pass are kept for the backward pass; buffers are reused between calls of the same shape.
 * Not thread-safe: one model per training loop.
 */
public final class TrainingModel {
  private static final double GELU_K = Math.sqrt(2.0 / Math.PI);
  private static final double GELU_C = 0.044715;
  /** Gate multiplier c in {@code log a = -c * r * softplus(Λ)}. */
  private static final double LRU_C = 8.0;
  /** Bound on d sqrt(x)/dx in the RG-LRU input normalisation (official training code). */
  private static final double SQRT_GRADIENT_BOUND = 1000.0;

  private final ModelParameters params;
  private final ModelShape shape;
  private final Gemm gemm;
  private final WorkerPool pool;
  private final Map<String, double[]> buffers = new HashMap<>();

  // The last forward pass.
  private int batch;
  private int seqLen;
  private int rows;
  private int[] inputs; // [rows]
  private int[] targets; // [rows]
  private double[] logits; // [rows, vocab]: capped logits, then their gradient

  public TrainingModel(ModelParameters params, Gemm gemm) {
    this.params = params;
    this.shape = params.shape();
    this.gemm = gemm;
    this.pool = gemm.pool();
  }

  public ModelParameters parameters() {
    return params;
  }

  /** Soft-capped logits {@code [T, vocab]} of one sequence at positions 0..T-1. */
  public double[] logits(int[] tokens) {
    forward(new int[][] {tokens}, null);
    return Arrays.copyOf(logits, rows * shape.vocabSize());
  }

  /** Mean cross-entropy (nats) of predicting {@code targets[b][t]} after {@code inputs[b][0..t]}. */
  public double loss(int[][] inputs, int[][] targets) {
    forward(inputs, targets);
    return crossEntropy(false);
  }

  /**
   * Mean cross-entropy, and its gradient added to every parameter's {@link Parameter#gradient()}
   * (callers zero the gradients between steps).
   */
  public double lossAndGradient(int[][] inputs, int[][] targets) {
    forward(inputs, targets);
    double loss = crossEntropy(true);
    backward();
    return loss;
  }

  // ---------------------------------------------------------------- forward

  private void forward(int[][] batchInputs, int[][] batchTargets) {
    batch = batchInputs.length;
    seqLen = batchInputs[0].length;
    rows = batch * seqLen;
    inputs = new int[rows];
    targets = batchTargets == null ? null : new int[rows];
    for (int b = 0; b < batch; b++) {
      if (batchInputs[b].length != seqLen) {
        throw new IllegalArgumentException("all sequences of a batch need the same length");
      }
      for (int t = 0; t < seqLen; t++) {
        int token = batchInputs[b][t];
        if (token < 0 || token >= shape.vocabSize()) {
          throw new IllegalArgumentException(
              "token id " + token + " outside the vocabulary [0, " + shape.vocabSize() + ")");
        }
        inputs[b * seqLen + t] = token;
        if (batchTargets != null) {
          int target = batchTargets[b][t];
          if (target < 0 || target >= shape.vocabSize()) {
            throw new IllegalArgumentException("target id " + target + " outside the vocabulary");
          }
          targets[b * seqLen + t] = target;
        }
      }
    }
    int d = shape.width();
    double scale = shape.embeddingScale();
    double[] x = buffer("x0", rows * d); // [rows, d]
    double[] embedding = params.embedding().value;
    for (int r = 0; r < rows; r++) {
      int e = inputs[r] * d;
      for (int j = 0; j < d; j++) {
        x[r * d + j] = embedding[e + j] * scale;
      }
    }
    for (int i = 0; i < shape.numLayers(); i++) {
      Layer layer = params.layers().get(i);
      String p = "L" + i + ".";
      double[] n = buffer(p + "n", rows * d); // [rows, d]
      rmsNorm(x, layer.temporalPreNorm().value, n, buffer(p + "invT", rows), d);
      double[] y = buffer(p + "y", rows * d); // [rows, d]
      switch (layer.temporal()) {
        case Recurrent rec -> recurrentForward(p, rec, n, y);
        case Attention att -> attentionForward(p, att, n, y);
      }
      double[] residual = buffer(p + "residual", rows * d); // [rows, d]
      for (int k = 0; k < rows * d; k++) {
        residual[k] = y[k] + x[k];
      }
      double[] m = buffer(p + "m", rows * d); // [rows, d]
      rmsNorm(residual, layer.channelPreNorm().value, m, buffer(p + "invC", rows), d);
      double[] mlpOut = buffer(p + "mlpOut", rows * d); // [rows, d]
      mlpForward(p, layer.mlp(), m, mlpOut);
      double[] next = buffer("L" + (i + 1) + ".x", rows * d); // [rows, d]
      for (int k = 0; k < rows * d; k++) {
        next[k] = mlpOut[k] + residual[k];
      }
      x = next;
    }
    double[] f = buffer("final.f", rows * d); // [rows, d]
    rmsNorm(x, params.finalNorm().value, f, buffer("final.inv", rows), d);
    int vocab = shape.vocabSize();
    logits = buffer("logits", rows * vocab); // [rows, vocab]
    gemm.nt(rows, vocab, d, f, 0, d, params.embedding().value, 0, d, logits, 0, vocab, false);
    double cap = shape.logitsSoftCap();
    if (cap > 0) {
      double[] l = logits;
      pool.parallelFor(rows * vocab, (from, to) -> {
        for (int k = from; k < to; k++) {
          l[k] = cap * Math.tanh(l[k] / cap);
        }
      });
    }
  }

  /** Layer-input buffer: layer 0 reads the scaled embeddings. */
  private double[] layerInput(int layer) {
    return buffers.get(layer == 0 ? "x0" : "L" + layer + ".x");
  }

  private double crossEntropy(boolean gradient) {
    if (targets == null) {
      throw new IllegalStateException("no targets");
    }
    int vocab = shape.vocabSize();
    double cap = shape.logitsSoftCap();
    double[] rowLoss = new double[rows];
    double[] l = logits;
    pool.parallelFor(rows, (from, to) -> {
      for (int r = from; r < to; r++) {
        int off = r * vocab;
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
          max = Math.max(max, l[off + v]);
        }
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
          sum += Math.exp(l[off + v] - max);
        }
        double logSum = max + Math.log(sum);
        rowLoss[r] = logSum - l[off + targets[r]];
        if (gradient) {
          for (int v = 0; v < vocab; v++) {
            double capped = l[off + v];
            double dCapped = Math.exp(capped - logSum) / rows;
            if (v == targets[r]) {
              dCapped -= 1.0 / rows;
            }
            double slope = cap > 0 ? 1 - (capped / cap) * (capped / cap) : 1;
            l[off + v] = dCapped * slope; // now d loss / d raw logit
          }
        }
      }
    });
    double total = 0;
    for (double v : rowLoss) {
      total += v;
    }
    return total / rows;
  }

  private void rmsNorm(double[] x, double[] w, double[] out, double[] inv, int d) {
    pool.parallelFor(rows, (from, to) -> {
      for (int r = from; r < to; r++) {
        int off = r * d;
        double ss = 0;
        for (int j = 0; j < d; j++) {
          ss += x[off + j] * x[off + j];
        }
        double s = 1.0 / Math.sqrt(ss / d + ModelShape.RMS_NORM_EPS);
        inv[r] = s;
        for (int j = 0; j < d; j++) {
          out[off + j] = x[off + j] * s * (1 + w[j]);
        }
      }
    });
  }

  /** y = x W^T + b for {@code x [rows, in]}, {@code W [out, in]}. */
  private void linear(double[] x, int in, Parameter weight, Parameter bias, double[] out, int outDim) {
    gemm.nt(rows, outDim, in, x, 0, in, weight.value, 0, in, out, 0, outDim, false);
    if (bias != null) {
      double[] bv = bias.value;
      pool.parallelFor(rows, (from, to) -> {
        for (int r = from; r < to; r++) {
          for (int j = 0; j < outDim; j++) {
            out[r * outDim + j] += bv[j];
          }
        }
      });
    }
  }

  private static double gelu(double x) {
    return 0.5 * x * (1 + Math.tanh(GELU_K * (x + GELU_C * x * x * x)));
  }

  private static double geluDerivative(double x) {
    double t = Math.tanh(GELU_K * (x + GELU_C * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * x * x);
  }

  private void mlpForward(String p, Mlp mlp, double[] m, double[] out) {
    int d = shape.width();
    int mw = shape.mlpWidth();
    double[] gate = buffer(p + "mlp.gate", rows * mw); // [rows, mlpWidth]
    double[] up = buffer(p + "mlp.up", rows * mw); // [rows, mlpWidth]
    double[] hidden = buffer(p + "mlp.hidden", rows * mw); // [rows, mlpWidth]
    linear(m, d, mlp.gateWeight(), mlp.gateBias(), gate, mw);
    linear(m, d, mlp.upWeight(), mlp.upBias(), up, mw);
    pool.parallelFor(rows, (from, to) -> {
      for (int k = from * mw; k < to * mw; k++) {
        hidden[k] = gelu(gate[k]) * up[k];
      }
    });
    linear(hidden, mw, mlp.downWeight(), mlp.downBias(), out, d);
  }

  private void recurrentForward(String p, Recurrent rec, double[] n, double[] out) {
    int d = shape.width();
    int e = shape.lruWidth();
    int heads = shape.numHeads();
    int bw = shape.lruBlockWidth();
    double[] yPre = buffer(p + "rec.yPre", rows * e); // [rows, lruWidth]
    double[] xb = buffer(p + "rec.xb", rows * e); // [rows, lruWidth]
    linear(n, d, rec.linearYWeight(), rec.linearYBias(), yPre, e);
    linear(n, d, rec.linearXWeight(), rec.linearXBias(), xb, e);
    double[] conv = buffer(p + "rec.conv", rows * e); // [rows, lruWidth]
    double[] convW = rec.convWeight().value; // [lruWidth, 1, 4]
    double[] convB = rec.convBias().value;
    int width = ModelShape.CONV_WIDTH;
    pool.parallelFor(batch, (b0, b1) -> {
      for (int b = b0; b < b1; b++) {
        for (int t = 0; t < seqLen; t++) {
          int r = b * seqLen + t;
          for (int j = 0; j < e; j++) {
            double s = convB[j];
            for (int back = 0; back < width && back <= t; back++) {
              s += convW[j * width + (width - 1 - back)] * xb[(r - back) * e + j];
            }
            conv[r * e + j] = s;
          }
        }
      }
    });
    double[] inputGate = buffer(p + "rec.inputGate", rows * e); // [rows, lruWidth]
    double[] recurrenceGate = buffer(p + "rec.recurrenceGate", rows * e); // [rows, lruWidth]
    blockDiagonalSigmoid(conv, rec.inputGateWeight(), rec.inputGateBias(), inputGate, heads, bw);
    blockDiagonalSigmoid(conv, rec.recurrentGateWeight(), rec.recurrentGateBias(), recurrenceGate,
        heads, bw);
    double[] a = buffer(p + "rec.a", rows * e); // [rows, lruWidth]
    double[] mult = buffer(p + "rec.mult", rows * e); // [rows, lruWidth]
    double[] h = buffer(p + "rec.h", rows * e); // [rows, lruWidth]
    double[] softplusLambda = softplus(rec.recurrentParam().value);
    pool.parallelFor(batch, (b0, b1) -> {
      for (int b = b0; b < b1; b++) {
        for (int j = 0; j < e; j++) {
          double state = 0;
          for (int t = 0; t < seqLen; t++) {
            int k = (b * seqLen + t) * e + j;
            double at;
            double mt;
            if (t == 0) { // document start: the previous state is dropped
              at = 0;
              mt = 1;
            } else {
              double logA = -LRU_C * recurrenceGate[k] * softplusLambda[j];
              at = Math.exp(logA);
              mt = Math.sqrt(1 - Math.exp(2 * logA));
            }
            a[k] = at;
            mult[k] = mt;
            state = at * state + conv[k] * inputGate[k] * mt;
            h[k] = state;
          }
        }
      }
    });
    double[] hy = buffer(p + "rec.hy", rows * e); // [rows, lruWidth]: h * gelu(yPre)
    pool.parallelFor(rows, (from, to) -> {
      for (int k = from * e; k < to * e; k++) {
        hy[k] = h[k] * gelu(yPre[k]);
      }
    });
    linear(hy, e, rec.linearOutWeight(), rec.linearOutBias(), out, d);
  }

  private void blockDiagonalSigmoid(
      double[] c, Parameter weight, Parameter bias, double[] out, int heads, int bw) {
    int e = heads * bw;
    for (int hd = 0; hd < heads; hd++) {
      gemm.nn(rows, bw, bw, c, hd * bw, e, weight.value, hd * bw * bw, bw, out, hd * bw, e, false);
    }
    double[] bv = bias.value; // [heads, bw] = [lruWidth]
    pool.parallelFor(rows, (from, to) -> {
      for (int r = from; r < to; r++) {
        for (int j = 0; j < e; j++) {
          out[r * e + j] = sigmoid(out[r * e + j] + bv[j]);
        }
      }
    });
  }

  private static double sigmoid(double x) {
    return 1.0 / (1.0 + Math.exp(-x));
  }

  private static double[] softplus(double[] x) {
    double[] out = new double[x.length];
    for (int j = 0; j < x.length; j++) {
      out[j] = x[j] > 20 ? x[j] : Math.log1p(Math.exp(x[j]));
    }
    return out;
  }

  /** cos and sin tables {@code [seqLen, rotaryDim / 2]} for half-split partial RoPE. */
  private double[][] ropeTables() {
    int half = shape.headDim() / 4;
    int rotary = shape.headDim() / 2;
    double[] cos = new double[seqLen * half];
    double[] sin = new double[seqLen * half];
    for (int t = 0; t < seqLen; t++) {
      for (int j = 0; j < half; j++) {
        double theta = t / Math.pow(ModelShape.ROPE_THETA, 2.0 * j / rotary);
        cos[t * half + j] = Math.cos(theta);
        sin[t * half + j] = Math.sin(theta);
      }
    }
    return new double[][] {cos, sin};
  }

  /** Rotates (sign +1) or un-rotates (sign -1) the first half of every head vector in place. */
  private void rope(double[] x, int headsPerRow, double[][] tables, double sign) {
    int hd = shape.headDim();
    int half = hd / 4;
    double[] cos = tables[0];
    double[] sin = tables[1];
    int stride = headsPerRow * hd;
    pool.parallelFor(rows, (from, to) -> {
      for (int r = from; r < to; r++) {
        int t = r % seqLen;
        for (int h = 0; h < headsPerRow; h++) {
          int off = r * stride + h * hd;
          for (int j = 0; j < half; j++) {
            double c = cos[t * half + j];
            double s = sign * sin[t * half + j];
            double x1 = x[off + j];
            double x2 = x[off + j + half];
            x[off + j] = x1 * c - x2 * s;
            x[off + j + half] = x2 * c + x1 * s;
          }
        }
      }
    });
  }

  private void attentionForward(String p, Attention att, double[] n, double[] out) {
    int d = shape.width();
    int heads = shape.numHeads();
    int hd = shape.headDim();
    int qd = heads * hd;
    int window = shape.attentionWindowSize();
    int keys = window + 1;
    double[] q = buffer(p + "att.q", rows * qd); // [rows, heads, headDim], rotated
    double[] k = buffer(p + "att.k", rows * hd); // [rows, headDim], rotated
    double[] v = buffer(p + "att.v", rows * hd); // [rows, headDim]
    linear(n, d, att.qWeight(), null, q, qd);
    linear(n, d, att.kWeight(), null, k, hd);
    linear(n, d, att.vWeight(), null, v, hd);
    double[][] tables = ropeTables();
    rope(q, heads, tables, 1);
    rope(k, 1, tables, 1);
    double[] probs = buffer(p + "att.p", batch * heads * seqLen * keys); // [batch, heads, T, window+1]
    double[] o = buffer(p + "att.o", rows * qd); // [rows, heads, headDim]
    double scale = 1.0 / Math.sqrt(hd);
    pool.parallelFor(batch, (b0, b1) -> {
      double[] scores = new double[keys];
      for (int b = b0; b < b1; b++) {
        for (int h = 0; h < heads; h++) {
          for (int t = 0; t < seqLen; t++) {
            int qOff = (b * seqLen + t) * qd + h * hd;
            int first = Math.max(0, t - window);
            double max = Double.NEGATIVE_INFINITY;
            for (int u = first; u <= t; u++) {
              int kOff = (b * seqLen + u) * hd;
              double s = 0;
              for (int j = 0; j < hd; j++) {
                s += q[qOff + j] * k[kOff + j];
              }
              s *= scale;
              scores[u - first] = s;
              max = Math.max(max, s);
            }
            double sum = 0;
            for (int u = first; u <= t; u++) {
              scores[u - first] = Math.exp(scores[u - first] - max);
              sum += scores[u - first];
            }
            int pOff = ((b * heads + h) * seqLen + t) * keys;
            Arrays.fill(probs, pOff, pOff + keys, 0.0);
            Arrays.fill(o, qOff, qOff + hd, 0.0);
            for (int u = first; u <= t; u++) {
              double pu = scores[u - first] / sum;
              probs[pOff + (u - t + window)] = pu;
              int vOff = (b * seqLen + u) * hd;
              for (int j = 0; j < hd; j++) {
                o[qOff + j] += pu * v[vOff + j];
              }
            }
          }
        }
      }
    });
    linear(o, qd, att.oWeight(), att.oBias(), out, d);
  }

  // ---------------------------------------------------------------- backward

  private void backward() {
    int d = shape.width();
    int vocab = shape.vocabSize();
    double[] dLogits = logits; // [rows, vocab], holds d loss / d raw logits
    double[] f = buffers.get("final.f");
    Parameter embedding = params.embedding();
    double[] df = buffer("grad.f", rows * d); // [rows, d]
    gemm.nn(rows, d, vocab, dLogits, 0, vocab, embedding.value, 0, d, df, 0, d, false);
    gemm.tn(vocab, d, rows, dLogits, 0, vocab, f, 0, d, embedding.grad, 0, d);
    double[] dx = buffer("grad.x", rows * d); // [rows, d]: d loss / d (current layer output)
    Arrays.fill(dx, 0);
    rmsNormBackward(df, layerInput(shape.numLayers()), params.finalNorm(), buffers.get("final.inv"),
        dx, d);
    double[] dResidual = buffer("grad.residual", rows * d); // [rows, d]
    double[] dm = buffer("grad.m", rows * d); // [rows, d]
    double[] dn = buffer("grad.n", rows * d); // [rows, d]
    for (int i = shape.numLayers() - 1; i >= 0; i--) {
      Layer layer = params.layers().get(i);
      String p = "L" + i + ".";
      // x_next = mlp(m) + residual
      mlpBackward(p, layer.mlp(), buffers.get(p + "m"), dx, dm);
      System.arraycopy(dx, 0, dResidual, 0, rows * d);
      rmsNormBackward(dm, buffers.get(p + "residual"), layer.channelPreNorm(),
          buffers.get(p + "invC"), dResidual, d);
      // residual = temporal(n) + x
      double[] n = buffers.get(p + "n");
      switch (layer.temporal()) {
        case Recurrent rec -> recurrentBackward(p, rec, n, dResidual, dn);
        case Attention att -> attentionBackward(p, att, n, dResidual, dn);
      }
      System.arraycopy(dResidual, 0, dx, 0, rows * d);
      rmsNormBackward(dn, layerInput(i), layer.temporalPreNorm(), buffers.get(p + "invT"), dx, d);
    }
    double scale = shape.embeddingScale();
    double[] eg = embedding.grad;
    for (int r = 0; r < rows; r++) {
      int e = inputs[r] * d;
      for (int j = 0; j < d; j++) {
        eg[e + j] += dx[r * d + j] * scale;
      }
    }
  }

  /** Adds d loss / dx to {@code dx} and d loss / dw to the weight gradient. */
  private void rmsNormBackward(double[] dOut, double[] x, Parameter weight, double[] inv,
      double[] dx, int d) {
    double[] w = weight.value;
    double[][] partial = new double[rows][]; // [chunk start] -> its d loss / dw; summed in order
    pool.parallelFor(rows, (from, to) -> {
      double[] dw = new double[d];
      for (int r = from; r < to; r++) {
        int off = r * d;
        double s = inv[r];
        double dot = 0;
        for (int j = 0; j < d; j++) {
          double g = dOut[off + j] * (1 + w[j]);
          dot += g * x[off + j];
          dw[j] += dOut[off + j] * x[off + j] * s;
        }
        double coef = s * s * s * dot / d;
        for (int j = 0; j < d; j++) {
          dx[off + j] += s * dOut[off + j] * (1 + w[j]) - x[off + j] * coef;
        }
      }
      partial[from] = dw;
    });
    for (double[] dw : partial) {
      if (dw != null) {
        for (int j = 0; j < d; j++) {
          weight.grad[j] += dw[j];
        }
      }
    }
  }

  /**
   * Backward of {@code out = x W^T + b}: adds to the weight and bias gradients, and writes (or with
   * {@code accumulate} adds) d loss / dx.
   */
  private void linearBackward(double[] dOut, int outDim, double[] x, int in, Parameter weight,
      Parameter bias, double[] dx, boolean accumulate) {
    gemm.tn(outDim, in, rows, dOut, 0, outDim, x, 0, in, weight.grad, 0, in);
    if (bias != null) {
      addColumnSums(dOut, outDim, bias.grad);
    }
    gemm.nn(rows, in, outDim, dOut, 0, outDim, weight.value, 0, in, dx, 0, in, accumulate);
  }

  private void addColumnSums(double[] m, int cols, double[] target) {
    for (int r = 0; r < rows; r++) {
      int off = r * cols;
      for (int j = 0; j < cols; j++) {
        target[j] += m[off + j];
      }
    }
  }

  private void mlpBackward(String p, Mlp mlp, double[] m, double[] dOut, double[] dm) {
    int d = shape.width();
    int mw = shape.mlpWidth();
    double[] gate = buffers.get(p + "mlp.gate");
    double[] up = buffers.get(p + "mlp.up");
    double[] hidden = buffers.get(p + "mlp.hidden");
    double[] dHidden = buffer("grad.mlp.hidden", rows * mw); // [rows, mlpWidth]
    linearBackward(dOut, d, hidden, mw, mlp.downWeight(), mlp.downBias(), dHidden, false);
    double[] dGate = buffer("grad.mlp.gate", rows * mw); // [rows, mlpWidth]
    double[] dUp = dHidden; // reused in place: d up = d hidden * gelu(gate)
    pool.parallelFor(rows, (from, to) -> {
      for (int k = from * mw; k < to * mw; k++) {
        double dh = dHidden[k];
        dGate[k] = dh * up[k] * geluDerivative(gate[k]);
        dUp[k] = dh * gelu(gate[k]);
      }
    });
    linearBackward(dGate, mw, m, d, mlp.gateWeight(), mlp.gateBias(), dm, false);
    linearBackward(dUp, mw, m, d, mlp.upWeight(), mlp.upBias(), dm, true);
  }

  private void recurrentBackward(String p, Recurrent rec, double[] n, double[] dOut, double[] dn) {
    int d = shape.width();
    int e = shape.lruWidth();
    int heads = shape.numHeads();
    int bw = shape.lruBlockWidth();
    double[] yPre = buffers.get(p + "rec.yPre");
    double[] xb = buffers.get(p + "rec.xb");
    double[] conv = buffers.get(p + "rec.conv");
    double[] inputGate = buffers.get(p + "rec.inputGate");
    double[] recurrenceGate = buffers.get(p + "rec.recurrenceGate");
    double[] a = buffers.get(p + "rec.a");
    double[] mult = buffers.get(p + "rec.mult");
    double[] h = buffers.get(p + "rec.h");
    double[] hy = buffers.get(p + "rec.hy");

    double[] dHy = buffer("grad.rec.hy", rows * e); // [rows, lruWidth]
    linearBackward(dOut, d, hy, e, rec.linearOutWeight(), rec.linearOutBias(), dHy, false);
    double[] dH = buffer("grad.rec.h", rows * e); // [rows, lruWidth]: direct part
    double[] dYPre = buffer("grad.rec.yPre", rows * e); // [rows, lruWidth]
    pool.parallelFor(rows, (from, to) -> {
      for (int k = from * e; k < to * e; k++) {
        dH[k] = dHy[k] * gelu(yPre[k]);
        dYPre[k] = dHy[k] * h[k] * geluDerivative(yPre[k]);
      }
    });

    // Backward scan through time: dh_t += a_{t+1} dh_{t+1}.
    double[] dConv = buffer("grad.rec.conv", rows * e); // [rows, lruWidth]
    double[] dInputPre = buffer("grad.rec.inputPre", rows * e); // [rows, lruWidth]
    double[] dRecurrencePre = buffer("grad.rec.recurrencePre", rows * e); // [rows, lruWidth]
    double[] dSoftplus = new double[batch * e]; // [batch, lruWidth]
    double[] softplusLambda = softplus(rec.recurrentParam().value);
    pool.parallelFor(batch, (b0, b1) -> {
      for (int b = b0; b < b1; b++) {
        for (int j = 0; j < e; j++) {
          double carry = 0; // d loss / d h_t, including the path through h_{t+1}
          for (int t = seqLen - 1; t >= 0; t--) {
            int k = (b * seqLen + t) * e + j;
            carry += dH[k];
            double c = conv[k];
            double ig = inputGate[k];
            double mt = mult[k];
            dConv[k] = carry * ig * mt;
            double dInput = carry * c * mt;
            dInputPre[k] = dInput * ig * (1 - ig);
            double dRecurrence = 0;
            if (t > 0) {
              double at = a[k];
              double dA = carry * h[k - e];
              double dMult = carry * c * ig;
              // mult = sqrt(1 - a^2), with d sqrt(y)/dy bounded as in the reference.
              double dY = dMult * Math.min(0.5 / mt, SQRT_GRADIENT_BOUND);
              dA += dY * (-2 * at);
              double dLogA = dA * at;
              double rg = recurrenceGate[k];
              dRecurrence = dLogA * (-LRU_C * softplusLambda[j]);
              dSoftplus[b * e + j] += dLogA * (-LRU_C * rg);
              dRecurrencePre[k] = dRecurrence * rg * (1 - rg);
              carry *= at;
            } else {
              dRecurrencePre[k] = 0;
              carry = 0;
            }
          }
        }
      }
    });
    double[] lambda = rec.recurrentParam().value;
    double[] dLambda = rec.recurrentParam().grad;
    for (int b = 0; b < batch; b++) {
      for (int j = 0; j < e; j++) {
        dLambda[j] += dSoftplus[b * e + j] * sigmoid(lambda[j]);
      }
    }
    blockDiagonalBackward(conv, dInputPre, rec.inputGateWeight(), rec.inputGateBias(), dConv, heads, bw);
    blockDiagonalBackward(conv, dRecurrencePre, rec.recurrentGateWeight(), rec.recurrentGateBias(),
        dConv, heads, bw);

    // Conv1D backward: c[t] = b + sum_back w[3 - back] xb[t - back].
    double[] dXb = buffer("grad.rec.xb", rows * e); // [rows, lruWidth]
    double[] convW = rec.convWeight().value;
    int width = ModelShape.CONV_WIDTH;
    pool.parallelFor(batch, (b0, b1) -> {
      for (int b = b0; b < b1; b++) {
        for (int t = 0; t < seqLen; t++) {
          int r = b * seqLen + t;
          for (int j = 0; j < e; j++) {
            double s = 0;
            for (int ahead = 0; ahead < width && t + ahead < seqLen; ahead++) {
              s += convW[j * width + (width - 1 - ahead)] * dConv[(r + ahead) * e + j];
            }
            dXb[r * e + j] = s;
          }
        }
      }
    });
    double[] dConvW = rec.convWeight().grad;
    double[] dConvB = rec.convBias().grad;
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < seqLen; t++) {
        int r = b * seqLen + t;
        for (int j = 0; j < e; j++) {
          double g = dConv[r * e + j];
          dConvB[j] += g;
          for (int back = 0; back < width && back <= t; back++) {
            dConvW[j * width + (width - 1 - back)] += g * xb[(r - back) * e + j];
          }
        }
      }
    }
    linearBackward(dYPre, e, n, d, rec.linearYWeight(), rec.linearYBias(), dn, false);
    linearBackward(dXb, e, n, d, rec.linearXWeight(), rec.linearXBias(), dn, true);
  }

  /** Backward of {@code out = BD(c, W, b)} given d loss / d (pre-sigmoid out); adds to dc. */
  private void blockDiagonalBackward(double[] c, double[] dPre, Parameter weight, Parameter bias,
      double[] dc, int heads, int bw) {
    int e = heads * bw;
    for (int hd = 0; hd < heads; hd++) {
      gemm.tn(bw, bw, rows, c, hd * bw, e, dPre, hd * bw, e, weight.grad, hd * bw * bw, bw);
      gemm.nt(rows, bw, bw, dPre, hd * bw, e, weight.value, hd * bw * bw, bw, dc, hd * bw, e, true);
    }
    addColumnSums(dPre, e, bias.grad);
  }

  private void attentionBackward(String p, Attention att, double[] n, double[] dOut, double[] dn) {
    int d = shape.width();
    int heads = shape.numHeads();
    int hd = shape.headDim();
    int qd = heads * hd;
    int window = shape.attentionWindowSize();
    int keys = window + 1;
    double[] q = buffers.get(p + "att.q");
    double[] k = buffers.get(p + "att.k");
    double[] v = buffers.get(p + "att.v");
    double[] probs = buffers.get(p + "att.p");
    double[] o = buffers.get(p + "att.o");
    double[] dO = buffer("grad.att.o", rows * qd); // [rows, heads, headDim]
    linearBackward(dOut, d, o, qd, att.oWeight(), att.oBias(), dO, false);
    double[] dQ = buffer("grad.att.q", rows * qd); // [rows, heads, headDim]
    double[] dK = buffer("grad.att.k", rows * hd); // [rows, headDim]
    double[] dV = buffer("grad.att.v", rows * hd); // [rows, headDim]
    Arrays.fill(dQ, 0);
    Arrays.fill(dK, 0);
    Arrays.fill(dV, 0);
    double scale = 1.0 / Math.sqrt(hd);
    pool.parallelFor(batch, (b0, b1) -> {
      double[] dp = new double[keys];
      for (int b = b0; b < b1; b++) {
        for (int h = 0; h < heads; h++) {
          for (int t = 0; t < seqLen; t++) {
            int qOff = (b * seqLen + t) * qd + h * hd;
            int pOff = ((b * heads + h) * seqLen + t) * keys;
            int first = Math.max(0, t - window);
            double dot = 0;
            for (int u = first; u <= t; u++) {
              int vOff = (b * seqLen + u) * hd;
              double pu = probs[pOff + (u - t + window)];
              double s = 0;
              for (int j = 0; j < hd; j++) {
                s += dO[qOff + j] * v[vOff + j];
                dV[vOff + j] += pu * dO[qOff + j];
              }
              dp[u - first] = s;
              dot += pu * s;
            }
            for (int u = first; u <= t; u++) {
              double pu = probs[pOff + (u - t + window)];
              double dScore = pu * (dp[u - first] - dot) * scale;
              int kOff = (b * seqLen + u) * hd;
              for (int j = 0; j < hd; j++) {
                dQ[qOff + j] += dScore * k[kOff + j];
                dK[kOff + j] += dScore * q[qOff + j];
              }
            }
          }
        }
      }
    });
    double[][] tables = ropeTables();
    rope(dQ, heads, tables, -1);
    rope(dK, 1, tables, -1);
    linearBackward(dQ, qd, n, d, att.qWeight(), null, dn, false);
    linearBackward(dK, hd, n, d, att.kWeight(), null, dn, true);
    linearBackward(dV, hd, n, d, att.vWeight(), null, dn, true);
  }

  private double[] buffer(String key, int size) {
    double[] b = buffers.get(key);
    if (b == null || b.length != size) {
      b = new double[size];
      buffers.put(key, b);
    }
    return b;
  }

  /** Drops the kept activations (e.g. before saving memory-hungry work). */
  public void releaseBuffers() {
    buffers.clear();
  }
}
