package dev.rgemma.cli;

import dev.rgemma.engine.Session;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** --session FILE: load the session if the file exists, save it after the run. */
final class SessionStore {
  private SessionStore() {}

  /** Loads {@code file} into {@code session} if it exists; an explicit seed restarts the RNG. */
  static void loadIfPresent(Session session, Path file, Long seed, PrintWriter err) throws IOException {
    if (file == null || !Files.exists(file)) {
      return;
    }
    session.load(file);
    if (seed != null) {
      session.sampler().setRngState(seed);
    }
    err.println("rgemma: resumed " + file + " at position " + session.position());
  }

  static void save(Session session, Path file, PrintWriter err) throws IOException {
    session.save(file);
    err.println("rgemma: saved " + file + " (" + Files.size(file) + " bytes, position "
        + session.position() + ")");
  }
}
