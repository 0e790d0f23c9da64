package dev.rgemma.api;

import dev.rgemma.engine.GenerationOptions;
import dev.rgemma.sampling.SamplerSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * How one generation samples and when it stops. Immutable; build one with {@link #builder()} and
 * reuse it freely across sessions and threads. Every value is checked by {@link Builder#build()},
 * which throws {@link IllegalArgumentException} naming the option, the value and what is allowed.
 *
 * <p>Order of sampling: the penalties on the logits of recent tokens, then either the most likely
 * token (temperature 0) or temperature, top-k, softmax, top-p, min-p and a draw from a seeded
 * random generator. The same seed, prompt, options and session state give the same output.
 *
 * <pre>{@code
 * GenerateOptions options = GenerateOptions.builder()
 *     .maxTokens(200).temperature(0.7).topP(0.9).seed(42).stopSequences("\n\n")
 *     .build();
 * }</pre>
 */
public final class GenerateOptions {
  /** Tokens generated when {@link Builder#maxTokens} is not set. */
  public static final int DEFAULT_MAX_TOKENS = 256;

  private static final GenerateOptions DEFAULTS = builder().build();

  private final int maxTokens;
  private final SamplerSettings sampling;
  private final boolean seeded;
  private final List<String> stopSequences;
  private final boolean ignoreEndOfSequence;
  private final boolean jsonObject;
  private final String jsonSchemaText; // null: none
  private final dev.rgemma.sampling.JsonSchema jsonSchema; // compiled; null: none

  private GenerateOptions(Builder builder) {
    validate(builder);
    this.maxTokens = builder.maxTokens;
    this.sampling = new SamplerSettings((float) builder.temperature, builder.topK, (float) builder.topP,
        (float) builder.minP, (float) builder.repeatPenalty, (float) builder.frequencyPenalty,
        (float) builder.presencePenalty, builder.penaltyWindow, builder.seed == null ? 0L : builder.seed);
    this.seeded = builder.seed != null;
    this.stopSequences = List.copyOf(builder.stopSequences);
    this.ignoreEndOfSequence = builder.ignoreEndOfSequence;
    this.jsonObject = builder.jsonObject;
    this.jsonSchemaText = builder.jsonSchema;
    this.jsonSchema = jsonSchemaText == null ? null : compile(jsonSchemaText);
    engineOptions(); // validates max tokens, stop sequences and JSON mode against ignoring end of sequence
  }

  /** The defaults: 256 tokens, temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalties. */
  public static GenerateOptions defaults() {
    return DEFAULTS;
  }

  /** Always the most likely token (temperature 0), up to {@code maxTokens} tokens. */
  public static GenerateOptions greedy(int maxTokens) {
    return builder().temperature(0).maxTokens(maxTokens).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder that starts from these options. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxTokens = maxTokens;
    b.temperature = sampling.temperature();
    b.topK = sampling.topK();
    b.topP = sampling.topP();
    b.minP = sampling.minP();
    b.repeatPenalty = sampling.repeatPenalty();
    b.frequencyPenalty = sampling.frequencyPenalty();
    b.presencePenalty = sampling.presencePenalty();
    b.penaltyWindow = sampling.penaltyWindow();
    b.seed = seeded ? sampling.seed() : null;
    b.stopSequences = new ArrayList<>(stopSequences);
    b.ignoreEndOfSequence = ignoreEndOfSequence;
    b.jsonObject = jsonObject;
    b.jsonSchema = jsonSchemaText;
    return b;
  }

  public int maxTokens() {
    return maxTokens;
  }

  public double temperature() {
    return decimal(sampling.temperature());
  }

  public int topK() {
    return sampling.topK();
  }

  public double topP() {
    return decimal(sampling.topP());
  }

  public double minP() {
    return decimal(sampling.minP());
  }

  public double repeatPenalty() {
    return decimal(sampling.repeatPenalty());
  }

  public double frequencyPenalty() {
    return decimal(sampling.frequencyPenalty());
  }

  public double presencePenalty() {
    return decimal(sampling.presencePenalty());
  }

  public int penaltyWindow() {
    return sampling.penaltyWindow();
  }

  /** The seed, if one was set; without one a session's random generator simply continues. */
  public OptionalLong seed() {
    return seeded ? OptionalLong.of(sampling.seed()) : OptionalLong.empty();
  }

  public List<String> stopSequences() {
    return stopSequences;
  }

  public boolean ignoreEndOfSequence() {
    return ignoreEndOfSequence;
  }

  /** Whether the answer is constrained to one JSON object (JSON mode; also true with a schema). */
  public boolean jsonObject() {
    return jsonObject || jsonSchema != null;
  }

  /** The JSON Schema the answer follows, as given, if one was set. */
  public java.util.Optional<String> jsonSchema() {
    return java.util.Optional.ofNullable(jsonSchemaText);
  }

  /**
   * Checks every option under the builder's own names, the values as given ({@link
   * SamplerSettings#check}: the sampler keeps them in float32, and a double that only its float
   * rounds into range, a top-p of 1.00000001, would otherwise pass silently, or one rounded out of
   * range be reported as a value nobody passed).
   */
  private static void validate(Builder b) {
    if (b.maxTokens < 0) {
      throw invalid("maxTokens", b.maxTokens, "an integer >= 0 (0 only feeds the prompt)");
    }
    SamplerSettings.check(SamplerSettings.Names.BUILDER, b.temperature, b.topK, b.topP, b.minP, b.repeatPenalty,
        b.frequencyPenalty, b.presencePenalty, b.penaltyWindow);
    for (int i = 0; i < b.stopSequences.size(); i++) {
      String stop = b.stopSequences.get(i);
      if (stop == null || stop.isEmpty()) {
        throw invalid("stopSequences[" + i + "]", stop == null ? null : "\"\"", "at least one character");
      }
    }
  }

  private static IllegalArgumentException invalid(String option, Object value, String expected) {
    return new IllegalArgumentException(option + " is " + value + ", expected " + expected);
  }

  private static dev.rgemma.sampling.JsonSchema compile(String schema) {
    try {
      return dev.rgemma.sampling.JsonSchema.parse(schema);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("jsonSchema: " + e.getMessage(), e);
    }
  }

  /** The float the sampler uses, as the decimal it was written as (0.95f reads 0.95, not 0.9499...). */
  private static double decimal(float value) {
    return Double.parseDouble(Float.toString(value));
  }

  SamplerSettings samplerSettings() {
    return sampling;
  }

  boolean seeded() {
    return seeded;
  }

  GenerationOptions engineOptions() {
    return new GenerationOptions(maxTokens, stopSequences, ignoreEndOfSequence,
        jsonSchema != null ? jsonSchema : jsonObject ? dev.rgemma.sampling.JsonSchema.ANY_OBJECT : null);
  }

  @Override
  public String toString() {
    return "GenerateOptions[maxTokens=" + maxTokens + ", " + sampling + ", seeded=" + seeded
        + ", stopSequences=" + stopSequences + ", ignoreEndOfSequence=" + ignoreEndOfSequence
        + ", jsonObject=" + jsonObject + (jsonSchemaText == null ? "" : ", jsonSchema=" + jsonSchemaText) + "]";
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof GenerateOptions o && maxTokens == o.maxTokens && sampling.equals(o.sampling)
        && seeded == o.seeded && stopSequences.equals(o.stopSequences)
        && ignoreEndOfSequence == o.ignoreEndOfSequence && jsonObject == o.jsonObject
        && Objects.equals(jsonSchemaText, o.jsonSchemaText);
  }

  @Override
  public int hashCode() {
    return Objects.hash(maxTokens, sampling, seeded, stopSequences, ignoreEndOfSequence, jsonObject, jsonSchemaText);
  }

  /** Collects options; unset ones keep their defaults. Not thread-safe. */
  public static final class Builder {
    private int maxTokens = DEFAULT_MAX_TOKENS;
    private double temperature = decimal(SamplerSettings.DEFAULT_TEMPERATURE);
    private int topK = SamplerSettings.DEFAULT_TOP_K;
    private double topP = decimal(SamplerSettings.DEFAULT_TOP_P);
    private double minP = decimal(SamplerSettings.DEFAULT_MIN_P);
    private double repeatPenalty = 1;
    private double frequencyPenalty = 0;
    private double presencePenalty = 0;
    private int penaltyWindow = SamplerSettings.DEFAULT_PENALTY_WINDOW;
    private Long seed;
    private List<String> stopSequences = new ArrayList<>();
    private boolean ignoreEndOfSequence;
    private boolean jsonObject;
    private String jsonSchema;

    private Builder() {}

    /** Most tokens to generate (256); 0 only feeds the prompt. */
    public Builder maxTokens(int value) {
      maxTokens = value;
      return this;
    }

    /** 0 = greedy, always the most likely token; higher = more random (0.8). */
    public Builder temperature(double value) {
      temperature = value;
      return this;
    }

    /** Sample among the k most likely tokens; 0 = all (40). */
    public Builder topK(int value) {
      topK = value;
      return this;
    }

    /** Nucleus: the fewest most likely tokens whose probability reaches p, in (0, 1]; 1 = off (0.95). */
    public Builder topP(double value) {
      topP = value;
      return this;
    }

    /** Drop tokens less likely than p times the most likely one, in [0, 1]; 0 = off (0.05). */
    public Builder minP(double value) {
      minP = value;
      return this;
    }

    /** Recent tokens' logits are divided by this if positive, multiplied if negative; 1 = off (1). */
    public Builder repeatPenalty(double value) {
      repeatPenalty = value;
      return this;
    }

    /** Subtract this times each recent token's count from its logit; 0 = off (0). */
    public Builder frequencyPenalty(double value) {
      frequencyPenalty = value;
      return this;
    }

    /** Subtract this once from every recent token's logit; 0 = off (0). */
    public Builder presencePenalty(double value) {
      presencePenalty = value;
      return this;
    }

    /** How many recent tokens, prompt included, the penalties look at (64). */
    public Builder penaltyWindow(int value) {
      penaltyWindow = value;
      return this;
    }

    /**
     * Restarts the random generator from this seed for the generation, so that it is
     * reproducible. Without a seed, a session's generator continues where its previous
     * generation (or the session file it was restored from) left it; a new session starts at 0.
     */
    public Builder seed(long value) {
      seed = value;
      return this;
    }

    /** Forget the seed: the session's random generator continues. */
    public Builder noSeed() {
      seed = null;
      return this;
    }

    /** Stop when the text contains one of these; matched across token boundaries, never returned. */
    public Builder stopSequences(String... values) {
      Objects.requireNonNull(values, "stopSequences");
      return stopSequences(Arrays.asList(values));
    }

    /** Replaces the stop sequences. */
    public Builder stopSequences(List<String> values) {
      Objects.requireNonNull(values, "stopSequences");
      stopSequences = new ArrayList<>(values); // null or empty ones are refused by build()
      return this;
    }

    /** Keep going past the end-of-sequence and end-of-turn tokens (false). */
    public Builder ignoreEndOfSequence(boolean value) {
      ignoreEndOfSequence = value;
      return this;
    }

    /**
     * Constrain the answer to one JSON object (false): tokens that cannot continue one are never
     * chosen, and the answer ends when the object closes. Needs a tokenizer; not with {@link
     * #ignoreEndOfSequence}.
     */
    public Builder jsonObject(boolean value) {
      jsonObject = value;
      return this;
    }

    /**
     * Constrain the answer to one JSON object that this JSON Schema accepts (null: none), in the
     * subset that can be enforced while generating: {@code type}, {@code properties} (generated in
     * the listed order; optional ones may be left out), {@code required}, {@code
     * additionalProperties: false}, {@code items}, {@code enum} / {@code const} of strings, booleans
     * or null; other keywords make {@link #build} throw naming them.
     */
    public Builder jsonSchema(String value) {
      jsonSchema = value;
      return this;
    }

    /** @throws IllegalArgumentException naming the first option out of range */
    public GenerateOptions build() {
      return new GenerateOptions(this);
    }
  }
}
