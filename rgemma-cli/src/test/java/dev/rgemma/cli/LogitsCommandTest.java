package dev.rgemma.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.io.Npy;
import dev.rgemma.testing.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class LogitsCommandTest {
  @TempDir Path temp;

  private int run(StringWriter err, String... args) {
    CommandLine cli = Main.newCommandLine();
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @ParameterizedTest
  @CsvSource({
    "tiny-a, , expected_forward_logits.npy",
    "tiny-a, 1, expected_decode_logits.npy",
    "tiny-a, 7, expected_forward_logits.npy",
    "tiny-a/bf16, , expected_forward_logits.npy",
    "tiny-a/bf16, 1, expected_decode_logits.npy",
  })
  void reproducesReferenceLogits(String fixture, String chunk, String expectedFile) throws Exception {
    Path dir = Fixtures.dir(fixture);
    String ids = Arrays.stream(Fixtures.ints(Fixtures.expected(dir).get("input_tokens")))
        .mapToObj(Integer::toString).collect(Collectors.joining(","));
    Path out = temp.resolve("logits.npy");
    StringWriter err = new StringWriter();
    int code = chunk == null
        ? run(err, "logits", "--model", dir.toString(), "--ids", ids, "--out", out.toString())
        : run(err, "logits", "--model", dir.toString(), "--ids", ids, "--chunk", chunk, "--out", out.toString());
    assertEquals(0, code, err.toString());
    Npy.FloatArray got = Npy.readFloat32(out);
    Npy.FloatArray expected = Fixtures.npy(dir, expectedFile);
    assertEquals(Arrays.toString(expected.shape()), Arrays.toString(got.shape()));
    Fixtures.assertClose(fixture + " chunk " + chunk, got.data(), expected.data());
  }

  @Test
  void badInputGivesOneLineErrorAndNonZeroExit() {
    StringWriter err = new StringWriter();
    int code = run(err, "logits", "--model", temp.resolve("missing").toString(), "--ids", "2,3",
        "--out", temp.resolve("x.npy").toString());
    assertEquals(1, code);
    assertTrue(err.toString().startsWith("rgemma: "), err.toString());
    assertTrue(err.toString().contains("missing"), err.toString());
    assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);

    StringWriter err2 = new StringWriter();
    assertEquals(1, run(err2, "logits", "--model", Fixtures.dir("tiny-a").toString(), "--ids", "2,x",
        "--out", temp.resolve("x.npy").toString()));
    assertTrue(err2.toString().contains("'x' is not a token id"), err2.toString());
  }
}
