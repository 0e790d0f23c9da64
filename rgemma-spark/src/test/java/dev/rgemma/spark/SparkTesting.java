package dev.rgemma.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

/** Spark sessions for the tests: small, quiet, without UI. */
final class SparkTesting {
  private SparkTesting() {}

  /** {@code local[2]}: one JVM, two task threads. */
  static SparkSession local() {
    return base("local[2]").getOrCreate();
  }

  /**
   * {@code local-cluster[2,1,1024]}: a master and two workers in this JVM, each running one
   * executor in its own JVM (1 core, 1 GB). The executors get this JVM's class path and flags; the
   * Spark home (SPARK_HOME, set by the build) only needs an empty jars/ folder.
   */
  static SparkSession localCluster() {
    String sparkHome = System.getenv("SPARK_HOME");
    if (sparkHome == null) {
      throw new IllegalStateException("SPARK_HOME is not set: run the tests through Maven (rgemma-spark/pom.xml sets it)");
    }
    try {
      Files.createDirectories(Path.of(sparkHome, "jars"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    return base("local-cluster[2,1,1024]")
        .config("spark.executor.extraClassPath", classPath)
        .config("spark.executor.extraJavaOptions", System.getProperty("spark.jvm.flags", "") + " -XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .getOrCreate();
  }

  private static SparkSession.Builder base(String master) {
    return SparkSession.builder()
        .master(master)
        .appName("rgemma-spark-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.locality.wait", "0") // tiny tasks: run them wherever a core is free
        // tiny data: interpreted plans start faster than compiled ones on a small machine
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1");
  }
}
