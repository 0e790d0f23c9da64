package dev.rgemma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.testing.Fixtures;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code local-cluster[2,1,1024]}: two executors in JVMs of their own. Each loads the model once
 * (counted through the job's accumulator), the outputs equal the reference's greedy runs, and
 * Parquet goes in and out.
 */
class LocalClusterTest {
  @TempDir static Path temp;
  private static SparkSession spark;

  @BeforeAll
  static void start() throws InterruptedException {
    spark = SparkTesting.localCluster();
    // Executors register asynchronously; wait for both so that both get tasks.
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (spark.sparkContext().statusTracker().getExecutorInfos().length < 3 && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    assertEquals(3, spark.sparkContext().statusTracker().getExecutorInfos().length,
        "the driver and two executors should be up");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
  }

  @Test
  void eachExecutorLoadsTheModelOnceAndMatchesTheReference() {
    Path model = RGemmaSparkTest.idModel(temp.resolve("model"));
    JsonNode expected = Fixtures.expected(Fixtures.dir("tiny-a"));
    String in = temp.resolve("prompts.parquet").toString();
    spark.createDataFrame(RGemmaSparkTest.referenceAndBadRows(expected), RGemmaSparkTest.ID_PROMPTS)
        .repartition(4).write().parquet(in);
    RGemmaOptions options = RGemmaOptions.builder(model.toString())
        .temperature(0).maxTokens(20).maxPromptTokens(30).batchSize(4).build();
    LongAccumulator loads = RGemmaSpark.modelLoads(spark.sparkContext());

    String out = temp.resolve("generated.parquet").toString();
    Dataset<Row> input = spark.read().parquet(in).repartition(4); // small files are read as one split
    RGemmaSpark.generate(input, "prompt", options).write().parquet(out);
    assertEquals(2, loads.value(), "one load in each of the two executor JVMs");
    List<Row> rows = spark.read().parquet(out).collectAsList();
    RGemmaSparkTest.assertReferenceAndBadRows(expected, rows);
    assertTrue(spark.sparkContext().statusTracker().getExecutorInfos().length == 3, "no executor was lost");
  }
}
