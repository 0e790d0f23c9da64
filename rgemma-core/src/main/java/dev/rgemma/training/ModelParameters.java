package dev.rgemma.training;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * All trainable tensors of a RecurrentGemma model, stored in the Hugging Face layout (linear
 * weights {@code [out, in]}, conv {@code [lruWidth, 1, 4]}, gate blocks {@code [heads, in, out]}),
 * so that a checkpoint is written and read without transforms.
 */
public final class ModelParameters {
  /** Temporal-mixing parameters of one layer. */
  public sealed interface Temporal permits Recurrent, Attention {}

  /** Recurrent block: y and x branches, Conv1D, RG-LRU gates and Λ, output projection. */
  public record Recurrent(
      Parameter linearYWeight, Parameter linearYBias,
      Parameter linearXWeight, Parameter linearXBias,
      Parameter linearOutWeight, Parameter linearOutBias,
      Parameter convWeight, Parameter convBias,
      Parameter recurrentParam,
      Parameter inputGateWeight, Parameter inputGateBias,
      Parameter recurrentGateWeight, Parameter recurrentGateBias) implements Temporal {}

  /** Local multi-query attention: q/k/v without bias, output projection with bias. */
  public record Attention(
      Parameter qWeight, Parameter kWeight, Parameter vWeight,
      Parameter oWeight, Parameter oBias) implements Temporal {}

  /** GeGLU MLP: gelu(gate) * up, then down; all with biases. */
  public record Mlp(
      Parameter gateWeight, Parameter gateBias,
      Parameter upWeight, Parameter upBias,
      Parameter downWeight, Parameter downBias) {}

  /** One residual block. */
  public record Layer(Parameter temporalPreNorm, Parameter channelPreNorm, Temporal temporal, Mlp mlp) {}

  private final ModelShape shape;
  private final Parameter embedding;
  private final Parameter finalNorm;
  private final List<Layer> layers;
  private final List<Parameter> all = new ArrayList<>();

  /** Creates zero-valued parameters; call {@link #initialize} or load values before use. */
  public ModelParameters(ModelShape shape) {
    this.shape = shape;
    int d = shape.width();
    embedding = add("model.embed_tokens.weight", true, shape.vocabSize(), d);
    List<Layer> built = new ArrayList<>();
    for (int i = 0; i < shape.numLayers(); i++) {
      String p = "model.layers." + i + ".";
      Parameter tNorm = add(p + "temporal_pre_norm.weight", false, d);
      Parameter cNorm = add(p + "channel_pre_norm.weight", false, d);
      Temporal temporal;
      String t = p + "temporal_block.";
      if (shape.isAttention(i)) {
        int qd = shape.numHeads() * shape.headDim();
        temporal = new Attention(
            add(t + "q_proj.weight", true, qd, d),
            add(t + "k_proj.weight", true, shape.headDim(), d),
            add(t + "v_proj.weight", true, shape.headDim(), d),
            add(t + "o_proj.weight", true, d, qd),
            add(t + "o_proj.bias", false, d));
      } else {
        int e = shape.lruWidth();
        int h = shape.numHeads();
        int bw = shape.lruBlockWidth();
        temporal = new Recurrent(
            add(t + "linear_y.weight", true, e, d), add(t + "linear_y.bias", false, e),
            add(t + "linear_x.weight", true, e, d), add(t + "linear_x.bias", false, e),
            add(t + "linear_out.weight", true, d, e), add(t + "linear_out.bias", false, d),
            add(t + "conv_1d.weight", false, e, 1, ModelShape.CONV_WIDTH),
            add(t + "conv_1d.bias", false, e),
            add(t + "rg_lru.recurrent_param", false, e),
            add(t + "rg_lru.input_gate_weight", true, h, bw, bw),
            add(t + "rg_lru.input_gate_bias", false, h, bw),
            add(t + "rg_lru.recurrent_gate_weight", true, h, bw, bw),
            add(t + "rg_lru.recurrent_gate_bias", false, h, bw));
      }
      String m = p + "mlp_block.";
      int mw = shape.mlpWidth();
      Mlp mlp = new Mlp(
          add(m + "gate_proj.weight", true, mw, d), add(m + "gate_proj.bias", false, mw),
          add(m + "up_proj.weight", true, mw, d), add(m + "up_proj.bias", false, mw),
          add(m + "down_proj.weight", true, d, mw), add(m + "down_proj.bias", false, d));
      built.add(new Layer(tNorm, cNorm, temporal, mlp));
    }
    layers = List.copyOf(built);
    finalNorm = add("model.final_norm.weight", false, d);
  }

  private Parameter add(String name, boolean decay, int... dims) {
    Parameter p = new Parameter(name, decay, dims);
    all.add(p);
    return p;
  }

  public ModelShape shape() {
    return shape;
  }

  public Parameter embedding() {
    return embedding;
  }

  public Parameter finalNorm() {
    return finalNorm;
  }

  public List<Layer> layers() {
    return layers;
  }

  /** Every tensor, in checkpoint order. */
  public List<Parameter> all() {
    return List.copyOf(all);
  }

  public Parameter byName(String name) {
    for (Parameter p : all) {
      if (p.name().equals(name)) {
        return p;
      }
    }
    return null;
  }

  public void zeroGradients() {
    for (Parameter p : all) {
      java.util.Arrays.fill(p.grad, 0.0);
    }
  }

  /**
   * Seeded initialization after the official reference: normal embeddings with variance 1/width,
   * LeCun-normal input projections, output projections scaled by 2/layers, zero norms and biases,
   * Λ from the ring radius in [0.9, 0.999].
   */
  public void initialize(long seed) {
    Random random = new Random(seed);
    int d = shape.width();
    double finalScale = 2.0 / shape.numLayers();
    normal(random, embedding, Math.sqrt(1.0 / d));
    for (Layer layer : layers) {
      switch (layer.temporal()) {
        case Recurrent r -> {
          int e = shape.lruWidth();
          int bw = shape.lruBlockWidth();
          normal(random, r.linearYWeight(), Math.sqrt(1.0 / d));
          normal(random, r.linearXWeight(), Math.sqrt(1.0 / d));
          normal(random, r.linearOutWeight(), Math.sqrt(finalScale / e));
          normal(random, r.convWeight(), Math.sqrt(1.0 / ModelShape.CONV_WIDTH));
          normal(random, r.inputGateWeight(), Math.sqrt(1.0 / bw));
          normal(random, r.recurrentGateWeight(), Math.sqrt(1.0 / bw));
          double minRadius = 0.9;
          double maxRadius = 0.999;
          double[] lambda = r.recurrentParam().value;
          for (int j = 0; j < lambda.length; j++) {
            double radiusSquared = minRadius * minRadius
                + random.nextDouble() * (maxRadius * maxRadius - minRadius * minRadius);
            double minusLogRadius = -0.5 * Math.log(radiusSquared);
            lambda[j] = Math.log(Math.expm1(minusLogRadius)); // softplus^-1
          }
        }
        case Attention a -> {
          normal(random, a.qWeight(), Math.sqrt(1.0 / d));
          normal(random, a.kWeight(), Math.sqrt(1.0 / d));
          normal(random, a.vWeight(), Math.sqrt(1.0 / d));
          normal(random, a.oWeight(), Math.sqrt(finalScale / (shape.numHeads() * shape.headDim())));
        }
      }
      Mlp mlp = layer.mlp();
      normal(random, mlp.gateWeight(), Math.sqrt(1.0 / d));
      normal(random, mlp.upWeight(), Math.sqrt(1.0 / d));
      normal(random, mlp.downWeight(), Math.sqrt(finalScale / shape.mlpWidth()));
    }
  }

  private static void normal(Random random, Parameter p, double std) {
    for (int i = 0; i < p.value.length; i++) {
      p.value[i] = random.nextGaussian() * std;
    }
  }
}
