package dev.rgemma.cli;

import dev.rgemma.engine.Chat;
import dev.rgemma.engine.GenerationListener;
import dev.rgemma.engine.GenerationOptions;
import dev.rgemma.engine.GenerationResult;
import dev.rgemma.engine.Session;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rgemma chat}: an interactive chat. Every turn continues from the carried state, so the
 * conversation is never read again. On a terminal it uses JLine (history, line editing, a
 * trailing backslash continues a message on the next line, Ctrl-C stops the answer); with piped
 * stdin each line is one message.
 */
@Command(
    name = "chat",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "Chat with an instruction-tuned model; each turn continues from the carried state.",
        "Earlier turns are never read again: they live in the model's fixed-size state.",
        "On a terminal: line editing and history; end a line with \\ to continue the message on the "
            + "next line; Ctrl-C stops the current answer, Ctrl-D (or /exit) quits.",
        "With stdin piped: one message per line; a summary of each turn goes to stderr.",
        "Commands: /save FILE, /load FILE, /reset, /stats, /help, /exit."},
    footer = {"", "Examples:",
        "  rgemma chat --system \"Answer in one sentence.\"",
        "  rgemma chat --session talk.rgsession    # resumes the file, saves it on exit",
        "  printf 'Hello\\nTell me more\\n' | rgemma chat --temperature 0"})
final class ChatCommand implements Callable<Integer> {
  static final String HELP = """
      /save FILE   save the conversation (the model state) to FILE
      /load FILE   continue a conversation saved with /save or --session
      /reset       forget the conversation and start over
      /stats       position, state size, speed of the last answer
      /help        this list
      /exit        quit (also /quit, Ctrl-D)
      End a line with \\ to continue the message on the next line.""";

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin ModelOptions modelOptions;

  @Option(names = "--system", paramLabel = "TEXT", description = "System prompt for the conversation.")
  String system;

  @Option(names = "--max-tokens", paramLabel = "N",
      description = "Most tokens per answer. Default: ${DEFAULT-VALUE}.")
  int maxTokens = 1024;

  @Mixin SamplingOptions sampling;

  @Option(names = "--stop", paramLabel = "TEXT",
      description = "End an answer when it contains TEXT (repeatable); the stop text is not printed.")
  List<String> stop = new ArrayList<>();

  @Option(names = "--session", paramLabel = "FILE",
      description = "Continue the conversation saved in FILE if it exists; save it there on exit.")
  Path sessionFile;

  InputStream stdin = System.in;
  boolean stdinIsTerminal = System.console() != null && System.console().isTerminal();

  private Chat chat;
  private GenerationResult last;
  private PrintWriter out;
  private PrintWriter err;
  private final AtomicBoolean interrupted = new AtomicBoolean();

  @Override
  public Integer call() throws IOException {
    out = spec.commandLine().getOut();
    err = spec.commandLine().getErr();
    GenerationOptions options = new GenerationOptions(maxTokens, stop, false);
    try (RecurrentGemmaModel model = modelOptions.load()) {
      TextCodec codec = modelOptions.loadTokenizer(model);
      if (codec == null) {
        throw new IllegalArgumentException(modelOptions.modelDirectory()
            + " has no tokenizer (tokenizer.json): chat needs one");
      }
      Session session = new Session(model, codec, sampling.settings());
      SessionStore.loadIfPresent(session, sessionFile, sampling.seed, err);
      chat = new Chat(session, system);
      if (stdinIsTerminal) {
        interactive(options);
      } else {
        piped(options);
      }
      if (sessionFile != null) {
        SessionStore.save(session, sessionFile, err);
      }
    }
    return 0;
  }

  private void piped(GenerationOptions options) throws IOException {
    BufferedReader reader = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
    for (String line; (line = reader.readLine()) != null; ) {
      if (!handle(line.strip(), options, false)) {
        return;
      }
    }
  }

  private void interactive(GenerationOptions options) throws IOException {
    try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
      terminal.handle(Terminal.Signal.INT, signal -> interrupted.set(true));
      DefaultParser parser = new DefaultParser(); // messages are prose: no escapes, quotes or ! history
      parser.setEscapeChars(null);
      parser.setQuoteChars(new char[0]);
      LineReader reader = LineReaderBuilder.builder()
          .terminal(terminal)
          .appName("rgemma")
          .parser(parser)
          .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true)
          .variable(LineReader.HISTORY_FILE, Path.of(System.getProperty("user.home"), ".rgemma", "chat_history"))
          .build();
      out = new PrintWriter(terminal.writer(), true);
      out.println("rgemma chat: /help for commands, Ctrl-C stops an answer, Ctrl-D quits.");
      while (true) {
        String message;
        try {
          message = readMessage(reader);
        } catch (UserInterruptException e) {
          continue; // Ctrl-C at the prompt clears the line
        } catch (EndOfFileException e) {
          return;
        }
        if (!handle(message.strip(), options, true)) {
          return;
        }
      }
    }
  }

  /** One message; a line ending in a backslash continues on the next one. */
  private static String readMessage(LineReader reader) {
    StringBuilder message = new StringBuilder();
    String line = reader.readLine("> ");
    while (line.endsWith("\\")) {
      message.append(line, 0, line.length() - 1).append('\n');
      line = reader.readLine("… ");
    }
    return message.append(line).toString();
  }

  /** Runs a command or sends a message; false means quit. */
  private boolean handle(String input, GenerationOptions options, boolean interactive) throws IOException {
    if (input.isEmpty()) {
      return true;
    }
    if (input.startsWith("/")) {
      return command(input);
    }
    interrupted.set(false);
    GenerationResult result = chat.send(input, options, new GenerationListener() {
      @Override
      public void onText(String text) {
        out.print(text);
        out.flush();
      }

      @Override
      public boolean cancelled() {
        return interrupted.get();
      }
    });
    last = result;
    out.println(result.stopReason() == dev.rgemma.engine.StopReason.CANCELLED ? " [stopped]" : "");
    out.flush();
    if (!interactive) {
      err.println(result.summary() + ", position: " + result.position());
      err.flush();
    }
    return true;
  }

  private boolean command(String input) throws IOException {
    String[] parts = input.split("\\s+", 2);
    String argument = parts.length > 1 ? parts[1].strip() : "";
    Session session = chat.session();
    switch (parts[0].toLowerCase(Locale.ROOT)) {
      case "/exit", "/quit" -> {
        return false;
      }
      case "/help" -> out.println(HELP);
      case "/reset" -> {
        session.reset();
        last = null;
        out.println("(conversation reset)");
      }
      case "/save" -> {
        if (argument.isEmpty()) {
          out.println("usage: /save FILE");
        } else {
          try {
            SessionStore.save(session, Path.of(argument), out);
          } catch (IOException | RuntimeException e) {
            out.println("rgemma: " + CliErrors.message(e)); // the chat goes on, its session unsaved there
          }
        }
      }
      case "/load" -> {
        if (argument.isEmpty()) {
          out.println("usage: /load FILE");
        } else {
          try {
            session.load(Path.of(argument));
            out.println("(loaded " + argument + ", position " + session.position() + ")");
          } catch (IOException | RuntimeException e) {
            out.println("rgemma: " + CliErrors.message(e));
          }
        }
      }
      case "/stats" -> {
        out.println("position: " + session.position() + " tokens, state: " + session.stateBytes() + " bytes");
        if (last != null) {
          out.println("last answer: " + last.summary());
        }
      }
      default -> out.println("unknown command " + parts[0] + "; /help lists the commands");
    }
    out.flush();
    return true;
  }
}
