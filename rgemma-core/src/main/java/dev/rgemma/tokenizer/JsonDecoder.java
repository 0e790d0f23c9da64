package dev.rgemma.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.RgemmaException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code decoder} of a tokenizer.json, run as a left-to-right stream so that whole-sequence
 * decoding and streaming share one code path. The chain is read as three stages: per-token steps
 * (Replace, Strip, Metaspace) around at most one ByteFallback, then Fuse, then steps on the fused
 * text (Strip, Replace). Without Fuse the tokens are simply concatenated, as in the references.
 */
final class JsonDecoder {
  /** A per-token step; one instance per session, since Metaspace counts tokens. */
  private interface TokenStep {
    String apply(String token);

    /** From now on the tokens are not the text's first (Metaspace drops a first token's space). */
    default void midText() {}
  }

  /** A step on the fused text, which arrives in chunks. */
  private interface TextStep {
    void accept(CharSequence chunk, StringBuilder out);

    void finish(StringBuilder out);
  }

  private final List<Supplier<TokenStep>> beforeBytes;
  private final boolean byteFallback;
  private final List<Supplier<TokenStep>> afterBytes;
  private final List<Supplier<TextStep>> afterFuse;

  private JsonDecoder(
      List<Supplier<TokenStep>> beforeBytes,
      boolean byteFallback,
      List<Supplier<TokenStep>> afterBytes,
      List<Supplier<TextStep>> afterFuse) {
    this.beforeBytes = beforeBytes;
    this.byteFallback = byteFallback;
    this.afterBytes = afterBytes;
    this.afterFuse = afterFuse;
  }

  static JsonDecoder of(JsonNode config, Function<String, RgemmaException> error) {
    List<JsonNode> steps = new ArrayList<>();
    if (!config.isMissingNode() && !config.isNull()) {
      if (config.path("type").asText().equals("Sequence")) {
        config.path("decoders").forEach(steps::add);
      } else {
        steps.add(config);
      }
    }
    List<Supplier<TokenStep>> beforeBytes = new ArrayList<>();
    List<Supplier<TokenStep>> afterBytes = new ArrayList<>();
    List<Supplier<TextStep>> afterFuse = new ArrayList<>();
    boolean byteFallback = false;
    boolean fused = false;
    for (JsonNode step : steps) {
      String type = step.path("type").asText();
      switch (type) {
        case "ByteFallback" -> {
          if (byteFallback || fused) throw error.apply("decoder: ByteFallback must appear once, before Fuse");
          byteFallback = true;
        }
        case "Fuse" -> fused = true;
        case "Replace" -> {
          Pattern pattern = JsonPatterns.compile(step.path("pattern"), "decoder.pattern", error);
          String content = Matcher.quoteReplacement(step.path("content").asText());
          if (fused) {
            afterFuse.add(() -> new TextStep() {
              @Override
              public void accept(CharSequence chunk, StringBuilder out) {
                out.append(pattern.matcher(chunk).replaceAll(content));
              }

              @Override
              public void finish(StringBuilder out) {}
            });
          } else {
            (byteFallback ? afterBytes : beforeBytes).add(() -> token -> pattern.matcher(token).replaceAll(content));
          }
        }
        case "Strip" -> {
          String content = step.path("content").asText(" ");
          if (content.length() != 1) throw error.apply("decoder: Strip.content must be one character");
          char c = content.charAt(0);
          int start = step.path("start").asInt(0);
          int stop = step.path("stop").asInt(0);
          if (fused) {
            afterFuse.add(() -> new StripText(c, start, stop));
          } else {
            (byteFallback ? afterBytes : beforeBytes).add(() -> token -> stripToken(token, c, start, stop));
          }
        }
        case "Metaspace" -> {
          if (fused) throw error.apply("decoder: Metaspace after Fuse is not supported");
          String replacement = step.path("replacement").asText("\u2581");
          String scheme = step.path("prepend_scheme").asText("always");
          boolean prefix = step.path("add_prefix_space").asBoolean(true) && !scheme.equals("never");
          (byteFallback ? afterBytes : beforeBytes).add(() -> new TokenStep() {
            private boolean first = true;

            @Override
            public String apply(String token) {
              String text = token.replace(replacement, " ");
              if (first && prefix && text.startsWith(" ")) text = text.substring(1);
              first = false;
              return text;
            }

            @Override
            public void midText() {
              first = false;
            }
          });
        }
        default ->
            throw error.apply(
                "decoder.type \"" + type + "\" is not supported (supported: Sequence, Replace, "
                    + "ByteFallback, Fuse, Strip, Metaspace)");
      }
    }
    return new JsonDecoder(beforeBytes, byteFallback, afterBytes, afterFuse);
  }

  private static String stripToken(String token, char c, int start, int stop) {
    int from = 0;
    while (from < start && from < token.length() && token.charAt(from) == c) from++;
    int to = token.length();
    while (token.length() - to < stop && to > from && token.charAt(to - 1) == c) to--;
    return token.substring(from, to);
  }

  /** Strip on the fused text: drops up to {@code start} leading and {@code stop} trailing {@code c}. */
  private static final class StripText implements TextStep {
    private final char c;
    private int leadingLeft;
    private final int stop;
    private boolean atStart = true;
    private int held; // trailing copies of c not yet emitted

    StripText(char c, int start, int stop) {
      this.c = c;
      this.leadingLeft = start;
      this.stop = stop;
    }

    @Override
    public void accept(CharSequence chunk, StringBuilder out) {
      for (int i = 0; i < chunk.length(); i++) {
        char ch = chunk.charAt(i);
        if (atStart && ch == c && leadingLeft > 0) {
          leadingLeft--;
          continue;
        }
        atStart = false;
        if (ch == c && stop > 0) {
          if (held == stop) out.append(c);
          else held++;
          continue;
        }
        for (; held > 0; held--) out.append(c);
        out.append(ch);
      }
    }

    @Override
    public void finish(StringBuilder out) {
      held = 0; // the trailing copies are exactly the ones stripped
    }
  }

  /** Decoding state for one sequence. */
  final class Session {
    private final List<TokenStep> before = instantiate(beforeBytes);
    private final List<TokenStep> after = instantiate(afterBytes);
    private final List<TextStep> text = instantiateText();
    private final Utf8.WhatwgDecoder bytes = new Utf8.WhatwgDecoder();
    private final StringBuilder run = new StringBuilder(); // decoded bytes of the current run
    private boolean inRun;
    // Bytes may leave early only when nothing per-token follows ByteFallback.
    private final boolean streamBytes = afterBytes.isEmpty();
    private final StringBuilder scratch = new StringBuilder();

    void accept(String token, StringBuilder out) {
      for (TokenStep step : before) token = step.apply(token);
      int b = byteFallback ? byteOf(token) : -1;
      if (b >= 0) {
        inRun = true;
        bytes.push(b, run);
        if (streamBytes && !run.isEmpty()) {
          emit(run, out);
          run.setLength(0);
        }
        return;
      }
      endRun(out);
      emitToken(token, out);
    }

    void finish(StringBuilder out) {
      endRun(out);
      for (TextStep step : text) {
        // Each step's held text passes through the steps after it.
        scratch.setLength(0);
        step.finish(scratch);
        if (!scratch.isEmpty()) passOn(text.indexOf(step) + 1, scratch, out);
      }
    }

    private void endRun(StringBuilder out) {
      if (!inRun) return;
      bytes.finish(run);
      inRun = false;
      String decoded = run.toString();
      run.setLength(0);
      if (streamBytes) {
        if (!decoded.isEmpty()) emit(decoded, out);
      } else {
        emitToken(decoded, out);
      }
    }

    private void emitToken(String token, StringBuilder out) {
      for (TokenStep step : after) token = step.apply(token);
      emit(token, out);
    }

    private void emit(CharSequence chunk, StringBuilder out) {
      passOn(0, chunk, out);
    }

    private void passOn(int firstStep, CharSequence chunk, StringBuilder out) {
      CharSequence current = chunk;
      for (int i = firstStep; i < text.size(); i++) {
        StringBuilder next = new StringBuilder();
        text.get(i).accept(current, next);
        current = next;
      }
      out.append(current);
    }
  }

  Session newSession() {
    return new Session();
  }

  /**
   * What one token adds to the text in the middle of a sequence: the per-token steps as for any
   * token but the first, a {@code <0xNN>} piece's byte, the fused-text replacements (a fused-text
   * Strip only touches the text's ends, so it does not apply).
   */
  byte[] midTextBytes(String token) {
    for (TokenStep step : instantiate(beforeBytes)) {
      step.midText();
      token = step.apply(token);
    }
    int b = byteFallback ? byteOf(token) : -1;
    if (b >= 0) {
      return new byte[] {(byte) b};
    }
    for (TokenStep step : instantiate(afterBytes)) {
      step.midText();
      token = step.apply(token);
    }
    CharSequence text = token;
    for (TextStep step : instantiateText()) {
      if (step instanceof StripText) {
        continue;
      }
      StringBuilder next = new StringBuilder();
      step.accept(text, next);
      step.finish(next);
      text = next;
    }
    return text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static List<TokenStep> instantiate(List<Supplier<TokenStep>> suppliers) {
    List<TokenStep> steps = new ArrayList<>(suppliers.size());
    for (Supplier<TokenStep> supplier : suppliers) steps.add(supplier.get());
    return steps;
  }

  private List<TextStep> instantiateText() {
    List<TextStep> steps = new ArrayList<>(afterFuse.size());
    for (Supplier<TextStep> supplier : afterFuse) steps.add(supplier.get());
    return steps;
  }

  /** The byte of a {@code <0xNN>} piece, or -1. */
  static int byteOf(String token) {
    if (token.length() != 6 || !token.startsWith("<0x") || token.charAt(5) != '>') return -1;
    int high = Character.digit(token.charAt(3), 16);
    int low = Character.digit(token.charAt(4), 16);
    return high < 0 || low < 0 ? -1 : high * 16 + low;
  }
}
