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

  /** --out is checked before the model is loaded: a missing directory or a directory is named. */
  @Test
  void anUnwritableOutputIsNamedBeforeLoading() {
    Path orphan = temp.resolve("no/dir/l.npy");
    StringWriter err = new StringWriter();
    assertEquals(1, run(err, "logits", "--model", temp.resolve("missing").toString(), "--ids", "2,5",
        "--out", orphan.toString()));
    assertEquals("rgemma: --out " + orphan + ": directory " + orphan.getParent() + " does not exist",
        err.toString().strip());
    StringWriter err2 = new StringWriter();
    assertEquals(1, run(err2, "logits", "--model", Fixtures.dir("tiny-a").toString(), "--ids", "2,5",
        "--out", temp.toString()));
    assertEquals("rgemma: --out " + temp + ": is a directory, expected a file path", err2.toString().strip());
  }

  /** java.nio.file exceptions carry only the path in their message: the reason is said in words. */
  @Test
  void fileSystemErrorsNameThePathAndTheReason() throws Exception {
    Path missing = temp.resolve("gone.txt");
    assertEquals("no such file: " + missing, CliErrors.message(new java.nio.file.NoSuchFileException(missing.toString())));
    Path orphan = temp.resolve("no/dir/l.npy");
    assertEquals("directory does not exist: " + orphan.getParent() + " (for " + orphan + ")",
        CliErrors.message(new java.nio.file.NoSuchFileException(orphan.toString())));
    assertEquals(missing + ": session file not found",
        CliErrors.message(new java.nio.file.NoSuchFileException(missing.toString(), null, "session file not found")));
    assertEquals("permission denied: /root/x",
        CliErrors.message(new java.nio.file.AccessDeniedException("/root/x")));
    assertEquals("/tmp: is a directory",
        CliErrors.message(new java.io.UncheckedIOException(new java.nio.file.FileSystemException("/tmp", null, "Is a directory"))));
    assertEquals("not a directory: /etc/passwd/x",
        CliErrors.message(new java.nio.file.NotDirectoryException("/etc/passwd/x")));
    Exception json = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
        () -> new com.fasterxml.jackson.databind.ObjectMapper().readTree("{\"a\": 1,,}"));
    assertEquals("invalid JSON: line 1, column 9: Unexpected character (',' (code 44)): "
        + "was expecting double-quote to start field name", CliErrors.message(json));
  }
}
