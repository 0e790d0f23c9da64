package dev.rgemma.cli;

import java.io.PrintWriter;
import java.util.Locale;

/** A one-line progress bar on stderr, redrawn at most ten times a second. */
final class ProgressBar {
  private static final int WIDTH = 30;

  private final PrintWriter err;
  private final String label;
  private final long start = System.nanoTime();
  private long lastDraw;
  private boolean drawn;

  ProgressBar(PrintWriter err, String label) {
    this.err = err;
    this.label = label;
  }

  synchronized void update(long done, long total, String detail) {
    long now = System.nanoTime();
    if (done < total && now - lastDraw < 100_000_000L) {
      return;
    }
    lastDraw = now;
    double fraction = total <= 0 ? 1 : Math.min(1, (double) done / total);
    int filled = (int) Math.round(fraction * WIDTH);
    String bar = "#".repeat(filled) + ".".repeat(WIDTH - filled);
    double seconds = (now - start) / 1e9;
    err.printf(Locale.ROOT, "\r%s [%s] %3.0f%% %.2f/%.2f GB %4.0fs %-50.50s", label, bar, 100 * fraction,
        done / 1e9, total / 1e9, seconds, detail);
    err.flush();
    drawn = true;
  }

  synchronized void finish() {
    if (drawn) {
      err.println();
    }
  }
}
