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
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rgemma detokenize}: token ids to text. */
@Command(
    name = "detokenize",
    mixinStandardHelpOptions = true,
    description = {
      "Turns token ids back into text with a Gemma tokenizer (tokenizer.json, tokenizer.model or a GGUF file).",
      "Reads standard input: ids separated by whitespace (the text is written as is),",
      "or with --jsonl one JSON array of ids per line (one JSON string per line; a",
      "blank line gives \"\", so output lines match input lines).",
      "Special tokens (<bos>, <eos>, <end_of_turn>, ...) are left out unless --keep-special is given."
    },
    footer = {
      "",
      "Examples:",
      "  echo '2 9259 1902' | rgemma detokenize --tokenizer models/gemma",
      "  echo '[2, 9259, 1902]' | rgemma detokenize --tokenizer tokenizer.json --jsonl"
    })
public final class DetokenizeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--tokenizer",
      required = true,
      paramLabel = "FILE",
      description = "tokenizer.json, tokenizer.model, a model directory holding one of them (tokenizer.json "
          + "preferred), or a GGUF model file from rgemma quantize.")
  Path tokenizer;

  @Option(names = "--jsonl", description = "Read one JSON array of ids per line; write one JSON string per line "
      + "(a blank line gives \"\", so the output has as many lines as the input).")
  boolean jsonl;

  @Option(names = "--keep-special", description = "Write special tokens as their text instead of leaving them out.")
  boolean keepSpecial;

  InputStream stdin = System.in;

  @Override
  public Integer call() throws IOException {
    Tokenizer loaded = TokenizerCodec.loadTokenizer(tokenizer);
    PrintWriter out = spec.commandLine().getOut();
    if (!jsonl) {
      String input = new String(stdin.readAllBytes(), StandardCharsets.UTF_8).strip();
      String[] words = input.isEmpty() ? new String[0] : input.split("\\s+");
      int[] ids = new int[words.length];
      for (int i = 0; i < words.length; i++) ids[i] = parseId(words[i], "stdin token " + (i + 1), loaded);
      out.print(loaded.decode(ids, !keepSpecial));
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
        out.println("\"\"");
        continue;
      }
      JsonNode value;
      try {
        value = json.readTree(line);
      } catch (JacksonException e) {
        throw new RgemmaException("stdin line " + lineNumber + ": not JSON: " + JsonErrors.message(e));
      }
      if (value == null || !value.isArray()) {
        throw new RgemmaException(
            "stdin line " + lineNumber + ": expected a JSON array of ids, got " + TokenizeCommand.abbreviate(line));
      }
      int[] ids = new int[value.size()];
      for (int i = 0; i < ids.length; i++) {
        JsonNode id = value.get(i);
        if (!id.isIntegralNumber() || !id.canConvertToInt()) {
          throw new RgemmaException("stdin line " + lineNumber + ", element " + (i + 1) + ": " + id + " is not a token id");
        }
        ids[i] = checkRange(id.asInt(), "stdin line " + lineNumber + ", element " + (i + 1), loaded);
      }
      out.println(json.writeValueAsString(loaded.decode(ids, !keepSpecial)));
    }
    out.flush();
    return 0;
  }

  private static int parseId(String word, String where, Tokenizer tokenizer) {
    try {
      return checkRange(Integer.parseInt(word), where, tokenizer);
    } catch (NumberFormatException e) {
      throw new RgemmaException(where + ": \"" + word + "\" is not a token id");
    }
  }

  private static int checkRange(int id, String where, Tokenizer tokenizer) {
    if (id < 0 || id >= tokenizer.vocabSize()) {
      throw new RgemmaException(where + ": token id " + id + " is outside 0.." + (tokenizer.vocabSize() - 1));
    }
    return id;
  }
}
