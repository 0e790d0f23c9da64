package dev.rgemma.engine;

import java.util.List;

/**
 * Matches stop strings on streamed text, across token boundaries. Text that could still be the
 * start of a stop string is held back until it cannot be, so a stop string is never emitted.
 */
public final class StopStringFilter {
  private final List<String> stops;
  private final StringBuilder held = new StringBuilder();
  private boolean matched;

  public StopStringFilter(List<String> stops) {
    this.stops = stops;
  }

  public boolean matched() {
    return matched;
  }

  /** How many characters are held back (they could start a stop string). */
  public int heldLength() {
    return held.length();
  }

  /** Adds a piece of text; returns the text that is now safe to emit. */
  public String accept(String piece) {
    if (matched) {
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
      matched = true;
      String out = held.substring(0, first);
      held.setLength(0);
      return out;
    }
    int keep = longestSuffixThatStartsAStop();
    String out = held.substring(0, held.length() - keep);
    held.delete(0, held.length() - keep);
    return out;
  }

  /** At the end of a generation: whatever was held back (it matched no stop string). */
  public String finish() {
    String out = matched ? "" : held.toString();
    held.setLength(0);
    return out;
  }

  private int longestSuffixThatStartsAStop() {
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
