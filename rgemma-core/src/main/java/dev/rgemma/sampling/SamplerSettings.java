package dev.rgemma.sampling;

/**
 * How the next token is chosen from the logits. Immutable; every field is validated.
 *
 * <p>Order of application: penalties (repetition, frequency, presence) on the logits, then either
 * greedy argmax (temperature 0) or temperature, top-k, softmax, top-p, min-p and a seeded draw.
 *
 * @param temperature 0 means greedy (argmax); otherwise logits are divided by it
 * @param topK keep the k most likely tokens; 0 disables
 * @param topP keep the smallest set of most likely tokens whose probability reaches p; 1 disables
 * @param minP drop tokens less likely than minP times the most likely one; 0 disables
 * @param repeatPenalty divide positive (multiply negative) logits of recent tokens; 1 disables
 * @param frequencyPenalty subtract this times the count of each recent token; 0 disables
 * @param presencePenalty subtract this once from each recent token; 0 disables
 * @param penaltyWindow how many of the most recent tokens the penalties look at
 * @param seed seed of the random numbers (a session file keeps the generator's state instead)
 */
public record SamplerSettings(
    float temperature,
    int topK,
    float topP,
    float minP,
    float repeatPenalty,
    float frequencyPenalty,
    float presencePenalty,
    int penaltyWindow,
    long seed) {

  public static final float DEFAULT_TEMPERATURE = 0.8f;
  public static final int DEFAULT_TOP_K = 40;
  public static final float DEFAULT_TOP_P = 0.95f;
  public static final float DEFAULT_MIN_P = 0.05f;
  public static final int DEFAULT_PENALTY_WINDOW = 64;
  /**
   * Largest penalty window: the recent tokens are kept in an array of that many ints per sequence,
   * so an unbounded window would let one option allocate gigabytes.
   */
  public static final int MAX_PENALTY_WINDOW = 1 << 20;

  public SamplerSettings {
    check(Names.FLAGS, temperature, topK, topP, minP, repeatPenalty, frequencyPenalty, presencePenalty,
        penaltyWindow);
  }

  /** What the options are called where they are set, for the messages of {@link #check}. */
  public enum Names {
    /** The command line's flags (also the names the Spark options and this record use). */
    FLAGS("top-k", "top-p", "min-p", "repeat-penalty", "frequency-penalty", "presence-penalty", "repeat-last-n"),
    /** The Java API's builder methods ({@code dev.rgemma.api.GenerateOptions}). */
    BUILDER("topK", "topP", "minP", "repeatPenalty", "frequencyPenalty", "presencePenalty", "penaltyWindow");

    private final String topK;
    private final String topP;
    private final String minP;
    private final String repeatPenalty;
    private final String frequencyPenalty;
    private final String presencePenalty;
    private final String penaltyWindow;

    Names(String topK, String topP, String minP, String repeatPenalty, String frequencyPenalty,
        String presencePenalty, String penaltyWindow) {
      this.topK = topK;
      this.topP = topP;
      this.minP = minP;
      this.repeatPenalty = repeatPenalty;
      this.frequencyPenalty = frequencyPenalty;
      this.presencePenalty = presencePenalty;
      this.penaltyWindow = penaltyWindow;
    }
  }

  /**
   * The ranges of the sampling options, checked on the values as given (this record's floats, or
   * the Java builder's doubles, which are named as given rather than as their float32) and on
   * their float32, which the sampler uses: a double that only its rounding moves out of range (a
   * top-p of 1e-50 becoming 0, a penalty of 1e300 becoming infinite) fails too.
   *
   * @throws IllegalArgumentException naming the first option out of range (as {@code names} calls
   *     it), its value and what is allowed
   */
  public static void check(Names names, Number temperature, int topK, Number topP, Number minP,
      Number repeatPenalty, Number frequencyPenalty, Number presencePenalty, int penaltyWindow) {
    if (!(temperature.doubleValue() >= 0) || !Float.isFinite(temperature.floatValue())) {
      throw invalid("temperature", temperature, "a finite number >= 0 (0 is greedy)");
    }
    if (topK < 0) {
      throw invalid(names.topK, topK, "an integer >= 0 (0 disables it)");
    }
    if (!(topP.doubleValue() > 0 && topP.doubleValue() <= 1) || topP.floatValue() == 0f) {
      throw invalid(names.topP, topP, "a number in (0, 1] (1 disables it)");
    }
    if (!(minP.doubleValue() >= 0 && minP.doubleValue() <= 1)) {
      throw invalid(names.minP, minP, "a number in [0, 1] (0 disables it)");
    }
    if (!(repeatPenalty.doubleValue() > 0) || repeatPenalty.floatValue() == 0f
        || !Float.isFinite(repeatPenalty.floatValue())) {
      throw invalid(names.repeatPenalty, repeatPenalty, "a finite number > 0 (1 disables it)");
    }
    if (!Float.isFinite(frequencyPenalty.floatValue())) {
      throw invalid(names.frequencyPenalty, frequencyPenalty, "a finite number (0 disables it)");
    }
    if (!Float.isFinite(presencePenalty.floatValue())) {
      throw invalid(names.presencePenalty, presencePenalty, "a finite number (0 disables it)");
    }
    if (penaltyWindow < 0 || penaltyWindow > MAX_PENALTY_WINDOW) {
      throw invalid(names.penaltyWindow, penaltyWindow, "an integer in [0, " + MAX_PENALTY_WINDOW + "]");
    }
  }

  /** The defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalties, seed 0. */
  public static SamplerSettings defaults() {
    return new SamplerSettings(DEFAULT_TEMPERATURE, DEFAULT_TOP_K, DEFAULT_TOP_P, DEFAULT_MIN_P,
        1f, 0f, 0f, DEFAULT_PENALTY_WINDOW, 0L);
  }

  /** Argmax, no penalties. */
  public static SamplerSettings greedy() {
    return defaults().withTemperature(0f);
  }

  public SamplerSettings withTemperature(float value) {
    return new SamplerSettings(value, topK, topP, minP, repeatPenalty, frequencyPenalty,
        presencePenalty, penaltyWindow, seed);
  }

  public SamplerSettings withSeed(long value) {
    return new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty,
        presencePenalty, penaltyWindow, value);
  }

  public SamplerSettings withPenaltyWindow(int value) {
    return new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty,
        presencePenalty, value, seed);
  }

  public boolean greedyDecoding() {
    return temperature == 0f;
  }

  public boolean hasPenalties() {
    return penaltyWindow > 0
        && (repeatPenalty != 1f || frequencyPenalty != 0f || presencePenalty != 0f);
  }

  private static IllegalArgumentException invalid(String name, Object value, String expected) {
    return new IllegalArgumentException(name + " is " + value + ", expected " + expected);
  }
}
