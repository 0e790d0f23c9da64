package dev.rgemma.tokenizer;

/**
 * Decodes generated tokens one at a time. Each call returns only text that is final: a character
 * split across byte-fallback pieces is held back until its last byte arrives, so the pieces
 * returned never contain a broken character. The concatenation of all returned strings and
 * {@link #flush()} equals {@link Tokenizer#decode} of the same ids. Not thread-safe.
 */
public final class StreamingDecoder {
  private final DecodeSession session;
  private final StringBuilder out = new StringBuilder();

  StreamingDecoder(DecodeSession session) {
    this.session = session;
  }

  /** Adds one token; returns the text that became complete ("" while a character is incomplete). */
  public String accept(int id) {
    session.accept(id, out);
    return take();
  }

  /** Ends the sequence: returns what was held back (an incomplete character becomes U+FFFD). */
  public String flush() {
    session.finish(out);
    return take();
  }

  private String take() {
    String text = out.toString();
    out.setLength(0);
    return text;
  }
}
