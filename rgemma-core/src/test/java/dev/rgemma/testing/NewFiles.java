package dev.rgemma.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * Checks that a file rgemma wrote has the permissions of any new file in its directory (those the
 * umask leaves), not the owner-only 0600 that {@link Files#createTempFile} gives. The test process's
 * umask is not known, so the reference is a file created beside it the ordinary way; under the usual
 * 022 umask both must be readable by group and others.
 */
public final class NewFiles {
  private NewFiles() {}

  public static void assertPermissionsOfANewFile(Path written) throws IOException {
    assumeTrue(Files.getFileAttributeView(written, PosixFileAttributeView.class) != null,
        "the file system has no POSIX permissions");
    Path reference = Files.createFile(written.resolveSibling(written.getFileName() + ".reference"));
    try {
      Set<PosixFilePermission> expected = Files.getPosixFilePermissions(reference);
      Set<PosixFilePermission> actual = Files.getPosixFilePermissions(written);
      if (expected.contains(PosixFilePermission.GROUP_READ)) {
        // Under a 022 umask (the usual one) new files are group- and world-readable: so must this be.
        assertTrue(actual.contains(PosixFilePermission.GROUP_READ), written + " is owner-only: " + actual);
      }
      assertEquals(expected, actual, written + ": permissions differ from a plainly created file's");
    } finally {
      Files.delete(reference);
    }
  }
}
