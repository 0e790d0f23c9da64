package dev.rgemma.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code rgemma --help} lists each command with the first line of its description (or its header):
 * that line must be a whole sentence, not the start of one cut off at a line break.
 */
class HelpSummaryTest {

  @Test
  void everyCommandSummaryIsAWholeSentence() {
    Map<String, CommandLine> commands = Main.newCommandLine().getSubcommands();
    assertFalse(commands.isEmpty());
    for (Map.Entry<String, CommandLine> command : commands.entrySet()) {
      CommandLine.Model.UsageMessageSpec usage = command.getValue().getCommandSpec().usageMessage();
      String[] lines = usage.header().length > 0 ? usage.header() : usage.description();
      assertTrue(lines.length > 0, command.getKey() + " has no description");
      String summary = lines[0].trim();
      assertTrue(summary.endsWith("."), command.getKey() + "'s summary line is cut off: \"" + summary + "\"");
    }
  }

  /**
   * picocli formats every help line with {@link String#format}: a lone {@code %} (as in "5 %")
   * makes it print a warning on stderr with each {@code --help} and show the line unformatted.
   */
  @Test
  void everyHelpLineIsAValidFormat() {
    Map<String, CommandLine> commands = new java.util.LinkedHashMap<>(Main.newCommandLine().getSubcommands());
    commands.put("rgemma", Main.newCommandLine());
    for (Map.Entry<String, CommandLine> command : commands.entrySet()) {
      CommandLine.Model.CommandSpec spec = command.getValue().getCommandSpec();
      java.util.List<String> lines = new java.util.ArrayList<>();
      lines.addAll(java.util.List.of(spec.usageMessage().header()));
      lines.addAll(java.util.List.of(spec.usageMessage().description()));
      lines.addAll(java.util.List.of(spec.usageMessage().footer()));
      for (CommandLine.Model.OptionSpec option : spec.options()) {
        lines.addAll(java.util.List.of(option.description()));
      }
      for (String line : lines) {
        try {
          String.format(line);
        } catch (java.util.IllegalFormatException e) {
          throw new AssertionError(command.getKey() + ": help line is not a valid format (" + e + "): " + line);
        }
      }
    }
  }

  /** rgemma.jar's manifest gives the version; compiled classes (as in this test) have none: "dev". */
  @Test
  void versionIsTheManifestsOrDev() {
    assertEquals("rgemma 0.1.0 (Java " + Runtime.version() + ")", Main.Version.line("0.1.0"));
    CliRun top = CliRun.run("", "--version");
    assertEquals(0, top.exitCode(), top.toString());
    assertEquals(Main.Version.line(Main.class.getPackage().getImplementationVersion()), top.out().strip());
    CliRun sub = CliRun.run("", "generate", "--version");
    assertEquals(top.out(), sub.out(), "every command's --version prints rgemma's");
  }

  @Test
  void theTopLevelHelpShowsEachSummaryWhole() {
    CliRun run = CliRun.run("", "--help");
    assertTrue(run.exitCode() == 0, run.toString());
    // The summaries of commands whose descriptions once broke mid-sentence.
    String help = run.out().replaceAll("\\s+", " ");
    assertTrue(help.contains("Convert a model to a GGUF v3 file with the chosen weight type."), help);
    assertTrue(help.contains("Benchmark a synthetic model with the exact shapes of a config."), help);
    assertTrue(help.contains("Turns text into token ids with a Gemma tokenizer"), help);
    // serve's summary lists every endpoint the server has.
    for (String endpoint : java.util.List.of("POST /v1/chat/completions", "POST /v1/completions", "GET /v1/models",
        "POST /tokenize", "POST /detokenize", "GET /health", "GET /metrics")) {
      assertTrue(help.contains(endpoint), endpoint + " in " + help);
    }
  }
}
