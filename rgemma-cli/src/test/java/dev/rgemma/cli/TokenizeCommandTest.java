package dev.rgemma.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The tokenize/detokenize commands on the small Gemma-like SentencePiece model of rgemma-core's
 * tests, checked against SentencePiece's own ids (spm-gemma-like.jsonl).
 */
class TokenizeCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path dir;
  static Path model;
  static List<JsonNode> cases = new ArrayList<>();

  @BeforeAll
  static void copyModel() throws IOException {
    Files.createDirectories(dir.resolve("model-dir"));
    model = dir.resolve("model-dir").resolve("tokenizer.model");
    try (InputStream in = TokenizeCommandTest.class.getResourceAsStream("/tokenizer/gemma-like.model")) {
      Files.copy(in, model);
    }
    try (InputStream in = TokenizeCommandTest.class.getResourceAsStream("/tokenizer/spm-gemma-like.jsonl")) {
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        JsonNode c = JSON.readTree(line);
        if (c.has("text") && cases.size() < 40) cases.add(c);
      }
    }
  }

  record Result(int exitCode, String out, String err) {}

  static Result run(String stdin, String... args) {
    CommandLine cli = Main.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    ByteArrayInputStream in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
    ((TokenizeCommand) cli.getSubcommands().get("tokenize").getCommand()).stdin = in;
    ((DetokenizeCommand) cli.getSubcommands().get("detokenize").getCommand()).stdin = in;
    int code = cli.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void tokenizeJsonlMatchesSentencePiece() throws IOException {
    StringBuilder input = new StringBuilder();
    for (JsonNode c : cases) input.append(JSON.writeValueAsString(c.get("text").asText())).append('\n');
    Result withSpecial = run(input.toString(), "tokenize", "--tokenizer", model.toString(), "--jsonl");
    Result without = run(input.toString(), "tokenize", "--tokenizer", model.getParent().toString(), "--jsonl", "--no-special");
    assertEquals(0, withSpecial.exitCode(), withSpecial.err());
    assertEquals(0, without.exitCode(), without.err());
    String[] linesWith = withSpecial.out().split("\n");
    String[] linesWithout = without.out().split("\n");
    assertEquals(cases.size(), linesWith.length);
    for (int i = 0; i < cases.size(); i++) {
      assertEquals(cases.get(i).get("ids_with_special"), JSON.readTree(linesWith[i]), "line " + (i + 1));
      assertEquals(cases.get(i).get("ids"), JSON.readTree(linesWithout[i]), "line " + (i + 1));
    }
  }

  @Test
  void detokenizeJsonlMatchesSentencePiece() throws IOException {
    StringBuilder input = new StringBuilder();
    for (JsonNode c : cases) input.append(c.get("ids_with_special").toString()).append('\n');
    Result result = run(input.toString(), "detokenize", "--tokenizer", model.toString(), "--jsonl");
    assertEquals(0, result.exitCode(), result.err());
    String[] lines = result.out().split("\n");
    assertEquals(cases.size(), lines.length);
    for (int i = 0; i < cases.size(); i++) {
      assertEquals(cases.get(i).get("decoded").asText(), JSON.readTree(lines[i]).asText(), "line " + (i + 1));
    }
  }

  @Test
  void plainTextInSpaceSeparatedIdsOutAndBack() {
    JsonNode c = cases.get(0);
    Result ids = run(c.get("text").asText(), "tokenize", "--tokenizer", model.toString());
    assertEquals(0, ids.exitCode(), ids.err());
    StringBuilder expected = new StringBuilder();
    for (JsonNode id : c.get("ids_with_special")) expected.append(expected.isEmpty() ? "" : " ").append(id.asInt());
    assertEquals(expected + System.lineSeparator(), ids.out());
    Result text = run(ids.out(), "detokenize", "--tokenizer", model.toString());
    assertEquals(c.get("decoded").asText(), text.out());
    Result kept = run(ids.out(), "detokenize", "--tokenizer", model.toString(), "--keep-special");
    assertTrue(kept.out().startsWith("<bos>"), kept.out());
    Result fromOption = run("", "tokenize", "--tokenizer", model.toString(), "--text", c.get("text").asText());
    assertEquals(ids.out(), fromOption.out());
  }

  /** --jsonl: a blank input line gives an empty result line, so output line N answers input line N. */
  @Test
  void blankJsonlLinesGiveEmptyResultLines() {
    Result ids = run("\"ab\"\n\n  \n\"ab\"\n", "tokenize", "--tokenizer", model.toString(), "--jsonl");
    assertEquals(0, ids.exitCode(), ids.err());
    List<String> lines = ids.out().lines().toList();
    assertEquals(4, lines.size(), ids.out());
    assertEquals(List.of("[]", "[]"), lines.subList(1, 3));
    assertEquals(lines.get(0), lines.get(3));
    Result text = run(ids.out(), "detokenize", "--tokenizer", model.toString(), "--jsonl");
    assertEquals(0, text.exitCode(), text.err());
    List<String> texts = text.out().lines().toList();
    assertEquals(4, texts.size(), text.out());
    assertEquals(List.of("\"\"", "\"\""), texts.subList(1, 3));
    assertEquals(texts.get(0), texts.get(3));
    Result blank = run("[2]\n\n", "detokenize", "--tokenizer", model.toString(), "--jsonl");
    assertEquals(2, blank.out().lines().count(), blank.out());
  }

  @Test
  void userErrorsPrintOneLineAndExitOne() {
    Result badJson = run("\"ok\"\n{not json\n", "tokenize", "--tokenizer", model.toString(), "--jsonl");
    assertEquals(1, badJson.exitCode());
    assertTrue(badJson.err().startsWith("rgemma: stdin line 2: not JSON"), badJson.err());
    Result notString = run("[1, 2]\n", "tokenize", "--tokenizer", model.toString(), "--jsonl");
    assertEquals(1, notString.exitCode());
    assertTrue(notString.err().contains("expected a JSON string"), notString.err());
    Result badId = run("[1, 99999]\n", "detokenize", "--tokenizer", model.toString(), "--jsonl");
    assertEquals(1, badId.exitCode());
    assertTrue(badId.err().contains("token id 99999 is outside 0..1999"), badId.err());
    Result missing = run("", "tokenize", "--tokenizer", dir.resolve("nope.model").toString());
    assertEquals(1, missing.exitCode());
    assertTrue(missing.err().startsWith("rgemma: ") && missing.err().contains("nope.model"), missing.err());
    Result empty = run("", "tokenize", "--tokenizer", dir.toString());
    assertEquals(1, empty.exitCode());
    assertTrue(empty.err().contains("neither tokenizer.json nor tokenizer.model"), empty.err());
  }
}
