package dev.rgemma.engine;

import java.util.List;
import java.util.OptionalInt;

/**
 * What the engine needs from a tokenizer: text to ids, streamed ids to text, special pieces and
 * the chat template. A model without a tokenizer runs on ids alone (no codec).
 */
public interface TextCodec {

  /** One chat message; role is "system", "user" or "assistant". */
  record Message(String role, String content) {}

  /** Turns ids into text as they come, holding back incomplete UTF-8 sequences. */
  interface TextStream {
    /** Text completed by this token ("" while a character is still incomplete). */
    String accept(int tokenId);

    /** What is still held back, decoded as well as possible. */
    String flush();
  }

  /**
   * Encodes text; special pieces written in it (such as {@code <start_of_turn>}) become their
   * ids. With {@code addBos}, BOS is prepended unless the text already starts with it.
   */
  int[] encode(String text, boolean addBos);

  /** A decoder for one stream of generated ids; special tokens decode to nothing. */
  TextStream newTextStream();

  /** The text of token ids, decoded as one stream (special tokens decode to nothing). */
  default String decode(int[] ids) {
    TextStream stream = newTextStream();
    StringBuilder text = new StringBuilder();
    for (int id : ids) {
      text.append(stream.accept(id));
    }
    return text.append(stream.flush()).toString();
  }

  /**
   * The bytes a token adds to the text in the middle of a sequence (one byte of a byte-fallback
   * piece, nothing for a special token): {@link dev.rgemma.tokenizer.Tokenizer#tokenBytes}. This
   * default decodes the token alone.
   */
  default byte[] tokenBytes(int tokenId) {
    TextStream stream = newTextStream();
    return (stream.accept(tokenId) + stream.flush()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * {@link #tokenBytes} of every id below {@code vocabSize} (a model's vocabulary), by id. A codec
   * may keep and return the same table to every caller: it must not be modified.
   */
  default byte[][] tokenBytesTable(int vocabSize) {
    byte[][] table = new byte[vocabSize][];
    for (int id = 0; id < vocabSize; id++) {
      table[id] = tokenBytes(id);
    }
    return table;
  }

  /** The id of a special piece such as {@code <end_of_turn>}, if the vocabulary has it. */
  OptionalInt specialToken(String piece);

  /** The chat template applied to {@code messages}, ending with the model's turn if asked. */
  String renderChat(List<Message> messages, boolean addGenerationPrompt);

  /** Instruction-tuned Gemma vocabularies have turn markers; base models' prompts are plain. */
  default boolean isChatModel() {
    return specialToken("<start_of_turn>").isPresent();
  }
}
