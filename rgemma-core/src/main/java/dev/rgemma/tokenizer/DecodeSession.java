package dev.rgemma.tokenizer;

/**
 * Turns token ids into text left to right. {@link #accept} appends only text that no later token
 * can change (complete characters, nothing a trailing strip might remove); {@link #finish}
 * appends the rest. Decoding a whole sequence and streaming it therefore give the same text.
 */
interface DecodeSession {
  void accept(int id, StringBuilder out);

  void finish(StringBuilder out);
}
