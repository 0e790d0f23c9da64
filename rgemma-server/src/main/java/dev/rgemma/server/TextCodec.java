package dev.rgemma.server;

import java.util.List;

/**
 * What the server needs from a tokenizer and chat template: prompts to token ids, generated ids
 * back to text, and which ids end a generation.
 */
public interface TextCodec {

  /** The chat rendered with the model's template, ending in the generation prompt, BOS first. */
  int[] encodeChat(List<ChatMessage> messages);

  /** A plain prompt, BOS first. */
  int[] encodePrompt(String prompt);

  /** A decoder for one generated sequence; it leaves special tokens out of the text. */
  Decoder newDecoder();

  /** True for the ids that end a generation (end of sequence, end of turn). */
  boolean endsGeneration(int token);

  /** Turns generated ids into text one at a time; holds back incomplete UTF-8 sequences. */
  interface Decoder {
    /** Text completed by this token (may be empty). */
    String accept(int token);

    /** Text still held back at the end of the sequence. */
    String flush();
  }
}
