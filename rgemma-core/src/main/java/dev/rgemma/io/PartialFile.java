package dev.rgemma.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The temporary sibling a file is written under before it is renamed into place, so a failed or
 * interrupted write never leaves a truncated file under the final name. {@link
 * Files#createTempFile} would do, but it creates the file owner-only (0600) whatever the umask,
 * and the rename keeps that mode: models and session files would then be unreadable to the group
 * that can read everything else the user writes. This creates the sibling like any other new file
 * (the umask decides), under a name unique to the process and the call.
 */
public final class PartialFile {
  private static final AtomicLong COUNTER = new AtomicLong();

  private PartialFile() {}

  /**
   * Creates an empty {@code .NAME.PID-N.partial} beside {@code target} (in its parent directory,
   * which must exist) and returns it.
   */
  public static Path createBeside(Path target) throws IOException {
    Path absolute = target.toAbsolutePath();
    Path directory = absolute.getParent();
    if (directory == null) {
      throw new IOException(target + ": not a file path");
    }
    String prefix = "." + absolute.getFileName() + "." + ProcessHandle.current().pid() + "-";
    while (true) {
      Path candidate = directory.resolve(prefix + COUNTER.incrementAndGet() + ".partial");
      try {
        return Files.createFile(candidate);
      } catch (FileAlreadyExistsException e) {
        // Left behind by a crashed process that had the same pid; take the next number.
      } catch (FileSystemException e) {
        // Named for the file the caller asked for, not for the temporary one.
        throw new FileSystemException(target.toString(), null, "cannot create a file in " + directory
            + (e.getReason() != null ? " (" + e.getReason() + ")" : ""));
      }
    }
  }

  /**
   * Fails, naming {@code target}, if it cannot become a file: it is a directory ({@link
   * FileSystemException} with the reason "is a directory, expected a file path"), or its directory
   * does not exist ({@link NoSuchFileException}). Writers that would otherwise run a long
   * conversion only to fail at the final rename call it first, and so does the CLI for its
   * {@code --out} options (with the option's name).
   */
  public static void checkTarget(Path target) throws FileSystemException {
    if (Files.isDirectory(target)) {
      throw new FileSystemException(target.toString(), null, "is a directory, expected a file path");
    }
    Path parent = target.toAbsolutePath().getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      throw new NoSuchFileException(target.toString(), null, "directory " + parent + " does not exist");
    }
  }

  /** Renames the finished {@code partial} to {@code target}, replacing it, atomically where possible. */
  public static void commit(Path partial, Path target) throws IOException {
    try {
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING); // a file system without atomic renames
    }
  }
}
