package dev.rgemma.spark.examples;

import dev.rgemma.spark.RGemmaOptions;
import dev.rgemma.spark.RGemmaSpark;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * A batch job: reads prompts from a Parquet or JSON Lines file, generates a completion for each
 * and writes the prompts with the outputs as Parquet. Run it with spark-submit (see README):
 *
 * <pre>
 * spark-submit --class dev.rgemma.spark.examples.GenerateFile rgemma-spark-VERSION-all.jar \
 *   --model /models/recurrentgemma-2b-it --input prompts.jsonl --output out.parquet --max-tokens 128
 * </pre>
 *
 * Flags: {@code --input PATH} (.jsonl/.json: JSON Lines, anything else: Parquet), {@code --output
 * PATH} (Parquet, replaced if it exists), {@code --prompt-column NAME} (prompt), {@code
 * --partitions N} (repartition the input first; default: as read), and every option of {@link
 * RGemmaOptions#fromMap} as {@code --name value} ({@code --model}, {@code --max-tokens}, {@code
 * --temperature}, {@code --seed-column}, {@code --stop} (repeatable), {@code --batch-size}, ...).
 */
public final class GenerateFile {
  private GenerateFile() {}

  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().appName("rgemma generate").getOrCreate();
    try {
      long rows = run(spark, args);
      System.err.println("rgemma: generated " + rows + " rows");
    } finally {
      spark.stop();
    }
  }

  /** Runs the job on {@code spark}; returns the number of rows written. */
  public static long run(SparkSession spark, String[] args) {
    Map<String, String> options = new LinkedHashMap<>();
    String input = null;
    String output = null;
    String promptColumn = "prompt";
    int partitions = 0;
    int stops = 0;
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --name value pairs, got " + String.join(" ", args));
      }
      String name = args[i].substring(2);
      String value = args[i + 1];
      switch (name) {
        case "input" -> input = value;
        case "output" -> output = value;
        case "prompt-column" -> promptColumn = value;
        case "partitions" -> partitions = Integer.parseInt(value);
        case "stop" -> options.put("stop." + (++stops), value);
        default -> options.put(name, value);
      }
    }
    if (input == null || output == null) {
      throw new IllegalArgumentException("give --input PATH (Parquet or .jsonl) and --output PATH (Parquet)");
    }
    RGemmaOptions generation = RGemmaOptions.fromMap(options);
    String lower = input.toLowerCase(Locale.ROOT);
    Dataset<Row> prompts = lower.endsWith(".jsonl") || lower.endsWith(".json")
        ? spark.read().json(input) : spark.read().parquet(input);
    if (partitions > 0) {
      prompts = prompts.repartition(partitions);
    }
    RGemmaSpark.generate(prompts, promptColumn, generation).write().mode(SaveMode.Overwrite).parquet(output);
    return spark.read().parquet(output).count();
  }
}
