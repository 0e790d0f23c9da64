package dev.rgemma.cli;

import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.io.UncheckedIOException;
import picocli.CommandLine;

/**
 * Turns exceptions caused by the user's input (bad files, bad values) into a one-line message and
 * exit code 1. Anything else is a bug in rgemma and keeps its stack trace.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler {
  @Override
  public int handleExecutionException(
      Exception e, CommandLine cli, CommandLine.ParseResult parseResult) {
    if (e instanceof RgemmaException
        || e instanceof IOException
        || e instanceof UncheckedIOException
        || e instanceof IllegalArgumentException) {
      String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      cli.getErr().println("rgemma: " + message);
      return 1;
    }
    cli.getErr().println("rgemma: internal error (please report):");
    e.printStackTrace(cli.getErr());
    return 70;
  }
}
