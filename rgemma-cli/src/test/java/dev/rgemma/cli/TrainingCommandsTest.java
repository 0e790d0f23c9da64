package dev.rgemma.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** train-tokenizer, train (and resume) and perplexity chained on a tiny model, end to end. */
class TrainingCommandsTest {
  @TempDir Path temp;

  private record Result(int code, String out, String err) {}

  private Result run(String... args) {
    CommandLine cli = Main.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void tokenizerTrainingAndPerplexityChain() throws Exception {
    Path text = temp.resolve("text.txt");
    Files.writeString(text, """
        Call me Ishmael. Some years ago, never mind how long precisely, having little or no
        money in my purse, and nothing particular to interest me on shore, I thought I would
        sail about a little and see the watery part of the world.
        """.repeat(6));
    Path tok = temp.resolve("tok");
    Result r = run("train-tokenizer", "--input", text.toString(), "--vocab-size", "300",
        "--out", tok.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(Files.isRegularFile(tok.resolve("tokenizer.json")));

    Path model = temp.resolve("model");
    String[] common = {"--input", text.toString(), "--eval", text.toString(), "--tokenizer",
        tok.toString(), "--out", model.toString(), "--width", "16", "--heads", "2", "--layers", "3",
        "--window", "4", "--seq-len", "16", "--batch", "2", "--steps", "4", "--warmup", "1",
        "--eval-every", "2", "--eval-windows", "2", "--threads", "1", "--seed", "3"};
    r = run(concat(new String[] {"train"}, common));
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("step 4/4"), r.err());
    assertTrue(r.err().contains("held-out text.txt"), r.err());
    for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json",
        "optimizer.safetensors", "trainer_state.json"}) {
      assertTrue(Files.isRegularFile(model.resolve(f)), f);
    }

    r = run("perplexity", "--model", model.toString(), "--file", text.toString(), "--context", "32");
    assertEquals(0, r.code(), r.err());
    JsonNode json = new ObjectMapper().readTree(r.out());
    assertTrue(json.get("tokens").asInt() > 100);
    double nll = json.get("mean_nll").asDouble();
    assertTrue(nll > 0 && nll < Math.log(300) + 1, "mean NLL " + nll);
    assertEquals(Math.exp(nll), json.get("perplexity").asDouble(), 1e-9 * Math.exp(nll));
    assertTrue(json.get("bits_per_byte").asDouble() > 0);

    // The same model as an f32 GGUF file (its tokenizer in the metadata) scores the same, bit for bit.
    Path gguf = temp.resolve("model.gguf");
    r = run("quantize", "--model", model.toString(), "--type", "f32", "--out", gguf.toString());
    assertEquals(0, r.code(), r.err());
    r = run("perplexity", "--model", gguf.toString(), "--file", text.toString(), "--context", "32");
    assertEquals(0, r.code(), r.err());
    JsonNode fromGguf = new ObjectMapper().readTree(r.out());
    assertEquals(json.get("tokens"), fromGguf.get("tokens"));
    assertEquals(nll, fromGguf.get("mean_nll").asDouble());

    // Resume to a longer schedule: the step counter continues.
    r = run(concat(new String[] {"train", "--resume", model.toString()},
        replace(common, "--steps", "6")));
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("steps 4..6"), r.err());
  }

  @Test
  void userMistakesGiveOneLine() throws Exception {
    Path text = Files.writeString(temp.resolve("x.txt"), "Call me Ishmael.");
    Result r = run("perplexity", "--model", temp.resolve("missing").toString(), "--file", text.toString());
    assertEquals(1, r.code());
    assertTrue(r.err().startsWith("rgemma: ") && r.err().contains("missing"), r.err());
    r = run("perplexity", "--model", temp.resolve("missing").toString(), "--file", temp.resolve("absent.txt").toString());
    assertEquals(1, r.code());
    assertEquals("rgemma: no such file: " + temp.resolve("absent.txt"), r.err().strip());
    r = run("perplexity", "--model", temp.resolve("missing").toString(), "--file", temp.toString());
    assertEquals(1, r.code());
    assertEquals("rgemma: --file " + temp + ": is a directory, expected a file", r.err().strip());
    r = run("train", "--input", "x.txt", "--out", temp.toString(), "--tokenizer", temp.toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains("tokenizer.json"), r.err());
    // An --out that is a file fails before any training, naming the option and the path.
    r = run("train", "--input", text.toString(), "--out", text.toString(), "--tokenizer", temp.toString());
    assertEquals(1, r.code());
    assertEquals("rgemma: --out " + text + ": is a file, expected a directory", r.err().strip());
    r = run("train-tokenizer", "--input", text.toString(), "--out", text.toString(), "--vocab-size", "300");
    assertEquals(1, r.code());
    assertEquals("rgemma: --out " + text + ": is a file, expected a directory", r.err().strip());
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static String[] replace(String[] args, String option, String value) {
    String[] out = args.clone();
    for (int i = 0; i + 1 < out.length; i++) {
      if (out[i].equals(option)) {
        out[i + 1] = value;
      }
    }
    return out;
  }
}
