package dev.rgemma.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Each filter on hand-made logits: what it keeps, what it drops, the probabilities left. */
class CandidatesTest {
  private static final float EPS = 1e-6f;

  /** ln of the probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 in shuffled order. */
  private static float[] halvingLogits() {
    float[] logits = new float[5];
    logits[3] = (float) Math.log(0.5);
    logits[0] = (float) Math.log(0.25);
    logits[4] = (float) Math.log(0.125);
    logits[1] = (float) Math.log(0.0625);
    logits[2] = (float) Math.log(0.0625);
    return logits;
  }

  @Test
  void sortsMostLikelyFirstWithLowerIdWinningTies() {
    Candidates c = Candidates.of(new float[] {1f, 3f, -2f, 3f, 0f}, 0);
    assertArrayEquals(new int[] {1, 3, 0, 4, 2}, c.ids());
    assertArrayEquals(new float[] {3f, 3f, 1f, 0f, -2f}, c.values());
  }

  @Test
  void topKSelectionMatchesFullSortIncludingNegativesAndInfinities() {
    float[] logits = {-1f, Float.NEGATIVE_INFINITY, 7f, -0.5f, 7f, 2f, -30f, 0f, 2f};
    Candidates top4 = Candidates.of(logits, 4);
    assertArrayEquals(new int[] {2, 4, 5, 8}, top4.ids());
    Candidates all = Candidates.of(logits, 0);
    assertArrayEquals(new int[] {2, 4, 5, 8, 7, 3, 0, 6, 1}, all.ids());
  }

  @Test
  void keepTopKKeepsTheKBest() {
    Candidates c = Candidates.of(new float[] {0.1f, 0.9f, 0.5f, 0.7f}, 0).keepTopK(2);
    assertArrayEquals(new int[] {1, 3}, c.ids());
    assertEquals(4, Candidates.of(new float[] {0.1f, 0.9f, 0.5f, 0.7f}, 0).keepTopK(0).size());
    assertEquals(4, Candidates.of(new float[] {0.1f, 0.9f, 0.5f, 0.7f}, 0).keepTopK(10).size());
  }

  @Test
  void softmaxGivesNormalisedProbabilities() {
    Candidates c = Candidates.of(new float[] {0f, (float) Math.log(3)}, 0).softmax();
    assertArrayEquals(new int[] {1, 0}, c.ids());
    assertArrayEquals(new float[] {0.75f, 0.25f}, c.values(), EPS);
  }

  @Test
  void temperatureSharpensAndFlattens() {
    float[] logits = {0f, (float) Math.log(3)};
    // T = 0.5 squares the odds (3:1 -> 9:1), T = 2 takes their square root (3:1 -> sqrt 3:1).
    Candidates cold = Candidates.of(logits, 0).applyTemperature(0.5f).softmax();
    assertArrayEquals(new float[] {0.9f, 0.1f}, cold.values(), EPS);
    Candidates hot = Candidates.of(logits, 0).applyTemperature(2f).softmax();
    float s = (float) Math.sqrt(3);
    assertArrayEquals(new float[] {s / (s + 1), 1 / (s + 1)}, hot.values(), EPS);
  }

  @Test
  void topPKeepsTheShortestPrefixReachingP() {
    // cumulative 0.5, 0.75, 0.875, 0.9375, 1
    Candidates c = Candidates.of(halvingLogits(), 0).softmax().keepTopP(0.8f);
    assertArrayEquals(new int[] {3, 0, 4}, c.ids());
    assertArrayEquals(new float[] {4f / 7, 2f / 7, 1f / 7}, c.values(), EPS);
    assertEquals(2, Candidates.of(halvingLogits(), 0).softmax().keepTopP(0.75f).size());
    assertEquals(1, Candidates.of(halvingLogits(), 0).softmax().keepTopP(0.1f).size());
    assertEquals(5, Candidates.of(halvingLogits(), 0).softmax().keepTopP(1f).size());
  }

  @Test
  void minPDropsTokensBelowAFractionOfTheBest() {
    // best 0.5: min-p 0.25 keeps p >= 0.125 (three tokens), drops the two 0.0625 ones.
    Candidates c = Candidates.of(halvingLogits(), 0).softmax().keepMinP(0.25f);
    assertArrayEquals(new int[] {3, 0, 4}, c.ids());
    assertArrayEquals(new float[] {4f / 7, 2f / 7, 1f / 7}, c.values(), EPS);
    assertEquals(1, Candidates.of(halvingLogits(), 0).softmax().keepMinP(1f).size());
    assertEquals(5, Candidates.of(halvingLogits(), 0).softmax().keepMinP(0f).size());
  }

  @Test
  void filtersNeedTheRightKindOfValues() {
    assertThrows(IllegalStateException.class, () -> Candidates.of(new float[] {1f}, 0).keepTopP(0.5f));
    assertThrows(IllegalStateException.class, () -> Candidates.of(new float[] {1f}, 0).softmax().applyTemperature(1f));
  }

  @Test
  void drawFollowsTheDistribution() {
    Candidates c = Candidates.of(halvingLogits(), 0).softmax();
    Rng rng = new Rng(42);
    int draws = 200_000;
    int[] counts = new int[5];
    for (int i = 0; i < draws; i++) {
      counts[c.draw(rng)]++;
    }
    double[] expected = {0.25, 0.0625, 0.0625, 0.5, 0.125};
    for (int id = 0; id < 5; id++) {
      double p = expected[id];
      double sigma = Math.sqrt(p * (1 - p) / draws);
      assertEquals(p, counts[id] / (double) draws, 5 * sigma, "frequency of token " + id);
    }
  }

  @Test
  void drawNeverPicksAZeroProbabilityToken() {
    float[] logits = {0f, Float.NEGATIVE_INFINITY, 0f};
    Candidates c = Candidates.of(logits, 0).softmax();
    Rng rng = new Rng(7);
    for (int i = 0; i < 10_000; i++) {
      int id = c.draw(rng);
      org.junit.jupiter.api.Assertions.assertNotEquals(1, id);
    }
  }
}
