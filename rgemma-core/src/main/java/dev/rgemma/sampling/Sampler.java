package dev.rgemma.sampling;

import java.util.Objects;

/**
 * Chooses the next token from a row of logits: penalties, then greedy argmax or temperature,
 * top-k, top-p, min-p and a draw from a seeded {@link Rng}. Reproducible: the same settings, RNG
 * state, history and logits give the same token.
 */
public final class Sampler {
  private final SamplerSettings settings;
  private final Rng rng;

  public Sampler(SamplerSettings settings) {
    this.settings = Objects.requireNonNull(settings);
    this.rng = new Rng(settings.seed());
  }

  public SamplerSettings settings() {
    return settings;
  }

  /** The random generator's state (for session files). */
  public long rngState() {
    return rng.state();
  }

  public void setRngState(long state) {
    rng.setState(state);
  }

  /** Picks the next token; {@code logits} ([vocab]) is not modified. */
  public int sample(float[] logits, TokenHistory history) {
    float[] penalised = penalised(logits, history);
    if (settings.greedyDecoding()) {
      return argmax(penalised);
    }
    return filter(penalised).draw(rng);
  }

  /**
   * The distribution a non-greedy {@link #sample} draws from: the kept tokens, most likely first,
   * with their probabilities. Draws nothing.
   */
  public Candidates distribution(float[] logits, TokenHistory history) {
    if (settings.greedyDecoding()) {
      throw new IllegalStateException("temperature 0 is greedy: there is no distribution");
    }
    return filter(penalised(logits, history));
  }

  private float[] penalised(float[] logits, TokenHistory history) {
    if (!settings.hasPenalties()) {
      return logits;
    }
    float[] copy = logits.clone();
    Penalties.apply(copy, history, settings);
    return copy;
  }

  private Candidates filter(float[] logits) {
    return Candidates.of(logits, settings.topK())
        .applyTemperature(settings.temperature())
        .softmax()
        .keepTopP(settings.topP())
        .keepMinP(settings.minP());
  }

  /** Index of the largest logit; the lowest index wins a tie. */
  public static int argmax(float[] logits) {
    return argmax(logits, 0, logits.length);
  }

  /** {@link #argmax(float[])} of {@code logits[from, to)}, as an index relative to {@code from}. */
  public static int argmax(float[] logits, int from, int to) {
    int best = from;
    for (int i = from + 1; i < to; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    return best - from;
  }
}
