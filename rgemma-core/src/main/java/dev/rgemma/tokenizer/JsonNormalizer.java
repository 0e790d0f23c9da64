package dev.rgemma.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.RgemmaException;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The {@code normalizer} of a tokenizer.json: text to text, applied between added tokens. */
interface JsonNormalizer {
  String normalize(String text);

  /** Builds the normalizer described by {@code config}; null when there is none. */
  static JsonNormalizer of(JsonNode config, Function<String, RgemmaException> error) {
    if (config.isMissingNode() || config.isNull()) return null;
    String type = config.path("type").asText();
    return switch (type) {
      case "Sequence" -> {
        List<JsonNormalizer> parts = new ArrayList<>();
        for (JsonNode part : config.path("normalizers")) {
          JsonNormalizer normalizer = of(part, error);
          if (normalizer != null) parts.add(normalizer);
        }
        yield text -> {
          for (JsonNormalizer part : parts) text = part.normalize(text);
          return text;
        };
      }
      case "Replace" -> {
        Pattern pattern = JsonPatterns.compile(config.path("pattern"), "normalizer.pattern", error);
        String content = Matcher.quoteReplacement(config.path("content").asText());
        yield text -> pattern.matcher(text).replaceAll(content);
      }
      case "Prepend" -> {
        String prepend = config.path("prepend").asText();
        yield text -> text.isEmpty() ? text : prepend + text;
      }
      case "NFC" -> text -> Normalizer.normalize(text, Normalizer.Form.NFC);
      case "NFD" -> text -> Normalizer.normalize(text, Normalizer.Form.NFD);
      case "NFKC" -> text -> Normalizer.normalize(text, Normalizer.Form.NFKC);
      case "NFKD" -> text -> Normalizer.normalize(text, Normalizer.Form.NFKD);
      case "Lowercase" -> text -> text.toLowerCase(Locale.ROOT);
      case "Strip" -> {
        boolean left = config.path("left").asBoolean(config.path("strip_left").asBoolean(false));
        boolean right = config.path("right").asBoolean(config.path("strip_right").asBoolean(false));
        yield text -> {
          if (left) text = JsonPreTokenizer.stripStart(text);
          if (right) text = JsonPreTokenizer.stripEnd(text);
          return text;
        };
      }
      default ->
          throw error.apply(
              "normalizer.type \"" + type + "\" is not supported (supported: Sequence, Replace, "
                  + "Prepend, NFC, NFD, NFKC, NFKD, Lowercase, Strip)");
    };
  }
}
