package dev.rgemma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.RgemmaException;
import dev.rgemma.cli.Main;
import dev.rgemma.testing.Fixtures;
import dev.rgemma.testing.TinyTokenizer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * rgemma on Spark {@code local[2]} with the tiny fixture model: the reference's greedy outputs,
 * equality with {@code rgemma generate} for text prompts and seeds, Parquet in and out, error rows,
 * one model load per JVM, the SQL functions and the checks made on the driver.
 */
class RGemmaSparkTest {
  static final StructType ID_PROMPTS = DataTypes.createStructType(List.of(
      DataTypes.createStructField("id", DataTypes.IntegerType, false),
      DataTypes.createStructField("prompt", DataTypes.createArrayType(DataTypes.IntegerType), true)));

  @TempDir static Path temp;
  private static SparkSession spark;
  private static Path textModel;

  @BeforeAll
  static void start() {
    spark = SparkTesting.local();
    textModel = TinyTokenizer.fixtureModelWithTokenizer(temp.resolve("tiny-text"));
  }

  @AfterAll
  static void stop() {
    spark.stop();
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
  }

  /** A fresh copy of the id-only fixture model, so that its loads are counted from zero. */
  static Path idModel(Path dir) {
    TinyTokenizer.copyFixture("config.json", dir);
    TinyTokenizer.copyFixture("model.safetensors", dir);
    return dir;
  }

  /** The reference's two greedy prompts (twice each), then an empty, an invalid and a too long one. */
  static List<Row> referenceAndBadRows(JsonNode expected) {
    List<Row> rows = new ArrayList<>();
    JsonNode greedy = expected.get("greedy");
    for (int i = 0; i < 4; i++) {
      rows.add(RowFactory.create(i, boxed(Fixtures.ints(greedy.get(i % 2).get("prompt")))));
    }
    rows.add(RowFactory.create(4, seq(List.of())));
    rows.add(RowFactory.create(5, seq(List.of(2, 999))));
    rows.add(RowFactory.create(6, boxed(Fixtures.ints(expected.get("input_tokens")))));
    rows.add(RowFactory.create(7, null));
    return rows;
  }

  /** Checks what {@link #referenceAndBadRows} gives with greedy decoding, 20 tokens, prompts up to 30. */
  static void assertReferenceAndBadRows(JsonNode expected, List<Row> output) {
    Map<Integer, Row> byId = new HashMap<>();
    output.forEach(row -> byId.put(row.getInt(0), row));
    assertEquals(8, byId.size());
    JsonNode greedy = expected.get("greedy");
    for (int i = 0; i < 4; i++) {
      Row row = byId.get(i);
      assertNull(row.getAs("error"), "row " + i);
      assertEquals(Arrays.toString(Fixtures.ints(greedy.get(i % 2).get("generated"))),
          row.getList(row.fieldIndex("token_ids")).toString(), "row " + i);
      assertEquals("max-tokens", row.getAs("finish_reason"));
      assertEquals(Fixtures.ints(greedy.get(i % 2).get("prompt")).length, (int) row.getAs("prompt_token_count"));
      assertEquals(20, (int) row.getAs("generated_token_count"));
      assertEquals("", row.getAs("text"), "no tokenizer: no text");
    }
    assertError(byId.get(4), "the prompt is empty");
    assertError(byId.get(5), "token id 999 is outside the vocabulary");
    assertError(byId.get(6), "the prompt has 40 tokens, more than the limit of 30");
    assertError(byId.get(7), "the prompt is null");
  }

  static void assertError(Row row, String message) {
    String error = row.getAs("error");
    assertNotNull(error, "row " + row.get(0) + " should have failed");
    assertTrue(error.contains(message), error);
    assertNull(row.getAs("token_ids"));
    assertNull(row.getAs("finish_reason"));
  }

  static scala.collection.immutable.Seq<Object> boxed(int[] ids) {
    return seq(Arrays.stream(ids).boxed().toList());
  }

  /** Array values of external rows are Scala sequences. */
  static scala.collection.immutable.Seq<Object> seq(List<?> values) {
    return scala.jdk.javaapi.CollectionConverters.asScala(new ArrayList<Object>(values)).toList();
  }

  @Test
  void greedyIdsMatchTheReferenceWithErrorRowsAndOneLoad() {
    Path model = idModel(temp.resolve("ids-counted"));
    JsonNode expected = Fixtures.expected(Fixtures.dir("tiny-a"));
    Dataset<Row> input = spark.createDataFrame(referenceAndBadRows(expected), ID_PROMPTS).repartition(4);
    RGemmaOptions options = RGemmaOptions.builder(model.toString())
        .temperature(0).maxTokens(20).maxPromptTokens(30).batchSize(3).build();
    LongAccumulator loads = RGemmaSpark.modelLoads(spark.sparkContext());
    long before = loads.value();

    Dataset<Row> output = RGemmaSpark.generate(input, "prompt", options);
    assertEquals(List.of("id", "prompt", "text", "token_ids", "finish_reason", "prompt_token_count",
        "generated_token_count", "prefill_ms", "decode_ms", "error"), Arrays.asList(output.columns()));
    assertReferenceAndBadRows(expected, output.collectAsList());
    assertEquals(1, loads.value() - before, "four partitions on two task threads share one load");

    assertReferenceAndBadRows(expected, RGemmaSpark.generate(input, "prompt", options).collectAsList());
    assertEquals(1, loads.value() - before, "a later job reuses the loaded model");
  }

  /** Parquet in, Parquet out; each row's text and ids equal those of {@code rgemma generate}. */
  @Test
  void textPromptsEqualTheGenerateCommand() {
    List<Row> rows = List.of(
        RowFactory.create(0, "the cat", 1L),
        RowFactory.create(1, "Hello there, in the garden", 42L),
        RowFactory.create(2, "abc", null),
        RowFactory.create(4, "", 3L));
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("id", DataTypes.IntegerType, false),
        DataTypes.createStructField("prompt", DataTypes.StringType, true),
        DataTypes.createStructField("seed", DataTypes.LongType, true)));
    String in = temp.resolve("prompts.parquet").toString();
    spark.createDataFrame(rows, schema).repartition(2).write().parquet(in);

    record Mode(String name, RGemmaOptions options, List<String> flags) {}
    List<Mode> modes = List.of(
        new Mode("sampled-chat", RGemmaOptions.builder(textModel.toString()).maxTokens(12).seedColumn("seed")
            .seed(5).build(), List.of("--max-tokens", "12")),
        new Mode("greedy-plain", RGemmaOptions.builder(textModel.toString()).maxTokens(10).temperature(0)
            .chat(false).stop("<").repeatPenalty(1.5f).build(), List.of("--max-tokens", "10", "--temperature", "0",
            "--no-chat", "--stop", "<", "--repeat-penalty", "1.5")));
    for (Mode mode : modes) {
      String out = temp.resolve("out-" + mode.name() + ".parquet").toString();
      RGemmaSpark.generate(spark.read().parquet(in), "prompt", mode.options()).write().parquet(out);
      List<Row> result = spark.read().parquet(out).orderBy("id").collectAsList();
      assertEquals(4, result.size());
      boolean sawText = false;
      for (Row row : result) {
        int id = row.getInt(0);
        String prompt = row.getString(1);
        if (prompt.isEmpty()) {
          assertError(row, "the prompt is empty");
          continue;
        }
        long seed = row.isNullAt(2) || mode.options().seedColumn() == null ? mode.options().seed() : row.getLong(2);
        List<String> args = new ArrayList<>(List.of("generate", "--model", textModel.toString(), "--prompt", prompt,
            "--seed", Long.toString(seed)));
        args.addAll(mode.flags());
        String text = row.getAs("text");
        assertEquals(text.isEmpty() || text.endsWith("\n") ? text : text + "\n", cli(args),
            mode.name() + " row " + id);
        args.add("--print-ids");
        assertEquals(row.getList(row.fieldIndex("token_ids")).toString().replace("[", "").replace("]", "")
            .replace(" ", "") + "\n", cli(args), mode.name() + " row " + id);
        sawText |= !text.isEmpty();
      }
      assertTrue(sawText, mode.name() + ": some row should have text");
    }
  }

  /** The example job: JSON Lines in, Parquet out, the same ids as the CLI. */
  @Test
  void exampleJobReadsJsonLinesAndWritesParquet() throws Exception {
    Path jsonl = temp.resolve("prompts.jsonl");
    java.nio.file.Files.writeString(jsonl, "{\"id\": 0, \"question\": \"the cat\", \"seed\": 3}\n"
        + "{\"id\": 1, \"question\": \"\", \"seed\": 4}\n");
    String out = temp.resolve("example-out").toString();
    long rows = dev.rgemma.spark.examples.GenerateFile.run(spark, new String[] {"--model", textModel.toString(),
        "--input", jsonl.toString(), "--output", out, "--prompt-column", "question", "--seed-column", "seed",
        "--max-tokens", "6", "--partitions", "2"});
    assertEquals(2, rows);
    List<Row> result = spark.read().parquet(out).orderBy("id").collectAsList();
    String ids = cli(List.of("generate", "--model", textModel.toString(), "--prompt", "the cat", "--seed", "3",
        "--max-tokens", "6", "--print-ids"));
    assertEquals(ids.strip(), result.get(0).getList(result.get(0).fieldIndex("token_ids")).toString()
        .replaceAll("[\\[\\] ]", ""));
    assertError(result.get(1), "the prompt is empty");
  }

  /** The demo model (a real tokenizer): the same texts as {@code rgemma generate}, greedy and sampled. */
  @Test
  void demoModelEqualsTheGenerateCommand() {
    Path demo = Path.of("..", "models", "demo").toAbsolutePath().normalize();
    assertTrue(java.nio.file.Files.isRegularFile(demo.resolve("model.safetensors")), "the demo model is missing: " + demo);
    List<Row> rows = List.of(RowFactory.create(0, "Call me Ishmael.", 1L), RowFactory.create(1, "The sea", 3L));
    Dataset<Row> prompts = spark.createDataFrame(rows, DataTypes.createStructType(List.of(
        DataTypes.createStructField("id", DataTypes.IntegerType, false),
        DataTypes.createStructField("prompt", DataTypes.StringType, true),
        DataTypes.createStructField("seed", DataTypes.LongType, true))));
    for (boolean greedy : new boolean[] {true, false}) {
      RGemmaOptions options = RGemmaOptions.builder(demo.toString()).maxTokens(16).seedColumn("seed")
          .temperature(greedy ? 0 : 0.8f).batchSize(2).build();
      for (Row row : RGemmaSpark.generate(prompts, "prompt", options).collectAsList()) {
        String text = row.getAs("text");
        String expected = cli(List.of("generate", "--model", demo.toString(), "--prompt", row.getString(1),
            "--seed", Long.toString(row.getLong(2)), "--max-tokens", "16", "--temperature", greedy ? "0" : "0.8"));
        assertEquals(expected, text.isEmpty() || text.endsWith("\n") ? text : text + "\n", "row " + row.getInt(0));
        assertTrue(!text.isBlank(), "row " + row.getInt(0) + " should have text");
      }
    }
  }

  /** A GGUF file (with its tokenizer in the metadata) works as the model, as in the CLI. */
  @Test
  void ggufModelsEqualTheGenerateCommand() {
    String gguf = temp.resolve("tiny-q8.gguf").toString();
    cli(List.of("quantize", "--model", textModel.toString(), "--type", "q8_0", "--out", gguf));
    RGemmaOptions options = RGemmaOptions.builder(gguf).maxTokens(8).temperature(0).build();
    Dataset<Row> prompts = spark.createDataFrame(List.of(RowFactory.create(0, "the cat")),
        DataTypes.createStructType(List.of(DataTypes.createStructField("id", DataTypes.IntegerType, false),
            DataTypes.createStructField("prompt", DataTypes.StringType, true))));
    Row row = RGemmaSpark.generate(prompts, "prompt", options).collectAsList().getFirst();
    assertNull(row.getAs("error"));
    String ids = cli(List.of("generate", "--model", gguf, "--prompt", "the cat", "--temperature", "0",
        "--max-tokens", "8", "--print-ids"));
    assertEquals(ids.strip(), row.getList(row.fieldIndex("token_ids")).toString().replaceAll("[\\[\\] ]", ""));
  }

  /** Runs the CLI in this JVM; its stdout. */
  static String cli(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.newCommandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute(args.toArray(String[]::new));
    assertEquals(0, code, "rgemma " + args + ": " + err);
    return out.toString();
  }

  @Test
  void sqlFunctionsEqualTheDatasetApi() {
    RGemmaOptions options = RGemmaOptions.builder(textModel.toString()).maxTokens(8).seed(11).build();
    List<Row> rows = List.of(RowFactory.create(0, "the cat"), RowFactory.create(1, "in the garden"),
        RowFactory.create(2, ""));
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("id", DataTypes.IntegerType, false),
        DataTypes.createStructField("prompt", DataTypes.StringType, true)));
    Dataset<Row> prompts = spark.createDataFrame(rows, schema);
    prompts.createOrReplaceTempView("prompts");
    RGemmaSpark.registerFunctions(spark, options);

    List<Row> sql = spark.sql("SELECT id, r.text, r.token_ids, r.error FROM "
        + "(SELECT id, rgemma_generate(prompt) AS r FROM prompts) ORDER BY id").collectAsList();
    List<Row> api = RGemmaSpark.generate(prompts, "prompt", options).orderBy("id").collectAsList();
    for (int i = 0; i < 2; i++) {
      assertEquals(api.get(i).getAs("text"), sql.get(i).getString(1), "row " + i);
      assertEquals(api.get(i).getList(api.get(i).fieldIndex("token_ids")), sql.get(i).getList(2), "row " + i);
      assertNull(sql.get(i).get(3));
    }
    assertTrue(sql.get(2).getString(3).contains("the prompt is empty"), sql.get(2).getString(3));

    List<Row> seeded = spark.sql("SELECT id, rgemma_generate_with(prompt, map('seed', CAST(id + 100 AS STRING), "
        + "'max-tokens', '5')).token_ids FROM prompts WHERE id < 2 ORDER BY id").collectAsList();
    for (Row row : seeded) {
      String ids = cli(List.of("generate", "--model", textModel.toString(), "--prompt", rows.get(row.getInt(0)).getString(1),
          "--seed", Integer.toString(row.getInt(0) + 100), "--max-tokens", "5", "--print-ids"));
      assertEquals(ids.strip(), row.getList(1).toString().replaceAll("[\\[\\] ]", ""));
    }
  }

  @Test
  void badModelsAndColumnsFailOnTheDriverAtOnce() {
    Dataset<Row> ids = spark.createDataFrame(List.of(RowFactory.create(0, seq(List.of(2, 17)))), ID_PROMPTS);
    String missing = temp.resolve("no-such-model").toString();
    RgemmaException e = assertThrows(RgemmaException.class,
        () -> RGemmaSpark.generate(ids, "prompt", RGemmaOptions.builder(missing).build()));
    assertTrue(e.getMessage().contains(missing) && e.getMessage().contains("does not exist"), e.getMessage());
    assertThrows(RgemmaException.class, () -> RGemmaSpark.registerFunctions(spark, RGemmaOptions.builder(missing).build()));

    Path idOnly = idModel(temp.resolve("ids-no-tokenizer"));
    Dataset<Row> text = spark.createDataFrame(List.of(RowFactory.create(0, "hi")), DataTypes.createStructType(List.of(
        DataTypes.createStructField("id", DataTypes.IntegerType, false),
        DataTypes.createStructField("prompt", DataTypes.StringType, true))));
    e = assertThrows(RgemmaException.class,
        () -> RGemmaSpark.generate(text, "prompt", RGemmaOptions.builder(idOnly.toString()).build()));
    assertTrue(e.getMessage().contains("has no tokenizer"), e.getMessage());

    RGemmaOptions options = RGemmaOptions.builder(idOnly.toString()).build();
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> RGemmaSpark.generate(ids, "question", options));
    assertTrue(bad.getMessage().contains("prompt column question is not in the input"), bad.getMessage());
    bad = assertThrows(IllegalArgumentException.class, () -> RGemmaSpark.generate(ids, "id", options));
    assertTrue(bad.getMessage().contains("expected string (text) or array<int>"), bad.getMessage());
    bad = assertThrows(IllegalArgumentException.class, () -> RGemmaSpark.generate(
        ids.withColumnRenamed("id", "text"), "prompt", options));
    assertTrue(bad.getMessage().contains("already has a column text"), bad.getMessage());
    assertEquals("gen_text", RGemmaSpark.generate(ids.withColumnRenamed("id", "text"), "prompt",
        options.toBuilder().outputPrefix("gen_").build()).columns()[2]);
    bad = assertThrows(IllegalArgumentException.class,
        () -> RGemmaOptions.fromMap(Map.of("model", "m", "top-p", "2")));
    assertTrue(bad.getMessage().contains("top-p is 2.0"), bad.getMessage());
    bad = assertThrows(IllegalArgumentException.class,
        () -> RGemmaOptions.fromMap(Map.of("model", "m", "temprature", "2")));
    assertTrue(bad.getMessage().contains("unknown option temprature"), bad.getMessage());
    assertTrue(RGemmaOptions.fromMap(Map.of("model", "m", "json", "true")).generationOptions().json());
    assertTrue(RGemmaOptions.fromMap(Map.of("model", "m", "json", "true")).toBuilder().build().generationOptions().json());
    bad = assertThrows(IllegalArgumentException.class,
        () -> RGemmaOptions.fromMap(Map.of("model", "m", "json", "true", "ignore-eos", "true")));
    assertTrue(bad.getMessage().contains("JSON mode"), bad.getMessage());
    assertTrue(RGemmaOptions.fromMap(Map.of("model", "m", "json-schema", "{\"type\": \"object\"}"))
        .generationOptions().json());
    bad = assertThrows(IllegalArgumentException.class, () -> RGemmaOptions.fromMap(Map.of("model", "m",
        "json-schema", "{\"type\": \"object\", \"properties\": {\"a\": {\"oneOf\": []}}}")));
    assertTrue(bad.getMessage().contains("json-schema: properties.a.oneOf"), bad.getMessage());
  }

  @Test
  void failFastEndsTheJobWithTheRowsError() {
    Path model = idModel(temp.resolve("ids-fail-fast"));
    Dataset<Row> input = spark.createDataFrame(List.of(RowFactory.create(0, seq(List.of(2, 17))),
        RowFactory.create(1, seq(List.of()))), ID_PROMPTS);
    RGemmaOptions options = RGemmaOptions.fromMap(Map.of("model", model.toString(), "on-error", "fail",
        "max-tokens", "3"));
    Exception e = assertThrows(Exception.class, () -> RGemmaSpark.generate(input, "prompt", options).collectAsList());
    StringBuilder messages = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      messages.append(t.getMessage()).append('\n');
    }
    assertTrue(messages.toString().contains("the prompt is empty"), messages.toString());
  }
}
