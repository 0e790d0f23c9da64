package dev.rgemma.cli;

import java.util.Arrays;

/** Parses comma-separated token ids given on the command line. */
final class TokenIds {
  private TokenIds() {}

  static int[] parse(String option, String text) {
    String trimmed = text == null ? "" : text.trim();
    if (trimmed.isEmpty()) {
      throw new IllegalArgumentException(option + ": expected comma-separated token ids, got nothing");
    }
    return Arrays.stream(trimmed.split("[,\\s]+")).mapToInt(part -> {
      try {
        int id = Integer.parseInt(part);
        if (id < 0) {
          throw new NumberFormatException();
        }
        return id;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(option + ": '" + part + "' is not a token id (a non-negative integer)");
      }
    }).toArray();
  }
}
