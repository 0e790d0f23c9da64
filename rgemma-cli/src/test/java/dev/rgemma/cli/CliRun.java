package dev.rgemma.cli;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** Runs the rgemma command line in-process with captured stdout/stderr and a given stdin. */
record CliRun(int exitCode, String out, String err) {

  static CliRun run(String stdin, String... args) {
    CommandLine cli = Main.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    byte[] input = stdin.getBytes(StandardCharsets.UTF_8);
    GenerateCommand generate = cli.getSubcommands().get("generate").getCommand();
    generate.stdin = new ByteArrayInputStream(input);
    generate.stdinIsTerminal = false;
    ChatCommand chat = cli.getSubcommands().get("chat").getCommand();
    chat.stdin = new ByteArrayInputStream(input);
    chat.stdinIsTerminal = false;
    ((TokenizeCommand) cli.getSubcommands().get("tokenize").getCommand()).stdin = new ByteArrayInputStream(input);
    ((DetokenizeCommand) cli.getSubcommands().get("detokenize").getCommand()).stdin = new ByteArrayInputStream(input);
    int code = cli.execute(args);
    return new CliRun(code, out.toString(), err.toString());
  }

  /** Every value of {@code name: <int>} in the summaries on stderr, in order. */
  List<Integer> summaryValues(String name) {
    List<Integer> values = new ArrayList<>();
    Matcher m = Pattern.compile(Pattern.quote(name) + ": (\\d+)").matcher(err);
    while (m.find()) {
      values.add(Integer.parseInt(m.group(1)));
    }
    return values;
  }

  /** Every stop reason in the summaries on stderr, in order. */
  List<String> stopReasons() {
    List<String> values = new ArrayList<>();
    Matcher m = Pattern.compile("stop: ([a-z-]+)").matcher(err);
    while (m.find()) {
      values.add(m.group(1));
    }
    return values;
  }

  @Override
  public String toString() {
    return "exit " + exitCode + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
  }
}
