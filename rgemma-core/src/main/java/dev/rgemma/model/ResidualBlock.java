package dev.rgemma.model;

/** One layer: {@code r = temporal(norm(x)) + x; x' = mlp(norm(r)) + r}. */
public record ResidualBlock(
    int index,
    float[] temporalPreNorm, // [hidden]
    TemporalBlock temporal,
    float[] channelPreNorm, // [hidden]
    MlpBlock mlp) {

  static ResidualBlock load(Weights source, ModelConfig config, int layer) {
    int d = config.hiddenSize();
    TemporalBlock temporal = switch (config.blockTypes().get(layer)) {
      case RECURRENT -> RecurrentBlock.load(source, config, layer);
      case ATTENTION -> LocalAttentionBlock.load(source, config, layer);
    };
    return new ResidualBlock(
        layer,
        source.floats(TensorNames.temporalPreNorm(layer), d),
        temporal,
        source.floats(TensorNames.channelPreNorm(layer), d),
        MlpBlock.load(source, config, layer));
  }

  /** Updates {@code x} ([tokens, hidden]) in place. */
  void forward(float[] x, int tokens, java.util.List<Segment> segments, float eps) {
    float[] normed = new float[x.length]; // [tokens, hidden]
    float[] y = new float[x.length]; // [tokens, hidden]
    long time = Profile.now();
    Ops.rmsNorm(x, temporalPreNorm, eps, tokens, normed);
    Profile.add(Profile.Part.NORMS_AND_RESIDUALS, time);
    switch (temporal) {
      case RecurrentBlock recurrent -> recurrent.forward(normed, tokens, segments, index, y);
      case LocalAttentionBlock attention -> attention.forward(normed, tokens, segments, index, y);
    }
    time = Profile.now();
    Ops.addInPlace(x, y); // residual
    Ops.rmsNorm(x, channelPreNorm, eps, tokens, normed);
    Profile.add(Profile.Part.NORMS_AND_RESIDUALS, time);
    mlp.forward(normed, tokens, y);
    time = Profile.now();
    Ops.addInPlace(x, y); // residual
    Profile.add(Profile.Part.NORMS_AND_RESIDUALS, time);
  }
}
