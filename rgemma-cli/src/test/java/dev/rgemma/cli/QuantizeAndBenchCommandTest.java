package dev.rgemma.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.io.GgufFile;
import dev.rgemma.io.Npy;
import dev.rgemma.tensor.DType;
import dev.rgemma.testing.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class QuantizeAndBenchCommandTest {
  @TempDir Path temp;

  private int run(StringWriter out, StringWriter err, String... args) {
    CommandLine cli = Main.newCommandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @Test
  void quantizedModelRunsThroughLogits() throws Exception {
    Path dir = Fixtures.dir("tiny-a");
    Path gguf = temp.resolve("tiny.gguf");
    StringWriter err = new StringWriter();
    assertEquals(0, run(new StringWriter(), err, "quantize", "--model", dir.toString(), "--type", "f32",
        "--out", gguf.toString()), err.toString());
    assertTrue(err.toString().contains("100%"), "progress bar reaches 100%: " + err);
    try (GgufFile file = GgufFile.open(gguf)) {
      assertEquals(DType.F32, file.tensors().get("model.embed_tokens.weight").dtype());
    }
    String ids = Arrays.stream(Fixtures.ints(Fixtures.expected(dir).get("input_tokens")))
        .mapToObj(Integer::toString).collect(Collectors.joining(","));
    Path out = temp.resolve("logits.npy");
    assertEquals(0, run(new StringWriter(), err, "logits", "--model", gguf.toString(), "--ids", ids,
        "--out", out.toString()), err.toString());
    Fixtures.assertClose("f32 gguf logits", Npy.readFloat32(out).data(),
        Fixtures.npy(dir, "expected_forward_logits.npy").data());

    Path q4 = temp.resolve("tiny-q4.gguf");
    assertEquals(0, run(new StringWriter(), err, "quantize", "--model", gguf.toString(), "--type", "Q4_0",
        "--out", q4.toString()), err.toString());
    try (GgufFile file = GgufFile.open(q4)) {
      assertEquals(DType.Q4_0, file.tensors().get("model.layers.0.temporal_block.linear_out.weight").dtype());
    }
  }

  /** The tiny fixture with a tokenizer in {@code model}, quantized by the CLI to {@code model}.gguf. */
  private static Path quantizedWithTokenizer(Path model, String type) {
    dev.rgemma.testing.TinyTokenizer.fixtureModelWithTokenizer(model);
    Path gguf = model.resolveSibling(model.getFileName() + ".gguf");
    CliRun quantize = CliRun.run("", "quantize", "--model", model.toString(), "--type", type, "--out", gguf.toString());
    assertEquals(0, quantize.exitCode(), quantize.toString());
    return gguf;
  }

  /** tokenize and detokenize take a GGUF file as the tokenizer: the same ids and text as its tokenizer.json. */
  @Test
  void tokenizeAndDetokenizeReadTheTokenizerInAGgufFile() {
    Path model = temp.resolve("tok-model");
    Path gguf = quantizedWithTokenizer(model, "q8_0");
    String text = "the cat sat on the mat";
    CliRun fromJson = CliRun.run("", "tokenize", "--tokenizer", model.resolve("tokenizer.json").toString(), "--text", text);
    CliRun fromGguf = CliRun.run("", "tokenize", "--tokenizer", gguf.toString(), "--text", text);
    assertEquals(0, fromGguf.exitCode(), fromGguf.toString());
    assertFalse(fromGguf.out().isBlank(), fromGguf.toString());
    assertEquals(fromJson.out(), fromGguf.out());
    CliRun back = CliRun.run(fromGguf.out(), "detokenize", "--tokenizer", gguf.toString());
    CliRun backJson = CliRun.run(fromJson.out(), "detokenize", "--tokenizer", model.toString());
    assertEquals(0, back.exitCode(), back.toString());
    assertEquals(backJson.out(), back.out());
    // A GGUF file without a tokenizer is named in a one-line error.
    Path bare = temp.resolve("bare.gguf");
    assertEquals(0, CliRun.run("", "quantize", "--model", Fixtures.dir("tiny-a").toString(), "--type", "f32", "--out",
        bare.toString()).exitCode());
    CliRun none = CliRun.run("", "tokenize", "--tokenizer", bare.toString(), "--text", text);
    assertEquals(1, none.exitCode(), none.toString());
    assertTrue(none.err().contains(bare.toString()) && none.err().contains("no tokenizer"), none.toString());
  }

  /** The tokenizer travels inside the GGUF file: generate from the .gguf equals generate from the directory. */
  @Test
  void ggufModelGeneratesTextWithItsEmbeddedTokenizer() {
    Path model = temp.resolve("model");
    Path gguf = quantizedWithTokenizer(model, "f32");
    CliRun fromDirectory = CliRun.run("", "generate", "--model", model.toString(), "--prompt", "the", "--no-chat",
        "--max-tokens", "4", "--temperature", "0");
    CliRun fromGguf = CliRun.run("", "generate", "--model", gguf.toString(), "--prompt", "the", "--no-chat",
        "--max-tokens", "4", "--temperature", "0");
    assertEquals(0, fromGguf.exitCode(), fromGguf.toString());
    assertEquals(fromDirectory.out(), fromGguf.out());
    assertFalse(fromGguf.out().isBlank(), fromGguf.toString());
  }

  /**
   * GGUF to GGUF keeps every metadata key but the weight type: the tokenizer, tokenizer_config.json
   * (which decides the chat-template default) and general.name.
   */
  @Test
  void ggufToGgufKeepsAllMetadata() throws Exception {
    Path model = temp.resolve("meta-model");
    dev.rgemma.testing.TinyTokenizer.fixtureModelWithTokenizer(model);
    Files.writeString(model.resolve("tokenizer_config.json"), "{\"chat_template\": null}");
    Path q8 = temp.resolve("q8.gguf");
    CliRun first = CliRun.run("", "quantize", "--model", model.toString(), "--type", "q8_0", "--out", q8.toString());
    assertEquals(0, first.exitCode(), first.toString());
    Path f32 = temp.resolve("f32.gguf");
    CliRun second = CliRun.run("", "quantize", "--model", q8.toString(), "--type", "f32", "--out", f32.toString());
    assertEquals(0, second.exitCode(), second.toString());
    try (GgufFile source = GgufFile.open(q8); GgufFile copy = GgufFile.open(f32)) {
      assertTrue(source.metadata().containsKey("rgemma.tokenizer.huggingface_config_json"));
      assertEquals("meta-model", copy.requireString("general.name"));
      for (var e : source.metadata().entrySet()) {
        if (!e.getKey().equals("general.file_type")) {
          assertEquals(e.getValue(), copy.metadata().get(e.getKey()), e.getKey());
        }
      }
      assertEquals(source.metadata().keySet(), copy.metadata().keySet());
      assertEquals(0, copy.require("general.file_type").asLong());
    }
  }

  /** An --out that cannot become a file is refused at once, before any conversion. */
  @Test
  void quantizeRefusesADirectoryOrAMissingDirectoryAsOutput() throws Exception {
    String model = Fixtures.dir("tiny-a").toString();
    CliRun directory = CliRun.run("", "quantize", "--model", model, "--type", "f32", "--out", temp.toString());
    assertEquals(1, directory.exitCode(), directory.toString());
    assertEquals("rgemma: --out " + temp + ": is a directory, expected a file path", directory.err().strip());
    Path orphan = temp.resolve("no/such/out.gguf");
    CliRun missing = CliRun.run("", "quantize", "--model", model, "--type", "f32", "--out", orphan.toString());
    assertEquals(1, missing.exitCode(), missing.toString());
    assertEquals("rgemma: --out " + orphan + ": directory " + orphan.getParent() + " does not exist",
        missing.err().strip());
    try (var files = Files.list(temp)) {
      assertEquals(0, files.count(), "nothing written");
    }
  }

  @Test
  void quantizeRejectsBadArguments() {
    StringWriter err = new StringWriter();
    assertEquals(1, run(new StringWriter(), err, "quantize", "--model", Fixtures.dir("tiny-a").toString(),
        "--type", "q5_k", "--out", temp.resolve("x.gguf").toString()));
    assertTrue(err.toString().startsWith("rgemma: --type must be one of"), err.toString());
    assertFalse(Files.exists(temp.resolve("x.gguf")));
  }

  @Test
  void benchPrintsOneJsonLine() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    Path config = Fixtures.dir("tiny-a").resolve("config.json");
    int code = run(out, err, "bench", "--config", config.toString(), "--type", "q8_0", "--prompt-tokens", "9",
        "--gen-tokens", "3", "--late-position", "20", "--threads", "2", "--no-probe",
        "--cache-dir", temp.toString());
    assertEquals(0, code, err.toString());
    String[] lines = out.toString().strip().split("\n");
    assertEquals(1, lines.length, out.toString());
    JsonNode json = new ObjectMapper().readTree(lines[0]);
    assertEquals("q8_0", json.get("type").asText());
    assertEquals(2, json.get("threads").asInt());
    assertTrue(json.get("prefill_tok_s").asDouble() > 0);
    assertTrue(json.get("decode_tok_s").asDouble() > 0);
    assertTrue(json.get("decode_tok_s_late").asDouble() > 0);
    assertTrue(json.get("decode_efficiency").isNull());
    assertTrue(json.get("measured_gb_s").isNull());
    assertTrue(json.get("measured_gb_s_interleaved_mean").isNull());
    assertTrue(json.get("bandwidth_probe").isNull());
    assertEquals(0, json.get("interleaved_passes").asInt());
    // tiny-a: 4 recurrent layers (conv window 3 x 64 and h 64 floats), 2 attention layers (window
    // 8, head dimension 12, keys and values stored by groups of 16 columns: 16 x 12 + 16 x 8).
    assertEquals(4 * (3 * 64 + 64) * 4 + 2 * (16 * 12 + 16 * 8) * 4, json.get("state_bytes").asLong());
    // The weights file holds every tensor that is read per token, plus header and padding.
    long fileBytes = json.get("weights_file_bytes").asLong();
    long perToken = json.get("weight_bytes_per_token").asLong();
    assertTrue(perToken <= fileBytes && perToken > fileBytes * 0.9, perToken + " vs " + fileBytes);
  }
}
