package dev.rgemma.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import dev.rgemma.engine.TokenizerCodec;
import dev.rgemma.io.JsonErrors;
import dev.rgemma.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rgemma tokenize}: text to token ids. */
@Command(
    name = "tokenize",
    mixinStandardHelpOptions = true,
    description = {
      "Turns text into token ids with a Gemma tokenizer (tokenizer.json, tokenizer.model or a GGUF file).",
      "Reads standard input: all of it as one text (ids written on one line, separated",
      "by spaces), or with --jsonl one JSON string per line (one JSON array of ids per",
      "line; a blank line gives [], so output lines match input lines). Special",
      "tokens written in the text (<bos>, <start_of_turn>, ...) become their ids."
    },
    footer = {
      "",
      "Examples:",
      "  echo -n 'Hello world' | rgemma tokenize --tokenizer models/gemma",
      "  printf '\"Hello\"\\n\"<start_of_turn>user\\\\nHi\"\\n' | rgemma tokenize --tokenizer tokenizer.json --jsonl"
    })
public final class TokenizeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--tokenizer",
      required = true,
      paramLabel = "FILE",
      description = "tokenizer.json, tokenizer.model, a model directory holding one of them (tokenizer.json "
          + "preferred), or a GGUF model file from rgemma quantize.")
  Path tokenizer;

  @Option(names = "--jsonl", description = "Read one JSON string per line; write one JSON array of ids per line "
      + "(a blank line gives [], so the output has as many lines as the input).")
  boolean jsonl;

  @Option(
      names = "--no-special",
      description = "Leave out the tokenizer's own special tokens (the BOS that tokenizer.json's post-processor or tokenizer.model adds).")
  boolean noSpecial;

  @Option(names = "--text", paramLabel = "TEXT", description = "Tokenize TEXT instead of reading standard input (not with --jsonl).")
  String text;

  @Option(
      names = "--stats",
      description = "Print to standard error how long loading and encoding took, and the encoding speed in MB/s of UTF-8 input.")
  boolean stats;

  @Option(
      names = "--repeat",
      paramLabel = "N",
      defaultValue = "1",
      description = "Encode the input N times, for timing with --stats (the ids are written once; not with --jsonl). Default: ${DEFAULT-VALUE}.")
  int repeat;

  InputStream stdin = System.in;

  @Override
  public Integer call() throws IOException {
    if (jsonl && text != null) throw new IllegalArgumentException("--text and --jsonl cannot be combined");
    if (repeat < 1) throw new IllegalArgumentException("--repeat must be at least 1, got " + repeat);
    if (jsonl && repeat > 1) throw new IllegalArgumentException("--repeat and --jsonl cannot be combined");
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long start = System.nanoTime();
    long loadCpuStart = threads.getCurrentThreadCpuTime();
    Tokenizer loaded = TokenizerCodec.loadTokenizer(tokenizer);
    if (stats) {
      spec.commandLine().getErr().printf("loaded %s in %.0f ms (%.0f ms CPU)%n", loaded,
          (System.nanoTime() - start) / 1e6, (threads.getCurrentThreadCpuTime() - loadCpuStart) / 1e6);
    }
    PrintWriter out = spec.commandLine().getOut();
    if (!jsonl) {
      String input = text != null ? text : new String(stdin.readAllBytes(), StandardCharsets.UTF_8);
      int[] ids = null;
      for (int run = 1; run <= repeat; run++) {
        long encodeStart = System.nanoTime();
        long cpuStart = threads.getCurrentThreadCpuTime();
        ids = loaded.encode(input, !noSpecial);
        if (stats) {
          // CPU time of this thread: the speed on one core, even when other processes compete.
          double cpuSeconds = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e9;
          double seconds = (System.nanoTime() - encodeStart) / 1e9;
          long bytes = input.getBytes(StandardCharsets.UTF_8).length;
          spec.commandLine().getErr().printf(
              "run %d: %d bytes -> %d tokens in %.1f ms (%.1f ms CPU): %.2f MB/s (%.2f MB/s per CPU second)%n",
              run, bytes, ids.length, seconds * 1e3, cpuSeconds * 1e3, bytes / 1e6 / seconds, bytes / 1e6 / cpuSeconds);
        }
      }
      StringBuilder line = new StringBuilder(ids.length * 6);
      for (int i = 0; i < ids.length; i++) {
        if (i > 0) line.append(' ');
        line.append(ids[i]);
      }
      out.println(line);
      out.flush();
      return 0;
    }
    ObjectMapper json = new ObjectMapper();
    BufferedReader reader = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
    int lineNumber = 0;
    for (String line; (line = reader.readLine()) != null; ) {
      lineNumber++;
      if (line.isBlank()) {
        // An empty result, not nothing: output line N answers input line N.
        out.println("[]");
        continue;
      }
      JsonNode value;
      try {
        value = json.readTree(line);
      } catch (JacksonException e) {
        throw new RgemmaException("stdin line " + lineNumber + ": not JSON: " + JsonErrors.message(e));
      }
      if (value == null || !value.isTextual()) {
        throw new RgemmaException("stdin line " + lineNumber + ": expected a JSON string, got " + abbreviate(line));
      }
      out.println(json.writeValueAsString(loaded.encode(value.asText(), !noSpecial)));
    }
    out.flush();
    return 0;
  }

  static String abbreviate(String line) {
    return line.length() > 60 ? line.substring(0, 57) + "..." : line;
  }
}
