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
    err.printf(Locale.ROOT, "\r%s [%s] %3.0f%% %s %4.0fs %-50.50s", label, bar, 100 * fraction,
        amounts(done, total), seconds, detail);
    err.flush();
    drawn = true;
  }

  /** {@code done/total} in the unit that suits {@code total}: "1.23/5.42 GB", "3.5/6.9 MB", "12/40 kB". */
  static String amounts(long done, long total) {
    if (total >= 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.2f/%.2f GB", done / 1e9, total / 1e9);
    } else if (total >= 1_000_000L) {
      return String.format(Locale.ROOT, "%.1f/%.1f MB", done / 1e6, total / 1e6);
    }
    return String.format(Locale.ROOT, "%.0f/%.0f kB", done / 1e3, total / 1e3);
  }

  /** A byte count in the unit that suits it: "5.42 GB", "6.9 MB", "40 kB". */
  static String size(long bytes) {
    String both = amounts(bytes, bytes);
    return both.substring(both.indexOf('/') + 1);
  }

  synchronized void finish() {
    if (drawn) {
      err.println();
    }
  }
}
