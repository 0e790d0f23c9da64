package dev.rgemma.server;

import java.util.List;

/**
 * Finds stop strings in streamed text, also across token boundaries: text that could be the
 * start of a stop string is held back until the next piece decides.
 */
final class StopStrings {
  private final List<String> stops;
  private final StringBuilder held = new StringBuilder();
  private boolean stopped;

  StopStrings(List<String> stops) {
    this.stops = List.copyOf(stops);
  }

  /** Adds generated text; returns the part that may be sent now (never text of a stop string). */
  String accept(String piece) {
    if (stopped) {
      return "";
    }
    held.append(piece);
    int first = -1;
    for (String stop : stops) {
      int at = held.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) {
        first = at;
      }
    }
    if (first >= 0) {
      stopped = true;
      String out = held.substring(0, first);
      held.setLength(0);
      return out;
    }
    int keep = longestSuffixStartingAStop();
    String out = held.substring(0, held.length() - keep);
    held.delete(0, held.length() - keep);
    return out;
  }

  /** True once a stop string was found; nothing is sent after it. */
  boolean stopped() {
    return stopped;
  }

  /** At the end of generation: the held-back text, which turned out not to be a stop string. */
  String flush() {
    String out = stopped ? "" : held.toString();
    held.setLength(0);
    return out;
  }

  private int longestSuffixStartingAStop() {
    String text = held.toString();
    int best = 0;
    for (String stop : stops) {
      for (int length = Math.min(stop.length() - 1, text.length()); length > best; length--) {
        if (text.regionMatches(text.length() - length, stop, 0, length)) {
          best = length;
          break;
        }
      }
    }
    return best;
  }
}
