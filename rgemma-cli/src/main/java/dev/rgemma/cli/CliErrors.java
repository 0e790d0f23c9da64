package dev.rgemma.cli;

import com.fasterxml.jackson.core.JacksonException;
import dev.rgemma.RgemmaException;
import dev.rgemma.io.JsonErrors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.InvalidPathException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
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
      cli.getErr().println("rgemma: " + message(e));
      return 1;
    }
    cli.getErr().println("rgemma: internal error (please report):");
    e.printStackTrace(cli.getErr());
    return 70;
  }

  /**
   * The one-line message for a user error. The java.nio.file exceptions' own messages are only the
   * path ({@code NoSuchFileException}, {@code AccessDeniedException}) or the path and the system's
   * wording ("Is a directory"): they are said in words here, naming the path.
   */
  static String message(Throwable e) {
    if (e instanceof UncheckedIOException unchecked && unchecked.getCause() != null) {
      e = unchecked.getCause();
    }
    if (e instanceof FileSystemException f && f.getFile() != null) {
      return fileSystemMessage(f);
    }
    if (e instanceof JacksonException json) {
      // Jackson's getMessage() appends its source-location noise ("[Source: REDACTED ...]").
      return "invalid JSON: " + JsonErrors.describe(json);
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  private static String fileSystemMessage(FileSystemException f) {
    String file = f.getFile();
    String other = f.getOtherFile() == null ? "" : " -> " + f.getOtherFile();
    String reason = f.getReason() == null ? null : lowerFirst(f.getReason());
    return switch (f) {
      // rgemma's own NoSuchFileExceptions carry a reason ("session file not found"): keep it.
      case NoSuchFileException n when reason != null -> file + other + ": " + reason;
      case NoSuchFileException n -> missingParent(file)
          .map(parent -> "directory does not exist: " + parent + " (for " + file + ")")
          .orElse("no such file: " + file + other);
      case AccessDeniedException a -> "permission denied: " + file + other + (reason == null ? "" : " (" + reason + ")");
      case NotDirectoryException n -> "not a directory: " + file + other;
      case FileAlreadyExistsException x -> "already exists: " + file + other;
      default -> file + other + ": " + (reason == null ? f.getClass().getSimpleName() : reason);
    };
  }

  /** The directory of {@code file} if it does not exist (so the file cannot be there either). */
  private static Optional<Path> missingParent(String file) {
    try {
      Path parent = Path.of(file).toAbsolutePath().getParent();
      return parent == null || Files.isDirectory(parent) ? Optional.empty() : Optional.of(Path.of(file).getParent());
    } catch (InvalidPathException e) {
      return Optional.empty();
    }
  }

  private static String lowerFirst(String s) {
    // The system's wording ("Is a directory", "Read-only file system") reads as part of a sentence.
    return s.length() > 1 && Character.isUpperCase(s.charAt(0)) && Character.isLowerCase(s.charAt(1))
        ? s.substring(0, 1).toLowerCase(Locale.ROOT) + s.substring(1) : s;
  }
}
