package dev.rgemma.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.testing.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Bad values of the kernels' JVM properties are one-line errors, not stack traces or fallbacks. */
class KernelPropertiesTest {
  private static String runWith(String property, String value, int expectedCode) {
    String before = System.getProperty(property);
    System.setProperty(property, value);
    try {
      CommandLine cli = Main.newCommandLine();
      StringWriter err = new StringWriter();
      cli.setOut(new PrintWriter(new StringWriter(), true));
      cli.setErr(new PrintWriter(err, true));
      int code = cli.execute("generate", "--model", Fixtures.dir("tiny-a").toString(), "--max-tokens", "1", "--prompt-ids", "1");
      assertEquals(expectedCode, code, err.toString());
      return err.toString();
    } finally {
      if (before == null) {
        System.clearProperty(property);
      } else {
        System.setProperty(property, before);
      }
    }
  }

  @Test
  void badTouchAheadValueIsOneLine() {
    String err = runWith("rgemma.touchAhead", "sometimes", 1);
    assertTrue(err.startsWith("rgemma: -Drgemma.touchAhead=sometimes: expected 'auto', 'on' or 'off'"), err);
    assertFalse(err.contains("\tat "), err);
  }

  @Test
  void badKernelsValueIsOneLine() {
    String err = runWith("rgemma.kernels", "gpu", 1);
    assertTrue(err.startsWith("rgemma: -Drgemma.kernels=gpu: expected 'scalar', 'vector' or 'auto'"), err);
    assertFalse(err.contains("\tat "), err);
  }

  @Test
  void validValuesRun() {
    runWith("rgemma.touchAhead", "off", 0);
  }
}
