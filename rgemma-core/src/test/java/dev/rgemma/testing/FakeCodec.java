package dev.rgemma.testing;

import dev.rgemma.engine.TextCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A stand-in tokenizer for the tiny fixture model (vocab 320), made for tests: every id decodes to
 * a fixed piece ({@code "<id>"} unless given), text encodes one character per token (id 10 + the
 * character mod 300) with special pieces recognised, and the chat template is Gemma's.
 */
public final class FakeCodec implements TextCodec {
  public static final int BOS = 2;
  public static final int START_OF_TURN = 4;
  public static final int END_OF_TURN = 5;

  private final Map<String, Integer> specials;

  /** @param specials special pieces and their ids */
  public FakeCodec(Map<String, Integer> specials) {
    this.specials = Map.copyOf(specials);
  }

  /** A base model's vocabulary: only {@code <bos>} (2) is special. */
  public static FakeCodec plain() {
    return new FakeCodec(Map.of("<bos>", BOS));
  }

  /** An instruction-tuned one: {@code <bos>} 2, {@code <start_of_turn>} 4, {@code <end_of_turn>} 5. */
  public static FakeCodec chat() {
    return new FakeCodec(Map.of("<bos>", BOS, "<start_of_turn>", START_OF_TURN, "<end_of_turn>", END_OF_TURN));
  }

  /** The text a generated id stands for. */
  public String piece(int id) {
    for (var e : specials.entrySet()) {
      if (e.getValue() == id) {
        return "";
      }
    }
    return "<" + id + ">";
  }

  @Override
  public int[] encode(String text, boolean addBos) {
    List<Integer> ids = new ArrayList<>();
    if (addBos && !text.startsWith("<bos>")) {
      ids.add(BOS);
    }
    int i = 0;
    outer:
    while (i < text.length()) {
      for (var e : specials.entrySet()) {
        if (text.startsWith(e.getKey(), i)) {
          ids.add(e.getValue());
          i += e.getKey().length();
          continue outer;
        }
      }
      ids.add(10 + text.charAt(i) % 300);
      i++;
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
    Integer id = specials.get(piece);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  @Override
  public String renderChat(List<Message> messages, boolean addGenerationPrompt) {
    StringBuilder out = new StringBuilder("<bos>");
    String system = null;
    for (Message m : messages) {
      if (m.role().equals("system")) {
        system = m.content();
        continue;
      }
      String content = m.content().strip();
      if (system != null && m.role().equals("user")) {
        content = system.strip() + "\n\n" + content;
        system = null;
      }
      String role = m.role().equals("assistant") ? "model" : m.role();
      out.append("<start_of_turn>").append(role).append('\n').append(content).append("<end_of_turn>\n");
    }
    if (addGenerationPrompt) {
      out.append("<start_of_turn>model\n");
    }
    return out.toString();
  }
}
