package dev.rgemma.sampling;

import java.util.HashMap;
import java.util.Map;

/**
 * Penalties on tokens that occurred among the recent ones. Repetition (CTRL, Keskar et al. 2019):
 * a positive logit is divided by the penalty, a negative one multiplied. Frequency and presence
 * (OpenAI): {@code logit -= count * frequency + (count > 0 ? presence : 0)}.
 */
public final class Penalties {
  private Penalties() {}

  /**
   * Applies the penalties of {@code settings} to {@code logits} in place, over the last {@code
   * settings.penaltyWindow()} tokens of {@code history} (which may hold more: a session keeps the
   * tokens of a wider window it had, or restored, in case the window grows again).
   */
  public static void apply(float[] logits, TokenHistory history, SamplerSettings settings) {
    if (!settings.hasPenalties()) {
      return;
    }
    Map<Integer, Integer> counts = new HashMap<>();
    for (int token : history.last(settings.penaltyWindow())) {
      counts.merge(token, 1, Integer::sum);
    }
    for (var entry : counts.entrySet()) {
      int token = entry.getKey();
      if (token < 0 || token >= logits.length) {
        continue;
      }
      float logit = logits[token];
      logit = logit > 0 ? logit / settings.repeatPenalty() : logit * settings.repeatPenalty();
      logit -= entry.getValue() * settings.frequencyPenalty() + settings.presencePenalty();
      logits[token] = logit;
    }
  }
}
