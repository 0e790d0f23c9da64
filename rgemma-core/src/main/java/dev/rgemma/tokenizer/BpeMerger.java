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

  // Open addressing: keys[i] = left << 32 | right, values[i] = priority << 32 | mergedId.
  private final long[] keys;
  private final long[] values;
  private final int mask;
  private int size;

  BpeMerger(int expectedRules) {
    int capacity = Integer.highestOneBit(Math.max(16, expectedRules * 2 - 1)) << 1;
    keys = new long[capacity];
    values = new long[capacity];
    Arrays.fill(keys, EMPTY);
    mask = capacity - 1;
  }

  /** Adds or replaces the rule for a pair (a later duplicate wins, as in both references). */
  void addRule(int left, int right, int priority, int merged) {
    if (size * 2 >= keys.length) throw new IllegalStateException("BPE rule table is full");
    long key = ((long) left << 32) | (right & 0xFFFFFFFFL);
    int slot = slot(key);
    if (keys[slot] != key) size++;
    keys[slot] = key;
    values[slot] = ((long) priority << 32) | (merged & 0xFFFFFFFFL);
  }

  int ruleCount() {
    return size;
  }

  /** The rule for (left, right) as priority << 32 | mergedId, or -1. */
  long rule(int left, int right) {
    if (left < 0 || right < 0) return EMPTY;
    long key = ((long) left << 32) | (right & 0xFFFFFFFFL);
    int slot = slot(key);
    return keys[slot] == key ? values[slot] : EMPTY;
  }

  private int slot(long key) {
    int slot = (int) (mix(key) & mask);
    while (keys[slot] != EMPTY && keys[slot] != key) slot = (slot + 1) & mask;
    return slot;
  }

  private static long mix(long key) {
    key *= 0x9E3779B97F4A7C15L;
    return key ^ (key >>> 29);
  }

  /** Called for each merge, so a caller can remember how a piece was formed. */
  interface MergeListener {
    void merged(int left, int right, int merged);
  }

  /**
   * Merges {@code ids} in place; {@code NO_ID} entries never merge. Returns the number of symbols
   * left, which occupy the first slots of {@code ids} in order. {@code originalIndex}, when not
   * null, receives for each surviving symbol its first position in the input.
   */
  int merge(int[] ids, int length, int[] originalIndex, MergeListener listener) {
    if (length < 2) {
      if (originalIndex != null && length == 1) originalIndex[0] = 0;
      return length;
    }
    int[] next = new int[length];
    int[] prev = new int[length];
    for (int i = 0; i < length; i++) {
      next[i] = i + 1 < length ? i + 1 : -1;
      prev[i] = i - 1;
    }
    LongHeap queue = new LongHeap(length);
    for (int i = 0; i + 1 < length; i++) offer(queue, ids, i, i + 1);
    boolean[] dead = new boolean[length];
    while (!queue.isEmpty()) {
      long entry = queue.poll();
      int left = (int) entry;
      int priority = (int) (entry >>> 32);
      if (dead[left]) continue;
      int right = next[left];
      if (right < 0) continue;
      long rule = rule(ids[left], ids[right]);
      if (rule == EMPTY || (int) (rule >>> 32) != priority) continue;
      int merged = (int) rule;
      if (listener != null) listener.merged(ids[left], ids[right], merged);
      ids[left] = merged;
      dead[right] = true;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      if (prev[left] >= 0) offer(queue, ids, prev[left], left);
      if (next[left] >= 0) offer(queue, ids, left, next[left]);
    }
    int count = 0;
    for (int i = 0; i >= 0; i = next[i]) {
      if (originalIndex != null) originalIndex[count] = i;
      ids[count++] = ids[i];
    }
    return count;
  }

  private void offer(LongHeap queue, int[] ids, int left, int right) {
    long rule = rule(ids[left], ids[right]);
    if (rule != EMPTY) queue.add((rule & 0xFFFFFFFF00000000L) | left);
  }

  /** A binary min-heap of longs. */
  private static final class LongHeap {
    private long[] heap;
    private int size;

    LongHeap(int capacity) {
      heap = new long[Math.max(4, capacity)];
    }

    boolean isEmpty() {
      return size == 0;
    }

    void add(long value) {
      if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
      int i = size++;
      while (i > 0) {
        int parent = (i - 1) >>> 1;
        if (heap[parent] <= value) break;
        heap[i] = heap[parent];
        i = parent;
      }
      heap[i] = value;
    }

    long poll() {
      long top = heap[0];
      long last = heap[--size];
      int i = 0;
      int half = size >>> 1;
      while (i < half) {
        int child = 2 * i + 1;
        if (child + 1 < size && heap[child + 1] < heap[child]) child++;
        if (heap[child] >= last) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
      return top;
    }
  }
}
