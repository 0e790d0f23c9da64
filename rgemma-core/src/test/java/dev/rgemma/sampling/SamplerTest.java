package dev.rgemma.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SamplerTest {
  private static final float EPS = 1e-6f;

  private static SamplerSettings settings(float temperature, int topK, float topP, float minP) {
    return new SamplerSettings(temperature, topK, topP, minP, 1f, 0f, 0f, 64, 1234L);
  }

  @Test
  void greedyPicksTheArgmaxAndTheLowestIdOnATie() {
    Sampler sampler = new Sampler(SamplerSettings.greedy());
    TokenHistory history = new TokenHistory(8);
    assertEquals(2, sampler.sample(new float[] {0.5f, -1f, 3f, 2.9f}, history));
    assertEquals(1, sampler.sample(new float[] {0.5f, 3f, 3f, 2.9f}, history));
  }

  @Test
  void pipelineAppliesTopKThenTemperatureThenTopPThenMinP() {
    // probabilities at T=1 proportional to 8, 4, 2, 1, 1 (ids 4, 0, 1, 2, 3)
    float[] logits = {
        (float) Math.log(4), (float) Math.log(2), 0f, 0f, (float) Math.log(8)};
    TokenHistory history = new TokenHistory(0);
    Candidates topK = new Sampler(settings(1f, 3, 1f, 0f)).distribution(logits, history);
    assertArrayEquals(new int[] {4, 0, 1}, topK.ids());
    assertArrayEquals(new float[] {8f / 14, 4f / 14, 2f / 14}, topK.values(), EPS);

    // T = 0.5 squares the odds: 64, 16, 4, 1, 1 (sum 86); top-p 0.9 keeps 64 + 16 = 80/86 = 0.93
    Candidates cold = new Sampler(settings(0.5f, 0, 0.9f, 0f)).distribution(logits, history);
    assertArrayEquals(new int[] {4, 0}, cold.ids());
    assertArrayEquals(new float[] {0.8f, 0.2f}, cold.values(), EPS);

    // min-p 0.2 at T=1: keeps p >= 0.2 * 8/16, i.e. weights 8, 4, 2
    Candidates minP = new Sampler(settings(1f, 0, 1f, 0.2f)).distribution(logits, history);
    assertArrayEquals(new int[] {4, 0, 1}, minP.ids());
  }

  @Test
  void seededSamplingIsReproducibleAndSeedsDiffer() {
    float[] logits = new float[50];
    for (int i = 0; i < 50; i++) {
      logits[i] = (float) Math.sin(i) * 2;
    }
    int[] first = drawMany(settings(1.5f, 0, 1f, 0f).withSeed(99), logits);
    int[] again = drawMany(settings(1.5f, 0, 1f, 0f).withSeed(99), logits);
    int[] other = drawMany(settings(1.5f, 0, 1f, 0f).withSeed(100), logits);
    assertArrayEquals(first, again);
    assertNotEquals(java.util.Arrays.toString(first), java.util.Arrays.toString(other));
  }

  @Test
  void restoringTheRngStateContinuesTheSameDraws() {
    float[] logits = {0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
    TokenHistory history = new TokenHistory(0);
    Sampler uninterrupted = new Sampler(settings(1f, 0, 1f, 0f));
    int[] expected = new int[40];
    for (int i = 0; i < 40; i++) {
      expected[i] = uninterrupted.sample(logits, history);
    }
    Sampler first = new Sampler(settings(1f, 0, 1f, 0f));
    int[] got = new int[40];
    for (int i = 0; i < 17; i++) {
      got[i] = first.sample(logits, history);
    }
    Sampler resumed = new Sampler(settings(1f, 0, 1f, 0f).withSeed(555));
    resumed.setRngState(first.rngState());
    for (int i = 17; i < 40; i++) {
      got[i] = resumed.sample(logits, history);
    }
    assertArrayEquals(expected, got);
  }

  @Test
  void sampledFrequenciesMatchTheFilteredDistribution() {
    float[] logits = {(float) Math.log(4), (float) Math.log(2), 0f, 0f, (float) Math.log(8)};
    Sampler sampler = new Sampler(settings(1f, 3, 1f, 0f));
    TokenHistory history = new TokenHistory(0);
    int draws = 100_000;
    int[] counts = new int[5];
    for (int i = 0; i < draws; i++) {
      counts[sampler.sample(logits, history)]++;
    }
    assertEquals(0, counts[2] + counts[3], "top-k 3 drops ids 2 and 3");
    double[] expected = {4 / 14.0, 2 / 14.0, 0, 0, 8 / 14.0};
    for (int id : new int[] {0, 1, 4}) {
      double sigma = Math.sqrt(expected[id] * (1 - expected[id]) / draws);
      assertEquals(expected[id], counts[id] / (double) draws, 5 * sigma, "frequency of " + id);
    }
  }

  private static int[] drawMany(SamplerSettings s, float[] logits) {
    Sampler sampler = new Sampler(s);
    TokenHistory history = new TokenHistory(0);
    int[] out = new int[200];
    for (int i = 0; i < out.length; i++) {
      out[i] = sampler.sample(logits, history);
    }
    return out;
  }

  @Test
  void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
    SamplerSettings s = new SamplerSettings(0f, 0, 1f, 0f, 2f, 0f, 0f, 4, 0);
    float[] logits = {4f, -1f, 3f, 1f};
    TokenHistory history = new TokenHistory(4);
    history.addAll(new int[] {0, 1, 0});
    Penalties.apply(logits, history, s);
    assertArrayEquals(new float[] {2f, -2f, 3f, 1f}, logits, EPS);
    // 0 was repeated: 4 -> 2 loses to 3, so greedy now picks id 2
    assertEquals(2, new Sampler(s).sample(new float[] {4f, -1f, 3f, 1f}, history));
  }

  @Test
  void frequencyAndPresencePenaltiesSubtractPerCountAndOnce() {
    SamplerSettings s = new SamplerSettings(0f, 0, 1f, 0f, 1f, 0.5f, 0.25f, 8, 0);
    float[] logits = {1f, 1f, 1f};
    TokenHistory history = new TokenHistory(8);
    history.addAll(new int[] {0, 0, 0, 2});
    Penalties.apply(logits, history, s);
    assertArrayEquals(new float[] {1f - 1.5f - 0.25f, 1f, 1f - 0.5f - 0.25f}, logits, EPS);
  }

  @Test
  void penaltiesOnlySeeTheWindow() {
    SamplerSettings s = new SamplerSettings(0f, 0, 1f, 0f, 1f, 1f, 0f, 2, 0);
    TokenHistory history = new TokenHistory(2);
    history.addAll(new int[] {0, 1, 2});
    assertArrayEquals(new int[] {1, 2}, history.toArray());
    float[] logits = {1f, 1f, 1f};
    Penalties.apply(logits, history, s);
    assertArrayEquals(new float[] {1f, 0f, 0f}, logits, EPS);
  }

  @Test
  void samplingDoesNotModifyTheLogits() {
    SamplerSettings s = new SamplerSettings(1f, 2, 0.9f, 0.1f, 1.3f, 0.2f, 0.1f, 8, 5);
    float[] logits = {1f, 2f, 3f};
    TokenHistory history = new TokenHistory(8);
    history.addAll(new int[] {2, 2});
    new Sampler(s).sample(logits, history);
    assertArrayEquals(new float[] {1f, 2f, 3f}, logits);
  }

  @Test
  void settingsRejectOutOfRangeValuesWithTheirName() {
    var e = assertThrows(IllegalArgumentException.class, () -> settings(-1f, 0, 1f, 0f));
    assertTrue(e.getMessage().contains("temperature"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> settings(1f, 0, 0f, 0f));
    assertTrue(e.getMessage().contains("top-p"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> settings(1f, 0, 1f, 1.5f));
    assertTrue(e.getMessage().contains("min-p"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> settings(1f, -3, 1f, 0f));
    assertTrue(e.getMessage().contains("top-k"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new SamplerSettings(1f, 0, 1f, 0f, 0f, 0f, 0f, 64, 0));
    assertTrue(e.getMessage().contains("repeat-penalty"), e.getMessage());
  }

  @Test
  void argmaxOfARangeIsRelativeToItsStartAndTakesTheFirstOfEquals() {
    assertEquals(1, Sampler.argmax(new float[] {9, 1, 3, 3, 2}, 1, 5));
    assertEquals(0, Sampler.argmax(new float[] {4, 4}, 0, 2));
    assertEquals(2, Sampler.argmax(new float[] {1, 2, 5, 5}));
  }

  /** The penalties see the last {@code penaltyWindow} tokens of a history that holds more. */
  @Test
  void penaltiesLookOnlyAtTheWindowOfALongerHistory() {
    TokenHistory history = new TokenHistory(10);
    history.addAll(new int[] {0, 1, 2, 3, 4, 5});
    SamplerSettings settings = new SamplerSettings(0f, 0, 1f, 0f, 2f, 0f, 0f, 2, 0L);
    float[] logits = {4, 4, 4, 4, 4, 4, 4};
    Penalties.apply(logits, history, settings);
    assertArrayEquals(new float[] {4, 4, 4, 4, 2, 2, 4}, logits);
    assertArrayEquals(new int[] {4, 5}, history.last(2));
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, history.last(99));
    assertArrayEquals(new int[0], history.last(0));
  }
}
