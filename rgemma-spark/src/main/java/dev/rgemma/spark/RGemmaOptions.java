package dev.rgemma.spark;

import dev.rgemma.engine.GenerationOptions;
import dev.rgemma.sampling.SamplerSettings;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a Spark generation needs besides the data: the model, the options of {@code rgemma
 * generate} and how the work is split. Immutable and serializable (it travels to the executors);
 * build one with {@link #builder(String)} or {@link #fromMap}. Every value is validated when it is
 * built, on the driver, so a bad option fails the job before any task runs.
 */
public final class RGemmaOptions implements Serializable {
  private static final long serialVersionUID = 1L;

  /** What to do with a row whose generation fails. */
  public enum OnError {
    /** Fail the whole job with the row's error. */
    FAIL,
    /** Keep going: the row gets its message in the error column and null outputs. */
    KEEP_GOING
  }

  private final String model;
  private final int maxTokens;
  private final float temperature;
  private final int topK;
  private final float topP;
  private final float minP;
  private final float repeatPenalty;
  private final float frequencyPenalty;
  private final float presencePenalty;
  private final int repeatLastN;
  private final long seed;
  private final String seedColumn; // null: every row uses seed
  private final List<String> stop;
  private final Boolean chat; // null: on for instruction-tuned models, as in the CLI
  private final boolean ignoreEos;
  private final boolean json;
  private final String jsonSchema; // null: none
  private final int threadsPerTask;
  private final int batchSize;
  private final int maxPromptTokens;
  private final OnError onError;
  private final String outputPrefix;
  private final boolean checkModelOnDriver;

  private RGemmaOptions(Builder b) {
    this.model = Objects.requireNonNull(b.model, "model");
    this.maxTokens = b.maxTokens;
    this.temperature = b.temperature;
    this.topK = b.topK;
    this.topP = b.topP;
    this.minP = b.minP;
    this.repeatPenalty = b.repeatPenalty;
    this.frequencyPenalty = b.frequencyPenalty;
    this.presencePenalty = b.presencePenalty;
    this.repeatLastN = b.repeatLastN;
    this.seed = b.seed;
    this.seedColumn = b.seedColumn;
    this.stop = List.copyOf(b.stop);
    this.chat = b.chat;
    this.ignoreEos = b.ignoreEos;
    this.json = b.json;
    this.jsonSchema = b.jsonSchema;
    this.threadsPerTask = b.threadsPerTask;
    this.batchSize = b.batchSize;
    this.maxPromptTokens = b.maxPromptTokens;
    this.onError = Objects.requireNonNull(b.onError, "onError");
    this.outputPrefix = Objects.requireNonNull(b.outputPrefix, "outputPrefix");
    this.checkModelOnDriver = b.checkModelOnDriver;
    if (model.isBlank()) {
      throw new IllegalArgumentException("model is empty, expected a checkpoint directory every executor can read");
    }
    positive("threads-per-task", threadsPerTask);
    positive("batch-size", batchSize);
    positive("max-prompt-tokens", maxPromptTokens);
    generationOptions(); // validates max-tokens and stop
    samplerSettings(seed); // validates the sampling values
  }

  private static void positive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " is " + value + ", expected an integer >= 1");
    }
  }

  /** Options with the defaults of {@code rgemma generate} for a model at {@code model}. */
  public static Builder builder(String model) {
    return new Builder(model);
  }

  /**
   * Options from string keys, named like the flags of {@code rgemma generate}: {@code model,
   * max-tokens, temperature, top-k, top-p, min-p, repeat-penalty, frequency-penalty,
   * presence-penalty, repeat-last-n, seed, seed-column, stop} (one stop text; {@code stop.1},
   * {@code stop.2}, ... for more), {@code chat} (true/false), {@code ignore-eos}, {@code json}, {@code json-schema} (the schema's JSON text), {@code
   * threads-per-task, batch-size, max-prompt-tokens, on-error} (fail/keep-going), {@code
   * output-prefix, check-model-on-driver}. Unknown keys are refused.
   */
  public static RGemmaOptions fromMap(Map<String, String> values) {
    String model = values.get("model");
    if (model == null) {
      throw new IllegalArgumentException("option model is missing: give the checkpoint directory");
    }
    return builder(model).apply(values).build();
  }

  public Builder toBuilder() {
    Builder b = new Builder(model);
    b.maxTokens = maxTokens;
    b.temperature = temperature;
    b.topK = topK;
    b.topP = topP;
    b.minP = minP;
    b.repeatPenalty = repeatPenalty;
    b.frequencyPenalty = frequencyPenalty;
    b.presencePenalty = presencePenalty;
    b.repeatLastN = repeatLastN;
    b.seed = seed;
    b.seedColumn = seedColumn;
    b.stop = new ArrayList<>(stop);
    b.chat = chat;
    b.ignoreEos = ignoreEos;
    b.json = json;
    b.jsonSchema = jsonSchema;
    b.threadsPerTask = threadsPerTask;
    b.batchSize = batchSize;
    b.maxPromptTokens = maxPromptTokens;
    b.onError = onError;
    b.outputPrefix = outputPrefix;
    b.checkModelOnDriver = checkModelOnDriver;
    return b;
  }

  public String model() {
    return model;
  }

  public String seedColumn() {
    return seedColumn;
  }

  /** True, false, or null for the CLI's default (on when the tokenizer has turn markers). */
  public Boolean chat() {
    return chat;
  }

  public int threadsPerTask() {
    return threadsPerTask;
  }

  public int batchSize() {
    return batchSize;
  }

  public int maxPromptTokens() {
    return maxPromptTokens;
  }

  public OnError onError() {
    return onError;
  }

  public String outputPrefix() {
    return outputPrefix;
  }

  public boolean checkModelOnDriver() {
    return checkModelOnDriver;
  }

  /** The sampler settings with {@code rowSeed} as the seed. */
  public SamplerSettings samplerSettings(long rowSeed) {
    return new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty,
        presencePenalty, repeatLastN, rowSeed);
  }

  /** The seed of rows without a seed column (or with a null seed). */
  public long seed() {
    return seed;
  }

  public GenerationOptions generationOptions() {
    return new GenerationOptions(maxTokens, stop, ignoreEos,
        jsonSchema != null ? compileSchema(jsonSchema) : json ? dev.rgemma.sampling.JsonSchema.ANY_OBJECT : null);
  }

  private static dev.rgemma.sampling.JsonSchema compileSchema(String schema) {
    try {
      return dev.rgemma.sampling.JsonSchema.parse(schema);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("json-schema: " + e.getMessage(), e);
    }
  }


  @Override
  public String toString() {
    return "RGemmaOptions[model=" + model + ", max-tokens=" + maxTokens + ", temperature=" + temperature
        + ", top-k=" + topK + ", top-p=" + topP + ", min-p=" + minP + ", seed=" + seed
        + (seedColumn == null ? "" : ", seed-column=" + seedColumn) + ", stop=" + stop + ", chat=" + chat + (json ? ", json=true" : "")
        + (jsonSchema == null ? "" : ", json-schema=" + jsonSchema)
        + ", batch-size=" + batchSize + ", threads-per-task=" + threadsPerTask + ", on-error=" + onError + "]";
  }

  /** Collects option values; {@link #build} validates them. Defaults are those of the CLI. */
  public static final class Builder {
    private final String model;
    private int maxTokens = 256;
    private float temperature = SamplerSettings.DEFAULT_TEMPERATURE;
    private int topK = SamplerSettings.DEFAULT_TOP_K;
    private float topP = SamplerSettings.DEFAULT_TOP_P;
    private float minP = SamplerSettings.DEFAULT_MIN_P;
    private float repeatPenalty = 1f;
    private float frequencyPenalty = 0f;
    private float presencePenalty = 0f;
    private int repeatLastN = SamplerSettings.DEFAULT_PENALTY_WINDOW;
    private long seed = 0;
    private String seedColumn;
    private List<String> stop = new ArrayList<>();
    private Boolean chat;
    private boolean ignoreEos;
    private boolean json;
    private String jsonSchema;
    private int threadsPerTask = 1;
    private int batchSize = 8;
    private int maxPromptTokens = 8192;
    private OnError onError = OnError.KEEP_GOING;
    private String outputPrefix = "";
    private boolean checkModelOnDriver = true;

    private Builder(String model) {
      this.model = model;
    }

    /** Most tokens to generate per row (256). */
    public Builder maxTokens(int value) {
      maxTokens = value;
      return this;
    }

    /** 0 = greedy (0.8). */
    public Builder temperature(float value) {
      temperature = value;
      return this;
    }

    public Builder topK(int value) {
      topK = value;
      return this;
    }

    public Builder topP(float value) {
      topP = value;
      return this;
    }

    public Builder minP(float value) {
      minP = value;
      return this;
    }

    public Builder repeatPenalty(float value) {
      repeatPenalty = value;
      return this;
    }

    public Builder frequencyPenalty(float value) {
      frequencyPenalty = value;
      return this;
    }

    public Builder presencePenalty(float value) {
      presencePenalty = value;
      return this;
    }

    public Builder repeatLastN(int value) {
      repeatLastN = value;
      return this;
    }

    /** The seed of every row, or of rows whose seed column is null (0). */
    public Builder seed(long value) {
      seed = value;
      return this;
    }

    /** An integer column holding each row's seed: reproducible results per row (none). */
    public Builder seedColumn(String column) {
      seedColumn = column;
      return this;
    }

    /** Adds a stop text (matched across tokens, never in the output). */
    public Builder stop(String text) {
      stop.add(Objects.requireNonNull(text));
      return this;
    }

    /** Wrap text prompts in the chat template: true, false, or null for the model's default. */
    public Builder chat(Boolean value) {
      chat = value;
      return this;
    }

    public Builder ignoreEos(boolean value) {
      ignoreEos = value;
      return this;
    }

    /** JSON mode: each row's answer is one JSON object, as {@code rgemma generate --json}. */
    public Builder json(boolean value) {
      json = value;
      return this;
    }

    /** JSON mode following this JSON Schema (its text; null: none), as {@code --json-schema}. */
    public Builder jsonSchema(String value) {
      jsonSchema = value;
      return this;
    }

    /**
     * Kernel threads of the executor JVM, set when it loads the model; tasks running at the same
     * time share them (1).
     */
    public Builder threadsPerTask(int value) {
      threadsPerTask = value;
      return this;
    }

    /** Rows of a partition decoded together (8). */
    public Builder batchSize(int value) {
      batchSize = value;
      return this;
    }

    /** Longer prompts get an error instead of an output (8192). */
    public Builder maxPromptTokens(int value) {
      maxPromptTokens = value;
      return this;
    }

    /** Fail the job on the first failing row, or report it in the error column (the default). */
    public Builder onError(OnError value) {
      onError = value;
      return this;
    }

    /** Prepended to the output column names, e.g. "gen_" (none). */
    public Builder outputPrefix(String value) {
      outputPrefix = value;
      return this;
    }

    /**
     * Check the model on the driver before any task runs (on). Turn off only where the driver
     * cannot see the executors' filesystem.
     */
    public Builder checkModelOnDriver(boolean value) {
      checkModelOnDriver = value;
      return this;
    }

    /** Applies string-keyed values (see {@link RGemmaOptions#fromMap}). */
    public Builder apply(Map<String, String> values) {
      for (Map.Entry<String, String> e : values.entrySet()) {
        String key = e.getKey().toLowerCase(Locale.ROOT).replace('_', '-');
        String value = e.getValue();
        try {
          switch (key) {
            case "model" -> { } // given to builder()
            case "max-tokens" -> maxTokens(Integer.parseInt(value.strip()));
            case "temperature" -> temperature(Float.parseFloat(value.strip()));
            case "top-k" -> topK(Integer.parseInt(value.strip()));
            case "top-p" -> topP(Float.parseFloat(value.strip()));
            case "min-p" -> minP(Float.parseFloat(value.strip()));
            case "repeat-penalty" -> repeatPenalty(Float.parseFloat(value.strip()));
            case "frequency-penalty" -> frequencyPenalty(Float.parseFloat(value.strip()));
            case "presence-penalty" -> presencePenalty(Float.parseFloat(value.strip()));
            case "repeat-last-n" -> repeatLastN(Integer.parseInt(value.strip()));
            case "seed" -> seed(Long.parseLong(value.strip()));
            case "seed-column" -> seedColumn(value);
            case "chat" -> chat(parseBoolean(key, value));
            case "ignore-eos" -> ignoreEos(parseBoolean(key, value));
            case "json" -> json(parseBoolean(key, value));
            case "json-schema" -> jsonSchema(value);
            case "threads-per-task" -> threadsPerTask(Integer.parseInt(value.strip()));
            case "batch-size" -> batchSize(Integer.parseInt(value.strip()));
            case "max-prompt-tokens" -> maxPromptTokens(Integer.parseInt(value.strip()));
            case "on-error" -> onError(parseOnError(value));
            case "output-prefix" -> outputPrefix(value);
            case "check-model-on-driver" -> checkModelOnDriver(parseBoolean(key, value));
            default -> {
              if (key.equals("stop") || key.startsWith("stop.")) {
                stop(value);
              } else {
                throw new IllegalArgumentException("unknown option " + e.getKey() + "; expected one of model, "
                    + "max-tokens, temperature, top-k, top-p, min-p, repeat-penalty, frequency-penalty, "
                    + "presence-penalty, repeat-last-n, seed, seed-column, stop, chat, ignore-eos, json, json-schema, "
                    + "threads-per-task, batch-size, max-prompt-tokens, on-error, output-prefix, "
                    + "check-model-on-driver");
              }
            }
          }
        } catch (NumberFormatException nfe) {
          throw new IllegalArgumentException("option " + e.getKey() + " is \"" + value + "\", expected a number");
        }
      }
      return this;
    }

    private static boolean parseBoolean(String key, String value) {
      return switch (value.strip().toLowerCase(Locale.ROOT)) {
        case "true", "on", "yes", "1" -> true;
        case "false", "off", "no", "0" -> false;
        default -> throw new IllegalArgumentException("option " + key + " is \"" + value + "\", expected true or false");
      };
    }

    private static OnError parseOnError(String value) {
      return switch (value.strip().toLowerCase(Locale.ROOT)) {
        case "fail" -> OnError.FAIL;
        case "keep-going", "keep_going" -> OnError.KEEP_GOING;
        default -> throw new IllegalArgumentException("option on-error is \"" + value + "\", expected fail or keep-going");
      };
    }

    public RGemmaOptions build() {
      return new RGemmaOptions(this);
    }
  }
}
