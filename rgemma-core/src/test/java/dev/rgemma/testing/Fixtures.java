package dev.rgemma.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.StreamSupport;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.util.Map;
import java.util.stream.Stream;

/** Access to the golden fixtures in test resources (copied from ../shared/fixtures). */
public final class Fixtures {
  private Fixtures() {}

  /** Relative tolerance: max|got - expected| / max|expected|. */
  public static final double TOLERANCE = 2e-5;

  /** {@code "tiny-a"} or {@code "tiny-a/bf16"}. */
  public static Path dir(String name) {
    URL url = Fixtures.class.getResource("/fixtures/" + name + "/config.json");
    if (url == null) {
      throw new IllegalStateException("fixture " + name + " is missing from the test resources");
    }
    try {
      if (url.getProtocol().equals("file")) {
        return Path.of(url.toURI()).getParent();
      }
      return extracted().resolve(name);
    } catch (URISyntaxException | IOException e) {
      throw new IllegalStateException("cannot open fixture " + name, e);
    }
  }

  private static Path extractedRoot;

  /** Fixtures inside a test-jar (other modules' tests): copied once to a temporary directory. */
  private static synchronized Path extracted() throws IOException, URISyntaxException {
    if (extractedRoot == null) {
      URL url = Fixtures.class.getResource("/fixtures/README.md");
      Path target = Files.createTempDirectory("rgemma-fixtures");
      try (FileSystem jar = FileSystems.newFileSystem(url.toURI(), Map.of())) {
        Path root = jar.getPath("/fixtures");
        try (Stream<Path> paths = Files.walk(root)) {
          for (Path p : (Iterable<Path>) paths::iterator) {
            Path destination = target.resolve(root.relativize(p).toString());
            if (Files.isDirectory(p)) {
              Files.createDirectories(destination);
            } else {
              Files.copy(p, destination);
            }
          }
        }
      }
      extractedRoot = target;
    }
    return extractedRoot;
  }

  public static JsonNode expected(Path dir) {
    try {
      return new ObjectMapper().readTree(Files.readString(dir.resolve("expected.json")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static int[] ints(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
  }

  public static Npy.FloatArray npy(Path dir, String file) {
    try {
      return Npy.readFloat32(dir.resolve(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static double relativeError(float[] got, float[] expected) {
    if (got.length != expected.length) {
      throw new AssertionError("length " + got.length + " != expected " + expected.length);
    }
    double maxDiff = 0;
    double maxAbs = 0;
    for (int i = 0; i < got.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((double) got[i] - expected[i]));
      maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
      if (Float.isNaN(got[i])) {
        return Double.POSITIVE_INFINITY;
      }
    }
    return maxDiff / maxAbs;
  }

  public static void assertClose(String what, float[] got, float[] expected) {
    double error = relativeError(got, expected);
    assertTrue(error <= TOLERANCE, what + ": relative error " + error + " > " + TOLERANCE);
  }

  public static void assertSame(String what, int[] got, int[] expected) {
    assertArrayEquals(expected, got, what);
  }

  public static int argmax(float[] values, int offset, int length) {
    int best = offset;
    for (int i = offset + 1; i < offset + length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best - offset;
  }
}
