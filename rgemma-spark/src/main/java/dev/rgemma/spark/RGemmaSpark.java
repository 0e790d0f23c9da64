package dev.rgemma.spark;

import dev.rgemma.RgemmaException;
import dev.rgemma.engine.BatchGenerator;
import dev.rgemma.engine.TextCodec;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

/**
 * rgemma on Apache Spark: text generation as a function over a column.
 *
 * <pre>{@code
 * RGemmaOptions options = RGemmaOptions.builder("/models/recurrentgemma-2b-it")
 *     .maxTokens(128).temperature(0).build();
 * Dataset<Row> out = RGemmaSpark.generate(spark.read().parquet("prompts.parquet"), "prompt", options);
 *
 * RGemmaSpark.registerFunctions(spark, options);
 * spark.sql("SELECT id, rgemma_generate(prompt).text FROM prompts");
 * }</pre>
 *
 * <p>Each executor JVM loads the model once, on first use, memory-mapped from a path every
 * executor can read, and shares it between its tasks. {@link #generate} decodes the rows of a
 * partition together ({@link BatchGenerator}); the SQL functions generate one row at a time.
 */
public final class RGemmaSpark {
  /** The SQL function {@code rgemma_generate(prompt)}. */
  public static final String FUNCTION = "rgemma_generate";
  /** The SQL function {@code rgemma_generate_with(prompt, map('seed', '7', ...))}. */
  public static final String FUNCTION_WITH_OPTIONS = "rgemma_generate_with";

  /** Output column names, without prefix. */
  public static final List<String> OUTPUT_COLUMNS = List.of("text", "token_ids", "finish_reason",
      "prompt_token_count", "generated_token_count", "prefill_ms", "decode_ms", "error");

  private static final Map<SparkContext, LongAccumulator> LOAD_COUNTERS = new WeakHashMap<>();

  private RGemmaSpark() {}

  /**
   * The output columns: {@code text} (string; "" for a model without tokenizer), {@code token_ids}
   * (array<int>, the stop token not included), {@code finish_reason} (eos, end-of-turn,
   * stop-string, max-tokens), {@code prompt_token_count}, {@code generated_token_count}, {@code
   * prefill_ms}, {@code decode_ms} (wall-clock, shared with the rows decoded alongside) and {@code
   * error} (null unless the row failed; then the other outputs are null).
   */
  public static StructType outputSchema(String prefix) {
    DataType[] types = {DataTypes.StringType, DataTypes.createArrayType(DataTypes.IntegerType, false),
        DataTypes.StringType, DataTypes.IntegerType, DataTypes.IntegerType, DataTypes.DoubleType,
        DataTypes.DoubleType, DataTypes.StringType};
    StructField[] fields = new StructField[types.length];
    for (int i = 0; i < types.length; i++) {
      fields[i] = DataTypes.createStructField(prefix + OUTPUT_COLUMNS.get(i), types[i], true);
    }
    return DataTypes.createStructType(fields);
  }

  /**
   * The input with the output columns of {@link #outputSchema} appended, computed lazily when an
   * action runs. {@code promptColumn} holds text (tokenized on the executors, with the chat
   * template if on) or an array of token ids fed as given (include BOS). The options, the column
   * types and (unless turned off) the model are checked here, on the driver.
   */
  public static Dataset<Row> generate(Dataset<Row> input, String promptColumn, RGemmaOptions options) {
    StructType schema = input.schema();
    int promptIndex = fieldIndex(schema, promptColumn, "prompt");
    DataType promptType = schema.fields()[promptIndex].dataType();
    boolean textPrompts;
    if (promptType instanceof StringType) {
      textPrompts = true;
    } else if (promptType instanceof ArrayType array && isIntegral(array.elementType())) {
      textPrompts = false;
    } else {
      throw new IllegalArgumentException("prompt column " + promptColumn + " is " + promptType.simpleString()
          + ", expected string (text) or array<int> (token ids)");
    }
    int seedIndex = -1;
    if (options.seedColumn() != null) {
      seedIndex = fieldIndex(schema, options.seedColumn(), "seed");
      DataType seedType = schema.fields()[seedIndex].dataType();
      if (!isIntegral(seedType)) {
        throw new IllegalArgumentException("seed column " + options.seedColumn() + " is "
            + seedType.simpleString() + ", expected an integer type (int or bigint)");
      }
    }
    if (!textPrompts && Boolean.TRUE.equals(options.chat())) {
      throw new IllegalArgumentException("chat needs text prompts; column " + promptColumn + " holds token ids");
    }
    checkModel(options, textPrompts);
    StructType outputs = outputSchema(options.outputPrefix());
    for (StructField field : outputs.fields()) {
      if (Arrays.asList(schema.fieldNames()).contains(field.name())) {
        throw new IllegalArgumentException("the input already has a column " + field.name()
            + "; set an output prefix (output-prefix) for the generated columns");
      }
    }
    StructType result = new StructType(concat(schema.fields(), outputs.fields()));
    RowGenerator generator = new RowGenerator(options, promptIndex, textPrompts, seedIndex,
        modelLoads(input.sparkSession().sparkContext()));
    return input.mapPartitions(generator, Encoders.row(result));
  }

  /**
   * Registers, on {@code spark}, {@code rgemma_generate(prompt STRING)} and {@code
   * rgemma_generate_with(prompt STRING, options MAP<STRING, STRING>)} (option names as in {@link
   * RGemmaOptions#fromMap}, e.g. {@code map('seed', '7', 'max-tokens', '20')}). Both return a
   * struct with the fields of {@link #outputSchema} (no prefix). They run row by row: for large
   * jobs {@link #generate} is faster, as it decodes the rows of a partition together.
   */
  public static void registerFunctions(SparkSession spark, RGemmaOptions options) {
    checkModel(options, true);
    StructType type = outputSchema("");
    LongAccumulator loads = modelLoads(spark.sparkContext());
    UDF1<String, Row> plain = prompt -> generateOne(options, prompt, loads);
    UDF2<String, scala.collection.Map<String, String>, Row> withOptions = (prompt, overrides) -> {
      RGemmaOptions merged = overrides == null ? options
          : options.toBuilder().apply(javaMap(overrides)).build();
      return generateOne(merged, prompt, loads);
    };
    // Nondeterministic: Spark must not call the function twice for one row (e.g. once per field).
    UserDefinedFunction first = functions.udf(plain, type).asNondeterministic();
    UserDefinedFunction second = functions.udf(withOptions, type).asNondeterministic();
    spark.udf().register(FUNCTION, first);
    spark.udf().register(FUNCTION_WITH_OPTIONS, second);
  }

  private static Map<String, String> javaMap(scala.collection.Map<String, String> map) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    scala.collection.Iterator<scala.Tuple2<String, String>> entries = map.iterator();
    while (entries.hasNext()) {
      scala.Tuple2<String, String> entry = entries.next();
      out.put(entry._1(), entry._2());
    }
    return out;
  }

  private static Row generateOne(RGemmaOptions options, String prompt, LongAccumulator loads) {
    ExecutorModels.Loaded loaded = ExecutorModels.get(options.model(), options.threadsPerTask(), loads);
    TextCodec codec = loaded.codec();
    BatchGenerator.Outcome outcome;
    try {
      if (prompt == null || prompt.isEmpty()) {
        throw new IllegalArgumentException(prompt == null ? "the prompt is null" : "the prompt is empty: nothing to generate from");
      }
      boolean chat = options.chat() != null ? options.chat() : codec.isChatModel();
      int[] ids = RowGenerator.prompts(codec, prompt, chat);
      BatchGenerator generator = new BatchGenerator(loaded.model(), codec, 1, options.maxPromptTokens());
      outcome = generator.generateAll(List.of(new BatchGenerator.Request(ids, options.samplerSettings(options.seed()),
          options.generationOptions()))).getFirst();
    } catch (RuntimeException e) {
      outcome = new BatchGenerator.Outcome(null, e);
    }
    if (outcome.failed() && options.onError() == RGemmaOptions.OnError.FAIL) {
      throw new RgemmaException("rgemma: generation failed: " + outcome.failure().getMessage(), outcome.failure());
    }
    return RowFactory.create(RowGenerator.outputValues(outcome.result(), outcome.failure()));
  }

  /**
   * Counts model loads in the JVMs of {@code context}'s jobs (one per executor that ran a task,
   * unless the executor had loaded the model for an earlier job): an accumulator named "rgemma
   * model loads", visible in the Spark UI.
   */
  public static synchronized LongAccumulator modelLoads(SparkContext context) {
    return LOAD_COUNTERS.computeIfAbsent(context, c -> c.longAccumulator("rgemma model loads"));
  }

  private static void checkModel(RGemmaOptions options, boolean textPrompts) {
    if (!options.checkModelOnDriver()) {
      return;
    }
    ExecutorModels.ModelInfo info = ExecutorModels.inspect(options.model());
    if (textPrompts && !info.hasTokenizer()) {
      throw new RgemmaException("model " + options.model() + " has no tokenizer (tokenizer.json or "
          + "tokenizer.model): give the prompts as an array<int> column of token ids");
    }
  }

  private static int fieldIndex(StructType schema, String column, String what) {
    List<String> names = Arrays.asList(schema.fieldNames());
    int index = names.indexOf(column);
    if (index < 0) {
      throw new IllegalArgumentException(what + " column " + column + " is not in the input; its columns are " + names);
    }
    return index;
  }

  private static boolean isIntegral(DataType type) {
    return type instanceof IntegerType || type instanceof LongType || type instanceof ShortType;
  }

  private static StructField[] concat(StructField[] a, StructField[] b) {
    StructField[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
