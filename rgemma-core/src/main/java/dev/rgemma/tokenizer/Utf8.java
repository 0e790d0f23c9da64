package dev.rgemma.tokenizer;

/**
 * UTF-8 helpers shared by the tokenizers: an encoder that treats lone surrogates as U+FFFD (as
 * JavaScript's TextEncoder does, rather than Java's '?'), and two incremental decoders for the
 * bytes of byte-fallback pieces, one per reference implementation.
 */
final class Utf8 {
  static final char REPLACEMENT = '\uFFFD';

  private Utf8() {}

  /** UTF-8 bytes of {@code text}; a lone surrogate becomes the three bytes of U+FFFD. */
  static byte[] encode(CharSequence text) {
    byte[] out = new byte[text.length() * 3];
    int n = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      int codePoint = c;
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        codePoint = Character.toCodePoint(c, text.charAt(++i));
      } else if (Character.isSurrogate(c)) {
        codePoint = REPLACEMENT;
      }
      n = encodeCodePoint(codePoint, out, n);
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /** Writes the UTF-8 bytes of one code point at {@code at}; returns the index after them. */
  static int encodeCodePoint(int codePoint, byte[] out, int at) {
    if (codePoint < 0x80) {
      out[at++] = (byte) codePoint;
    } else if (codePoint < 0x800) {
      out[at++] = (byte) (0xC0 | (codePoint >> 6));
      out[at++] = (byte) (0x80 | (codePoint & 0x3F));
    } else if (codePoint < 0x10000) {
      out[at++] = (byte) (0xE0 | (codePoint >> 12));
      out[at++] = (byte) (0x80 | ((codePoint >> 6) & 0x3F));
      out[at++] = (byte) (0x80 | (codePoint & 0x3F));
    } else {
      out[at++] = (byte) (0xF0 | (codePoint >> 18));
      out[at++] = (byte) (0x80 | ((codePoint >> 12) & 0x3F));
      out[at++] = (byte) (0x80 | ((codePoint >> 6) & 0x3F));
      out[at++] = (byte) (0x80 | (codePoint & 0x3F));
    }
    return at;
  }

  /** Number of UTF-8 bytes of one code point. */
  static int length(int codePoint) {
    return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
  }

  /** An incremental decoder for the bytes of consecutive byte-fallback pieces. */
  interface ByteDecoder {
    /** Adds one byte; appends every character that is now complete (or known to be invalid). */
    void push(int b, StringBuilder out);

    /** Ends the byte run: an incomplete character left over becomes replacement characters. */
    void finish(StringBuilder out);

    /** Whether bytes of an incomplete character are held back. */
    boolean hasPending();
  }

  /**
   * The WHATWG "UTF-8 decode" algorithm (JavaScript's TextDecoder, used by transformers.js):
   * each maximal invalid subsequence becomes one U+FFFD.
   */
  static final class WhatwgDecoder implements ByteDecoder {
    private int codePoint;
    private int needed;
    private int seen;
    private int lower = 0x80;
    private int upper = 0xBF;

    @Override
    public void push(int b, StringBuilder out) {
      if (needed == 0) {
        if (b <= 0x7F) {
          out.append((char) b);
        } else if (b >= 0xC2 && b <= 0xDF) {
          needed = 1;
          codePoint = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
          if (b == 0xE0) lower = 0xA0;
          if (b == 0xED) upper = 0x9F;
          needed = 2;
          codePoint = b & 0xF;
        } else if (b >= 0xF0 && b <= 0xF4) {
          if (b == 0xF0) lower = 0x90;
          if (b == 0xF4) upper = 0x8F;
          needed = 3;
          codePoint = b & 0x7;
        } else {
          out.append(REPLACEMENT);
        }
        return;
      }
      if (b < lower || b > upper) {
        reset();
        out.append(REPLACEMENT);
        push(b, out); // the byte that broke the sequence starts anew
        return;
      }
      lower = 0x80;
      upper = 0xBF;
      codePoint = (codePoint << 6) | (b & 0x3F);
      if (++seen == needed) {
        out.appendCodePoint(codePoint);
        reset();
      }
    }

    @Override
    public void finish(StringBuilder out) {
      if (needed != 0) {
        reset();
        out.append(REPLACEMENT);
      }
    }

    @Override
    public boolean hasPending() {
      return needed != 0;
    }

    private void reset() {
      codePoint = 0;
      needed = 0;
      seen = 0;
      lower = 0x80;
      upper = 0xBF;
    }
  }

  /**
   * SentencePiece's rule (string_util::DecodeUTF8): at each offset either one whole valid
   * character or, failing that, one byte that becomes U+FFFD.
   */
  static final class SentencePieceDecoder implements ByteDecoder {
    private final int[] pending = new int[4];
    private int count;

    @Override
    public void push(int b, StringBuilder out) {
      pending[count++] = b;
      drain(out, false);
    }

    @Override
    public void finish(StringBuilder out) {
      drain(out, true);
    }

    @Override
    public boolean hasPending() {
      return count > 0;
    }

    private void drain(StringBuilder out, boolean runEnded) {
      while (count > 0) {
        int lead = pending[0];
        int length =
            lead < 0x80 ? 1
                : (lead & 0xE0) == 0xC0 ? 2
                : (lead & 0xF0) == 0xE0 ? 3
                : (lead & 0xF8) == 0xF0 ? 4
                : -1;
        if (length > count) {
          boolean trailSoFar = true;
          for (int i = 1; i < count; i++) trailSoFar &= (pending[i] & 0xC0) == 0x80;
          if (trailSoFar && !runEnded) return; // may still become a valid character
        }
        int codePoint = length > 0 && length <= count ? decode(length) : -1;
        if (codePoint < 0) {
          out.append(REPLACEMENT);
          shift(1);
        } else {
          out.appendCodePoint(codePoint);
          shift(length);
        }
      }
    }

    private int decode(int length) {
      if (length == 1) return pending[0];
      int codePoint = pending[0] & (0x7F >> length);
      for (int i = 1; i < length; i++) {
        if ((pending[i] & 0xC0) != 0x80) return -1;
        codePoint = (codePoint << 6) | (pending[i] & 0x3F);
      }
      int minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
      boolean valid =
          codePoint >= minimum
              && (codePoint < 0xD800 || (codePoint >= 0xE000 && codePoint <= 0x10FFFF));
      return valid ? codePoint : -1;
    }

    private void shift(int n) {
      System.arraycopy(pending, n, pending, 0, count - n);
      count -= n;
    }
  }
}
