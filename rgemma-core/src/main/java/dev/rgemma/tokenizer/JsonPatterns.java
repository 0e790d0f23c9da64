package dev.rgemma.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.RgemmaException;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** The {@code {"String": ...}} / {@code {"Regex": ...}} patterns of tokenizer.json. */
final class JsonPatterns {
  private JsonPatterns() {}

  static Pattern compile(JsonNode pattern, String field, Function<String, RgemmaException> error) {
    if (pattern.has("String")) return Pattern.compile(Pattern.quote(pattern.get("String").asText()));
    if (pattern.has("Regex")) {
      try {
        return Pattern.compile(pattern.get("Regex").asText(), Pattern.UNICODE_CHARACTER_CLASS);
      } catch (PatternSyntaxException e) {
        throw error.apply(field + " is not a regular expression Java understands: " + e.getMessage());
      }
    }
    throw error.apply(field + " must be {\"String\": ...} or {\"Regex\": ...}, got " + pattern);
  }
}
