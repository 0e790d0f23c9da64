package dev.rgemma.tokenizer;

import java.util.Arrays;

/**
 * Byte-pair merging over symbol ids with a priority queue: O(n log n) in the length of a word.
 * Each adjacent pair that has a merge rule is queued by (priority, position of its left symbol);
 * the smallest is merged first, so equal priorities merge left to right, as both transformers.js
 * (rank plus a positional bias) and SentencePiece (score, then left index) do. Stale queue entries
 * are recognised by looking the pair up again, since a priority names exactly one pair.
 */
final class BpeMerger {
  /** Marks a symbol that never takes part in a merge (an unknown character, a user symbol). */
  static final int NO_ID = -1;

  private static final long EMPTY = -1L;

  // Open addressing, key and value side by side so that a probe touches one cache line:
  // table[2i] = left << 32 | right, table[2i + 1] = priority << 32 | mergedId.
  private final long[] table;
  private final int mask;
  private final int shift;
  private int size;

  BpeMerger(int expectedRules) {
    int capacity = Integer.highestOneBit(Math.max(16, expectedRules * 2 - 1)) << 1;
    table = new long[2 * capacity];
    for (int i = 0; i < table.length; i += 2) table[i] = EMPTY;
    mask = capacity - 1;
    shift = 64 - Integer.numberOfTrailingZeros(capacity);
  }

  /** Adds or replaces the rule for a pair (a later duplicate wins, as in both references). */
  void addRule(int left, int right, int priority, int merged) {
    if (size * 2 >= table.length / 2) throw new IllegalStateException("BPE rule table is full");
    long key = ((long) left << 32) | (right & 0xFFFFFFFFL);
    int slot = slot(key);
    if (table[slot] != key) size++;
    table[slot] = key;
    table[slot + 1] = ((long) priority << 32) | (merged & 0xFFFFFFFFL);
  }

  // Character pairs that occur inside some rule's result. Where two neighbouring characters are
  // not such a pair, no token can ever span them, so the two sides merge independently and the
  // word can be cut there: long texts without spaces become short runs with small queues.
  private long[] joinable = emptyTable(1024);
  private int joinableCount;

  /** Records the adjacent character pairs of a token that some rule produces. */
  void addMergedToken(String token) {
    int previous = -1;
    for (int i = 0; i < token.length(); ) {
      int codePoint = token.codePointAt(i);
      i += Character.charCount(codePoint);
      if (previous >= 0) addJoinable(((long) previous << 32) | codePoint);
      previous = codePoint;
    }
  }

  private void addJoinable(long pair) {
    if (joinableCount * 2 >= joinable.length) {
      long[] old = joinable;
      joinable = emptyTable(old.length * 2);
      joinableCount = 0;
      for (long value : old) if (value != EMPTY) addJoinable(value);
    }
    int slot = joinableSlot(pair);
    if (joinable[slot] != pair) {
      joinable[slot] = pair;
      joinableCount++;
    }
  }

  private int joinableSlot(long pair) {
    int mask = joinable.length - 1;
    int index = (int) ((pair * 0x9E3779B97F4A7C15L) >>> 40) & mask;
    while (joinable[index] != EMPTY && joinable[index] != pair) index = (index + 1) & mask;
    return index;
  }

  private static long[] emptyTable(int length) {
    long[] table = new long[length];
    java.util.Arrays.fill(table, EMPTY);
    return table;
  }

  /** Whether a token could contain {@code left} immediately followed by {@code right}. */
  boolean joinable(int left, int right) {
    return joinableCount > 0 && joinable[joinableSlot(((long) left << 32) | right)] != EMPTY;
  }

  /** The rule for (left, right) as priority << 32 | mergedId, or -1. */
  long rule(int left, int right) {
    if ((left | right) < 0) return EMPTY;
    long key = ((long) left << 32) | right;
    int slot = slot(key);
    return table[slot] == key ? table[slot + 1] : EMPTY;
  }

  private int slot(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    int index = (int) (h >>> shift); // Fibonacci hashing: the top bits are the well-mixed ones
    while (true) {
      long k = table[2 * index];
      if (k == key || k == EMPTY) return 2 * index;
      index = (index + 1) & mask;
    }
  }

  /** Called for each merge, so a caller can remember how a piece was formed. */
  interface MergeListener {
    void merged(int left, int right, int merged);
  }

  /**
   * Merges {@code ids} in place; negative entries never merge. Returns the number of symbols
   * left, which occupy the first slots of {@code ids} in order. {@code originalIndex}, when not
   * null, receives for each surviving symbol its first position in the input.
   */
  int merge(int[] ids, int length, int[] originalIndex, MergeListener listener, Workspace work) {
    if (length < 2) {
      if (originalIndex != null && length == 1) originalIndex[0] = 0;
      return length;
    }
    work.ensure(length);
    int[] next = work.next;
    int[] prev = work.prev;
    // The rule of the pair that starts at each live position (-1: none), so that a queue entry
    // is checked without another table lookup.
    long[] pairRule = work.pairRule;
    LongHeap queue = work.queue;
    queue.clear();
    for (int i = 0; i < length; i++) {
      next[i] = i + 1 < length ? i + 1 : -1;
      prev[i] = i - 1;
      if (i + 1 < length) {
        long rule = rule(ids[i], ids[i + 1]);
        pairRule[i] = rule;
        if (rule != EMPTY) queue.append((rule & 0xFFFFFFFF00000000L) | i);
      } else {
        pairRule[i] = EMPTY;
      }
    }
    queue.heapify();
    while (!queue.isEmpty()) {
      long entry = queue.poll();
      int left = (int) entry;
      long rule = pairRule[left];
      // Stale unless the pair now at `left` still has this priority (a priority names one pair
      // for tokenizer.json; for SentencePiece equal scores merge in position order either way).
      if (rule == EMPTY || (rule >>> 32) != (entry >>> 32)) continue;
      int right = next[left];
      int merged = (int) rule;
      if (listener != null) listener.merged(ids[left], ids[right], merged);
      ids[left] = merged;
      pairRule[right] = EMPTY;
      int after = next[right];
      next[left] = after;
      if (after >= 0) prev[after] = left;
      int before = prev[left];
      if (before >= 0) offer(queue, ids, pairRule, before, left);
      if (after >= 0) offer(queue, ids, pairRule, left, after);
      else pairRule[left] = EMPTY;
    }
    int count = 0;
    for (int i = 0; i >= 0; i = next[i]) {
      if (originalIndex != null) originalIndex[count] = i;
      ids[count++] = ids[i];
    }
    return count;
  }

  /** Scratch arrays for {@link #merge}, reused across the words of one encode call. */
  static final class Workspace {
    int[] next = new int[0];
    int[] prev = new int[0];
    long[] pairRule = new long[0];
    final LongHeap queue = new LongHeap();

    void ensure(int length) {
      if (next.length < length) {
        int capacity = Math.max(length, next.length * 2);
        next = new int[capacity];
        prev = new int[capacity];
        pairRule = new long[capacity];
      }
    }
  }

  private void offer(LongHeap queue, int[] ids, long[] pairRule, int left, int right) {
    long rule = rule(ids[left], ids[right]);
    pairRule[left] = rule;
    if (rule != EMPTY) queue.add((rule & 0xFFFFFFFF00000000L) | left);
  }

  /** A 4-ary min-heap of longs: half the depth of a binary heap, children side by side. */
  static final class LongHeap {
    private long[] heap = new long[64];
    private int size;

    void clear() {
      size = 0;
    }

    /** Adds without keeping heap order; call {@link #heapify} before polling. */
    void append(long value) {
      if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
      heap[size++] = value;
    }

    void heapify() {
      for (int i = (size - 2) >> 2; i >= 0; i--) siftDown(i, heap[i]);
    }

    boolean isEmpty() {
      return size == 0;
    }

    void add(long value) {
      if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
      int i = size++;
      while (i > 0) {
        int parent = (i - 1) >>> 2;
        if (heap[parent] <= value) break;
        heap[i] = heap[parent];
        i = parent;
      }
      heap[i] = value;
    }

    long poll() {
      long top = heap[0];
      long last = heap[--size];
      if (size > 0) siftDown(0, last);
      return top;
    }

    private void siftDown(int i, long value) {
      while (true) {
        int first = 4 * i + 1;
        if (first >= size) break;
        int child = first;
        long smallest = heap[first];
        int last = Math.min(first + 4, size);
        for (int c = first + 1; c < last; c++) {
          if (heap[c] < smallest) {
            smallest = heap[c];
            child = c;
          }
        }
        if (smallest >= value) break;
        heap[i] = smallest;
        i = child;
      }
      heap[i] = value;
    }
  }
}
