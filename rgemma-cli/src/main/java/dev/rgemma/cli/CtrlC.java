package dev.rgemma.cli;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jline.utils.Signals;

/**
 * Ctrl-C (SIGINT) as a request to stop, for commands that can end cleanly: the first one sets a
 * flag that the work polls (a generation stops before its next token, and the command still prints
 * its summary and saves its session), a second one ends the process at once, as Ctrl-C normally
 * does. JLine's {@link Signals} registers the handler (as the chat's terminal does); where the
 * signal cannot be handled, Ctrl-C keeps its default effect.
 */
final class CtrlC implements AutoCloseable {
  private static final String INT = "INT";
  private final Object previous;

  private CtrlC(Object previous) {
    this.previous = previous;
  }

  /** Sets {@code stop} on the first Ctrl-C until {@link #close}; exits with status 130 on the second. */
  static CtrlC stopOnFirst(AtomicBoolean stop) {
    return new CtrlC(Signals.register(INT, () -> {
      if (stop.getAndSet(true)) {
        System.exit(130);
      }
    }));
  }

  @Override
  public void close() {
    if (previous != null) {
      Signals.unregister(INT, previous);
    }
  }
}
