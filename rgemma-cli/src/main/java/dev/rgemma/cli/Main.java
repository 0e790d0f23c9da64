package dev.rgemma.cli;

import dev.rgemma.kernels.KernelSettings;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code rgemma} command line. Only this class calls {@link System#exit}. */
@Command(
    name = "rgemma",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "RecurrentGemma (Griffin) inference engine for the JVM.",
    subcommands = {
      CommandLine.HelpCommand.class,
      GenerateCommand.class,
      ChatCommand.class,
      LogitsCommand.class,
      TokenizeCommand.class,
      DetokenizeCommand.class,
      QuantizeCommand.class,
      BenchCommand.class,
      ServeCommand.class,
      BatchBenchCommand.class,
      TrainCommand.class,
      TrainTokenizerCommand.class,
      PerplexityCommand.class,
    })
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(newCommandLine().execute(args));
  }

  /** Builds the command line with rgemma's error handling: user mistakes print one line, no stack trace. */
  public static CommandLine newCommandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler(new CliErrors());
    cli.setParameterExceptionHandler(Main::badArguments);
    // Every command takes --version (mixinStandardHelpOptions): all print rgemma's.
    for (CommandLine sub : cli.getSubcommands().values()) {
      sub.getCommandSpec().versionProvider(new Version());
    }
    // The kernels' JVM properties (-Drgemma.kernels, -Drgemma.touchAhead) are checked before any
    // command runs, so that a bad value is a one-line error rather than a failed class initializer.
    cli.setExecutionStrategy(parseResult -> {
      try {
        KernelSettings.validate();
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ExecutionException(cli, e.getMessage(), e);
      }
      return new CommandLine.RunLast().execute(parseResult);
    });
    return cli;
  }

  /**
   * A command line picocli cannot parse (a wrong-type value, an unknown option, a missing
   * parameter): the one-line error and where to read more. picocli's default prints the whole usage
   * after it, 80 lines in which the error scrolls away.
   */
  static int badArguments(CommandLine.ParameterException e, String[] args) {
    CommandLine failed = e.getCommandLine();
    PrintWriter err = failed.getErr();
    err.println("rgemma: " + e.getMessage());
    CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
    String command = failed.getCommandSpec().qualifiedName();
    err.println("(see '" + command + " --help')");
    return failed.getCommandSpec().exitCodeOnInvalidInput();
  }

  /**
   * The project version, from the jar manifest's {@code Implementation-Version} (the shade plugin
   * writes it from the pom's version into rgemma.jar); "dev" when run from compiled classes, which
   * have no manifest.
   */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {line(Main.class.getPackage().getImplementationVersion())};
    }

    static String line(String implementationVersion) {
      return "rgemma " + (implementationVersion == null ? "dev" : implementationVersion)
          + " (Java " + Runtime.version() + ")";
    }
  }
}
