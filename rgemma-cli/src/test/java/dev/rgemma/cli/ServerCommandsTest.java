package dev.rgemma.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.testing.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ServerCommandsTest {
  @TempDir Path temp;

  private int run(StringWriter out, StringWriter err, String... args) {
    CommandLine cli = Main.newCommandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @Test
  void benchPrintsOneRowPerBatchSize() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = run(out, err, "bench-batch", "--model", Fixtures.dir("tiny-a").toString(), "--parallel", "1,3",
        "--tokens", "2");
    assertEquals(0, code, err.toString());
    List<String> rows = Arrays.stream(out.toString().split("\n")).filter(l -> l.matches("\\s+\\d+\\s+2\\s+.*")).toList();
    assertEquals(2, rows.size(), out.toString());
    assertTrue(rows.get(0).trim().startsWith("1 ") && rows.get(1).trim().startsWith("3 "), out.toString());
    // Timing starts after a warm-up of two to six rounds.
    assertTrue(out.toString().matches("(?s).*\nwarm-up: [2-6] rounds\n.*"), out.toString());
    for (String row : rows) {
      double aggregate = Double.parseDouble(row.trim().split("\\s+")[3]);
      assertTrue(aggregate > 0, row);
    }
  }

  @Test
  void serveHelpListsTheEndpointsAndLimits() {
    StringWriter out = new StringWriter();
    assertEquals(0, run(out, new StringWriter(), "serve", "--help"));
    String help = out.toString().replaceAll("\\s+", " ");
    for (String text : List.of("POST /tokenize", "POST /detokenize", "GET /metrics", "--max-tokens-limit",
        "runs to its end", "503")) {
      assertTrue(help.contains(text), text + " in " + help);
    }
  }

  @Test
  void serveRejectsBadOptionsWithOneLine() {
    StringWriter err = new StringWriter();
    assertEquals(1, run(new StringWriter(), err, "serve", "--model", temp.resolve("missing").toString()));
    assertTrue(err.toString().startsWith("rgemma: ") && err.toString().contains("missing"), err.toString());
    StringWriter err2 = new StringWriter();
    assertEquals(1, run(new StringWriter(), err2, "serve", "--model", temp.toString(), "--cache-mib", "-1"));
    assertTrue(err2.toString().startsWith("rgemma: --cache-mib"), err2.toString());
    // Each refused option is named as it is spelled on the command line (checked before the model loads).
    String[][] refused = {
      {"--max-body-bytes", "0"},
      {"--model-name", ""},
      {"--model-name", "  "},
      {"--max-tokens-limit", "0"},
      {"--max-tokens", "0"},
      {"--prefill-chunk", "0"},
      {"--cache-mib", "9223372036854775807"},
    };
    for (String[] option : refused) {
      StringWriter err4 = new StringWriter();
      assertEquals(1, run(new StringWriter(), err4, "serve", "--model", temp.toString(), option[0], option[1]),
          String.join(" ", option));
      assertTrue(err4.toString().startsWith("rgemma: " + option[0] + " "), err4.toString());
      assertEquals(1, err4.toString().strip().lines().count(), err4.toString());
    }
    StringWriter err5 = new StringWriter();
    assertEquals(1, run(new StringWriter(), err5, "serve", "--model", temp.toString(), "--max-tokens", "100",
        "--max-tokens-limit", "50"));
    assertTrue(err5.toString().startsWith("rgemma: --max-tokens (100) must not exceed --max-tokens-limit (50)"),
        err5.toString());
    // A limit under the default --max-tokens, given alone, lowers the default with it: the options
    // pass and the command goes on to the model (which this directory is not).
    StringWriter err7 = new StringWriter();
    assertEquals(1, run(new StringWriter(), err7, "serve", "--model", temp.toString(), "--max-tokens-limit", "100"));
    assertTrue(!err7.toString().contains("--max-tokens") && err7.toString().contains(temp.toString()), err7.toString());
    StringWriter err6 = new StringWriter();
    assertEquals(1, run(new StringWriter(), err6, "serve", "--model", "/"));
    assertTrue(err6.toString().startsWith("rgemma: --model / has no name") && err6.toString().contains("--model-name"),
        err6.toString());
    StringWriter err3 = new StringWriter();
    assertEquals(1, run(new StringWriter(), err3, "bench-batch", "--model", temp.toString(), "--parallel", "0"));
    assertTrue(err3.toString().startsWith("rgemma: --parallel"), err3.toString());
  }
}
