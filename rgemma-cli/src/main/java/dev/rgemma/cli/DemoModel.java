package dev.rgemma.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the demo model that ships with the repository lives ({@code models/demo}). */
final class DemoModel {
  static final String RELATIVE = "models/demo";

  private DemoModel() {}

  /** {@code models/demo} under the working directory, else next to the repository the jar was built in. */
  static Path locate() {
    Path local = Path.of(RELATIVE);
    if (Files.isDirectory(local)) {
      return local;
    }
    try {
      Path jar = Path.of(DemoModel.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      // rgemma-cli/target/rgemma.jar (or target/classes) -> repository root
      for (Path p = jar.getParent(); p != null; p = p.getParent()) {
        Path candidate = p.resolve(RELATIVE);
        if (Files.isDirectory(candidate)) {
          return candidate;
        }
      }
    } catch (URISyntaxException | SecurityException | NullPointerException e) {
      // fall through to the plain relative path, which names itself in the error
    }
    return local;
  }
}
