package dev.rgemma.cli;

import dev.rgemma.io.PartialFile;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Checks of the files named on the command line, made before the work that needs them (loading a
 * model, converting it) so that a wrong path fails at once, in one line naming the option and the
 * path, rather than after minutes or as the system's bare "Is a directory".
 */
final class CliPaths {
  private CliPaths() {}

  /** {@code out} can become a file: it is not a directory, and its directory exists. */
  static void checkOutputFile(String option, Path out) {
    try {
      PartialFile.checkTarget(out);
    } catch (FileSystemException e) {
      throw new IllegalArgumentException(option + " " + out + ": " + e.getReason());
    }
  }

  /**
   * {@code dir} can be a directory to write into: not an existing file (a missing one is made when
   * written). Checked before the work, so that such a path fails at once rather than when the
   * first file is written, minutes or hours later.
   */
  static void checkOutputDirectory(String option, Path dir) {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new IllegalArgumentException(option + " " + dir + ": is a file, expected a directory");
    }
  }

  /**
   * {@link #checkOutputDirectory}, then makes the directory (with its parents), so that a place
   * where it cannot be made (read-only, a parent that is a file) fails before a long run. Call it
   * after the command's cheap checks, so that a mistaken command leaves no empty directory.
   */
  static void prepareOutputDirectory(String option, Path dir) throws IOException {
    checkOutputDirectory(option, dir);
    Files.createDirectories(dir);
  }

  /** {@code file} is an existing file, not a directory. */
  static void checkInputFile(String option, Path file) throws NoSuchFileException {
    if (Files.isDirectory(file)) {
      throw new IllegalArgumentException(option + " " + file + ": is a directory, expected a file");
    }
    if (!Files.exists(file)) {
      throw new NoSuchFileException(file.toString());
    }
  }
}
