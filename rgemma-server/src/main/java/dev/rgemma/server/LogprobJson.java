package dev.rgemma.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rgemma.engine.TextCodec;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** OpenAI's two shapes of {@code logprobs}: chat's list of token objects and completions' arrays. */
final class LogprobJson {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private final TextCodec codec;

  LogprobJson(TextCodec codec) {
    this.codec = codec;
  }

  /**
   * Chat: {@code {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob",
   * "bytes"}]}], "refusal": null}}.
   */
  ObjectNode chat(List<TokenLogprob> tokens) {
    ObjectNode logprobs = NODES.objectNode();
    ArrayNode content = logprobs.putArray("content");
    for (TokenLogprob token : tokens) {
      ObjectNode entry = tokenObject(token.token(), token.logprob());
      ArrayNode top = entry.putArray("top_logprobs");
      for (TokenLogprob.Alternative alternative : token.top()) {
        top.add(tokenObject(alternative.token(), alternative.logprob()));
      }
      content.add(entry);
    }
    logprobs.putNull("refusal");
    return logprobs;
  }

  /**
   * Completions: {@code {"tokens", "token_logprobs", "top_logprobs", "text_offset"}} for the
   * scored prompt tokens of an echo, then the generated tokens. Each {@code top_logprobs} entry
   * maps token text to log-probability for the alternatives and the chosen token; the prompt's
   * first token has none (nulls). {@code text_offset} counts characters (code points) of {@code
   * text}, the choice's text from its start: a prompt token's offset is into the echoed prompt at
   * its start, a generated token's after the first {@code generatedBase} UTF-16 units.
   */
  ObjectNode completion(List<TokenLogprob> prompt, List<TokenLogprob> generated, CharSequence text,
      int generatedBase) {
    ObjectNode logprobs = NODES.objectNode();
    ArrayNode strings = logprobs.putArray("tokens");
    ArrayNode values = logprobs.putArray("token_logprobs");
    ArrayNode tops = logprobs.putArray("top_logprobs");
    ArrayNode offsets = logprobs.putArray("text_offset");
    for (int part = 0; part < 2; part++) {
      int base = part == 0 ? 0 : generatedBase;
      for (TokenLogprob token : part == 0 ? prompt : generated) {
        String string = text(codec.tokenBytes(token.token()));
        strings.add(string);
        if (Float.isNaN(token.logprob())) {
          values.addNull();
          tops.addNull();
        } else {
          values.add(token.logprob());
          ObjectNode top = tops.addObject();
          for (TokenLogprob.Alternative alternative : token.top()) {
            top.put(text(codec.tokenBytes(alternative.token())), alternative.logprob());
          }
          top.put(string, token.logprob());
        }
        offsets.add(Character.codePointCount(text, 0, Math.min(base + token.textOffset(), text.length())));
      }
    }
    return logprobs;
  }

  private ObjectNode tokenObject(int id, float logprob) {
    byte[] bytes = codec.tokenBytes(id);
    ObjectNode entry = NODES.objectNode().put("token", text(bytes)).put("logprob", logprob);
    ArrayNode array = entry.putArray("bytes");
    for (byte b : bytes) {
      array.add(b & 0xFF);
    }
    return entry;
  }

  /** The token's text, or, when its bytes are not whole UTF-8 characters, {@code bytes:\xNN...} as OpenAI writes them. */
  static String text(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      StringBuilder out = new StringBuilder("bytes:");
      for (byte b : bytes) {
        out.append(String.format("\\x%02x", b & 0xFF));
      }
      return out.toString();
    }
  }
}
