package dev.rgemma.cli;

import dev.rgemma.engine.Chat;
import dev.rgemma.engine.GenerationListener;
import dev.rgemma.engine.GenerationOptions;
import dev.rgemma.engine.GenerationResult;
import dev.rgemma.engine.Session;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rgemma generate}: one prompt in, streamed text (or ids) out, a summary on stderr. */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "Generate text from a prompt, streamed to stdout.",
        "The prompt comes from --prompt, the PROMPT arguments, --prompt-ids, or piped stdin. A summary "
            + "(prompt tokens, generated tokens, prefill and decode tok/s, stop reason, position) goes to stderr. "
            + "Generation stops at the end-of-sequence token, <end_of_turn>, a --stop text, --max-tokens "
            + "or Ctrl-C (the summary is still printed and --session saved; a second Ctrl-C ends at once)."},
    footer = {"", "Examples:",
        "  rgemma generate \"Call me Ishmael.\"",
        "  rgemma generate --model DIR --prompt-ids 2,17,42,99,5 --temperature 0 --print-ids",
        "  rgemma generate --session s.rgsession --prompt \"Once upon a time\" --max-tokens 50",
        "  rgemma generate --session s.rgsession --max-tokens 50    # continues the text"})
final class GenerateCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin ModelOptions modelOptions;

  @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt text.")
  String prompt;

  @Parameters(paramLabel = "PROMPT", arity = "0..*",
      description = "The prompt text, as an alternative to --prompt (several words are joined with spaces).")
  List<String> positionalPrompt = new ArrayList<>();

  @Option(names = "--prompt-ids", paramLabel = "IDS",
      description = "The prompt as raw token ids, comma-separated (for models without a tokenizer); "
          + "fed as given (include BOS yourself).")
  String promptIds;

  @Option(names = "--max-tokens", paramLabel = "N",
      description = "Most tokens to generate; 0 only reads the prompt (e.g. into a --session). Default: ${DEFAULT-VALUE}.")
  int maxTokens = 256;

  @Mixin SamplingOptions sampling;

  @Option(names = "--stop", paramLabel = "TEXT",
      description = "Stop when the output contains TEXT (repeatable); the stop text is not printed.")
  List<String> stop = new ArrayList<>();

  @Option(names = "--chat", negatable = true,
      description = "Wrap the prompt in the model's chat template. Default: on for instruction-tuned "
          + "models (their tokenizer has <start_of_turn> and, where the checkpoint has a "
          + "tokenizer_config.json, it names a chat_template), off otherwise.")
  Boolean chat;

  @Option(names = "--print-ids",
      description = "Print the generated token ids, comma-separated, instead of text.")
  boolean printIds;

  @Option(names = "--ignore-eos",
      description = "Do not stop at the end-of-sequence or <end_of_turn> token.")
  boolean ignoreEos;

  @Option(names = "--json",
      description = "JSON mode: the answer is one JSON object (tokens that cannot continue one are never "
          + "chosen; it ends when the object closes). Not with --ignore-eos.")
  boolean json;

  @Option(names = "--json-schema", paramLabel = "FILE",
      description = "JSON mode following the JSON Schema in FILE (type, properties in their order, required, "
          + "additionalProperties: false, items, enum/const of strings, booleans or null; other keywords are "
          + "refused).")
  Path jsonSchema;

  @Option(names = "--session", paramLabel = "FILE",
      description = "Continue from this session file if it exists, and save the session to it afterwards.")
  Path sessionFile;

  InputStream stdin = System.in;
  boolean stdinIsTerminal = System.console() != null && System.console().isTerminal();

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    int sources = (prompt != null ? 1 : 0) + (positionalPrompt.isEmpty() ? 0 : 1) + (promptIds != null ? 1 : 0);
    if (sources > 1) {
      throw new IllegalArgumentException("give the prompt once: --prompt, PROMPT arguments or --prompt-ids");
    }
    if (promptIds != null && Boolean.TRUE.equals(chat)) {
      throw new IllegalArgumentException("--chat needs a text prompt, not --prompt-ids");
    }
    GenerationOptions options = new GenerationOptions(maxTokens, stop, ignoreEos,
        jsonSchema != null ? readSchema(jsonSchema) : json ? dev.rgemma.sampling.JsonSchema.ANY_OBJECT : null);
    try (RecurrentGemmaModel model = modelOptions.load()) {
      TextCodec codec = modelOptions.loadTokenizer(model);
      Session session = new Session(model, codec, sampling.settings());
      SessionStore.loadIfPresent(session, sessionFile, sampling.seed, err);
      int[] input = promptTokens(session, codec);

      AtomicBoolean stop = new AtomicBoolean();
      GenerationResult result;
      try (CtrlC _ = CtrlC.stopOnFirst(stop)) {
        result = session.generate(input, options, new Printer(out, printIds, stop));
      }
      if (printIds || !result.text().isEmpty() && !result.text().endsWith("\n")) {
        out.println();
      }
      out.flush();
      err.println(result.summary() + ", position: " + result.position());
      if (sessionFile != null) {
        SessionStore.save(session, sessionFile, err);
      }
      err.flush();
    }
    return 0;
  }

  private int[] promptTokens(Session session, TextCodec codec) throws IOException {
    if (promptIds != null) {
      return TokenIds.parse("--prompt-ids", promptIds);
    }
    String text = prompt != null ? prompt
        : !positionalPrompt.isEmpty() ? String.join(" ", positionalPrompt)
        : readStdin(session);
    if (text.isEmpty() && !session.isEmpty()) {
      return new int[0]; // continue the session
    }
    if (codec == null) {
      throw new IllegalArgumentException(modelOptions.modelDirectory()
          + " has no tokenizer (tokenizer.json): give the prompt as --prompt-ids");
    }
    boolean useChat = chat != null ? chat : codec.isChatModel();
    if (useChat) {
      return new Chat(session, null).promptFor(text);
    }
    return codec.encode(text, session.isEmpty());
  }

  /** The prompt from stdin; nothing when stdin is a terminal and a session can be continued. */
  private String readStdin(Session session) throws IOException {
    if (stdinIsTerminal) {
      if (!session.isEmpty()) {
        return "";
      }
      throw new IllegalArgumentException("no prompt: give --prompt TEXT, PROMPT, --prompt-ids or pipe it to stdin");
    }
    String text = new String(stdin.readAllBytes(), StandardCharsets.UTF_8);
    return text.endsWith("\r\n") ? text.substring(0, text.length() - 2)
        : text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
  }

  /** Streams text or ids to stdout as they are generated. */
  private static final class Printer implements GenerationListener {
    private final PrintWriter out;
    private final boolean ids;
    private final AtomicBoolean stop;
    private boolean first = true;

    Printer(PrintWriter out, boolean ids, AtomicBoolean stop) {
      this.out = out;
      this.ids = ids;
      this.stop = stop;
    }

    /** Ctrl-C: the generation ends before its next token; the summary and the session follow. */
    @Override
    public boolean cancelled() {
      return stop.get();
    }

    @Override
    public void onToken(int tokenId) {
      if (ids) {
        out.print(first ? String.valueOf(tokenId) : "," + tokenId);
        out.flush();
        first = false;
      }
    }

    @Override
    public void onText(String text) {
      if (!ids) {
        out.print(text);
        out.flush();
      }
    }
  }

  /** The compiled schema in {@code file}; errors name the file. */
  static dev.rgemma.sampling.JsonSchema readSchema(Path file) throws java.io.IOException {
    if (!java.nio.file.Files.isRegularFile(file)) {
      throw new IllegalArgumentException("--json-schema: " + file + " is not a file");
    }
    try {
      return dev.rgemma.sampling.JsonSchema.parse(java.nio.file.Files.readString(file));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--json-schema: " + file + ": " + e.getMessage(), e);
    }
  }
}
