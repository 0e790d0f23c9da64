package dev.rgemma.tokenizer;

import dev.rgemma.RgemmaException;

/**
 * SentencePiece's precompiled normalization rules (e.g. nmt_nfkc): a darts-clone double-array
 * trie over UTF-8 byte strings whose values point into a pool of NUL-terminated replacements.
 * Layout: uint32 trie size in bytes (little-endian), the trie's 32-bit units, then the pool.
 */
final class PrecompiledCharsMap {
  private final int[] units;
  private final byte[] pool;

  PrecompiledCharsMap(byte[] blob, String source) {
    if (blob.length < 4) throw new RgemmaException(source + ": precompiled_charsmap is too short");
    int trieSize = (blob[0] & 0xFF) | (blob[1] & 0xFF) << 8 | (blob[2] & 0xFF) << 16 | (blob[3] & 0xFF) << 24;
    if (trieSize < 0 || trieSize % 4 != 0 || trieSize >= blob.length - 4 + 1) {
      throw new RgemmaException(source + ": precompiled_charsmap trie size " + trieSize + " does not fit the blob");
    }
    units = new int[trieSize / 4];
    for (int i = 0; i < units.length; i++) {
      int at = 4 + 4 * i;
      units[i] = (blob[at] & 0xFF) | (blob[at + 1] & 0xFF) << 8 | (blob[at + 2] & 0xFF) << 16 | (blob[at + 3] & 0xFF) << 24;
    }
    pool = java.util.Arrays.copyOfRange(blob, 4 + trieSize, blob.length);
  }

  /**
   * The longest rule matching {@code input} at {@code start}: returns (matched length << 32 |
   * offset of the replacement in the pool), or -1 when no rule matches.
   */
  long longestMatch(byte[] input, int start, int end) {
    if (units.length == 0) return -1;
    long best = -1;
    int nodePosition = 0;
    int unit = units[0];
    nodePosition ^= offset(unit);
    for (int i = start; i < end; i++) {
      int label = input[i] & 0xFF;
      nodePosition ^= label;
      if (nodePosition < 0 || nodePosition >= units.length) return best;
      unit = units[nodePosition];
      if ((unit & 0x800000FF) != label) return best;
      nodePosition ^= offset(unit);
      if (((unit >>> 8) & 1) == 1) {
        if (nodePosition < 0 || nodePosition >= units.length) return best;
        int value = units[nodePosition] & 0x7FFFFFFF;
        best = ((long) (i + 1 - start) << 32) | value;
      }
    }
    return best;
  }

  /** Copies the NUL-terminated replacement at {@code offset} into {@code out}. */
  void appendReplacement(int offset, ByteSink out) {
    for (int i = offset; i < pool.length && pool[i] != 0; i++) out.add(pool[i]);
  }

  private static int offset(int unit) {
    return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
  }

  /** A growable byte array. */
  static final class ByteSink {
    byte[] bytes;
    int size;

    ByteSink(int capacity) {
      bytes = new byte[Math.max(16, capacity)];
    }

    void add(byte b) {
      if (size == bytes.length) bytes = java.util.Arrays.copyOf(bytes, size * 2);
      bytes[size++] = b;
    }

    void add(byte[] source, int from, int to) {
      for (int i = from; i < to; i++) add(source[i]);
    }

    boolean endsWith(byte[] suffix) {
      if (size < suffix.length) return false;
      for (int i = 0; i < suffix.length; i++) if (bytes[size - suffix.length + i] != suffix[i]) return false;
      return true;
    }
  }
}
