package dev.rgemma.server;

import dev.rgemma.engine.TextCodec;
import dev.rgemma.tokenizer.ChatTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A tokenizer for the tiny fixture model (vocab 320) in which every id is exactly one character,
 * so text and ids convert both ways without loss: ids 0-5 are {@code <pad> <eos> <bos> <unk>
 * <start_of_turn> <end_of_turn>}, 6 is a newline, 7 a space, 8-101 the printable ASCII characters
 * from '!' to '~', 102-319 the characters from U+00C0 on. Generated text therefore re-encodes to
 * the generated ids, as a real tokenizer does for most text. Special ids other than the stop
 * tokens decode to their piece (e.g. {@code <pad>}), which encodes back to the same id.
 */
final class CharCodec implements TextCodec {
  static final int VOCAB = 320;
  static final Map<String, Integer> SPECIALS = Map.of(
      "<pad>", 0, "<eos>", 1, "<bos>", 2, "<unk>", 3, "<start_of_turn>", 4, "<end_of_turn>", 5);

  static char character(int id) {
    if (id == 6) {
      return '\n';
    }
    if (id == 7) {
      return ' ';
    }
    if (id < 102) {
      return (char) ('!' + id - 8);
    }
    return (char) (0xC0 + id - 102);
  }

  static int id(char c) {
    if (c == '\n') {
      return 6;
    }
    if (c == ' ') {
      return 7;
    }
    if (c >= '!' && c <= '~') {
      return 8 + c - '!';
    }
    if (c >= 0xC0 && c < 0xC0 + VOCAB - 102) {
      return 102 + c - 0xC0;
    }
    return 3;
  }

  /** The text of generated ids (the stop tokens 1 and 5 are never among them). */
  static String text(int[] ids) {
    StringBuilder out = new StringBuilder();
    for (int id : ids) {
      out.append(piece(id));
    }
    return out.toString();
  }

  static String piece(int id) {
    if (id >= 6) {
      return String.valueOf(character(id));
    }
    for (Map.Entry<String, Integer> e : SPECIALS.entrySet()) {
      if (e.getValue() == id && id != 1 && id != 5) {
        return e.getKey();
      }
    }
    return "";
  }

  @Override
  public int[] encode(String text, boolean addBos) {
    List<Integer> ids = new ArrayList<>();
    if (addBos && !text.startsWith("<bos>")) {
      ids.add(2);
    }
    int i = 0;
    outer:
    while (i < text.length()) {
      for (Map.Entry<String, Integer> e : SPECIALS.entrySet()) {
        if (text.startsWith(e.getKey(), i)) {
          ids.add(e.getValue());
          i += e.getKey().length();
          continue outer;
        }
      }
      ids.add(id(text.charAt(i++)));
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public TextStream newTextStream() {
    return new TextStream() {
      @Override
      public String accept(int tokenId) {
        return piece(tokenId);
      }

      @Override
      public String flush() {
        return "";
      }
    };
  }

  @Override
  public OptionalInt specialToken(String piece) {
    Integer id = SPECIALS.get(piece);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  @Override
  public String renderChat(List<Message> messages, boolean addGenerationPrompt) {
    return ChatTemplate.render(
        messages.stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList(), addGenerationPrompt);
  }
}
