package dev.rgemma.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.RgemmaException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code pre_tokenizer} of a tokenizer.json: splits normalized text into words that are
 * merged separately. {@code sectionIndex} is the position of the text among the pieces that added
 * tokens cut the input into (Metaspace's "first" scheme only prefixes section 0).
 */
interface JsonPreTokenizer {
  List<String> split(String text, int sectionIndex);

  static JsonPreTokenizer of(JsonNode config, Function<String, RgemmaException> error) {
    if (config.isMissingNode() || config.isNull()) return null;
    String type = config.path("type").asText();
    return switch (type) {
      case "Sequence" -> {
        List<JsonPreTokenizer> parts = new ArrayList<>();
        for (JsonNode part : config.path("pretokenizers")) {
          JsonPreTokenizer preTokenizer = of(part, error);
          if (preTokenizer != null) parts.add(preTokenizer);
        }
        yield (text, sectionIndex) -> {
          List<String> words = List.of(text);
          for (JsonPreTokenizer part : parts) {
            List<String> next = new ArrayList<>();
            for (String word : words) next.addAll(part.split(word, sectionIndex));
            words = next;
          }
          return words;
        };
      }
      case "Split" -> {
        Pattern pattern = JsonPatterns.compile(config.path("pattern"), "pre_tokenizer.pattern", error);
        String behavior = config.path("behavior").asText("Isolated");
        boolean invert = config.path("invert").asBoolean(false);
        switch (behavior) {
          case "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous" -> {}
          default -> throw error.apply("pre_tokenizer.behavior \"" + behavior + "\" is not supported");
        }
        yield (text, sectionIndex) -> splitOn(text, pattern, behavior, invert);
      }
      case "Metaspace" -> {
        String replacement = config.path("replacement").asText("\u2581");
        String scheme = config.path("prepend_scheme").asText("always");
        boolean prefix = config.path("add_prefix_space").asBoolean(true) && !scheme.equals("never");
        boolean split = config.path("split").asBoolean(true);
        Pattern separator = Pattern.compile(Pattern.quote(replacement));
        yield (text, sectionIndex) -> {
          String replaced = text.replace(" ", replacement);
          if (prefix && !replaced.startsWith(replacement) && (scheme.equals("always") || sectionIndex == 0)) {
            replaced = replacement + replaced;
          }
          return split ? splitOn(replaced, separator, "MergedWithNext", false) : List.of(replaced);
        };
      }
      default ->
          throw error.apply(
              "pre_tokenizer.type \"" + type + "\" is not supported (supported: Sequence, Split, Metaspace)");
    };
  }

  /** Hugging Face's split with a delimiter behaviour; empty pieces are dropped. */
  private static List<String> splitOn(String text, Pattern pattern, String behavior, boolean invert) {
    List<String> pieces = new ArrayList<>();
    List<Boolean> isMatch = new ArrayList<>();
    Matcher matcher = pattern.matcher(text);
    int last = 0;
    while (matcher.find()) {
      if (matcher.end() == matcher.start()) continue;
      if (matcher.start() > last) {
        pieces.add(text.substring(last, matcher.start()));
        isMatch.add(invert);
      }
      pieces.add(matcher.group());
      isMatch.add(!invert);
      last = matcher.end();
    }
    if (last < text.length()) {
      pieces.add(text.substring(last));
      isMatch.add(invert);
    }
    List<String> words = new ArrayList<>();
    if (behavior.equals("MergedWithNext")) {
      // The mirror image of MergedWithPrevious: a match joins the piece after it, unless that
      // piece is a match too (Hugging Face folds from the end).
      boolean nextMatched = false;
      for (int i = pieces.size() - 1; i >= 0; i--) {
        String piece = pieces.get(i);
        boolean matched = isMatch.get(i);
        if (matched && !nextMatched && !words.isEmpty()) {
          words.set(words.size() - 1, piece + words.getLast());
        } else {
          words.add(piece);
        }
        nextMatched = matched;
      }
      java.util.Collections.reverse(words);
      words.removeIf(String::isEmpty);
      return words;
    }
    boolean previousMatched = false;
    for (int i = 0; i < pieces.size(); i++) {
      String piece = pieces.get(i);
      boolean matched = isMatch.get(i);
      switch (behavior) {
        case "Removed" -> {
          if (!matched) words.add(piece);
        }
        case "Isolated" -> words.add(piece);
        case "MergedWithPrevious" -> {
          if (matched && !words.isEmpty() && !previousMatched) {
            words.set(words.size() - 1, words.getLast() + piece);
          } else {
            words.add(piece);
          }
        }
        default -> { // Contiguous
          if (matched && previousMatched) {
            words.set(words.size() - 1, words.getLast() + piece);
          } else {
            words.add(piece);
          }
        }
      }
      previousMatched = matched;
    }
    words.removeIf(String::isEmpty);
    return words;
  }

  /** JavaScript's String.trimStart (the White_Space property plus U+FEFF). */
  static String stripStart(String text) {
    int i = 0;
    while (i < text.length() && isTrimmable(text.charAt(i))) i++;
    return text.substring(i);
  }

  static String stripEnd(String text) {
    int i = text.length();
    while (i > 0 && isTrimmable(text.charAt(i - 1))) i--;
    return text.substring(0, i);
  }

  private static boolean isTrimmable(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\uFEFF';
  }
}
