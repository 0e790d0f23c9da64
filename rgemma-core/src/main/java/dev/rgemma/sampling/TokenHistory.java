package dev.rgemma.sampling;

import java.util.Arrays;

/**
 * The most recent tokens of a sequence (prompt and generated), as the penalties need them: a ring
 * buffer of fixed capacity, so its size does not grow with the sequence.
 */
public final class TokenHistory {
  private final int[] ring; // [capacity], slot = index mod capacity
  private long added;

  public TokenHistory(int capacity) {
    if (capacity < 0) {
      throw new IllegalArgumentException("history capacity must be >= 0, got " + capacity);
    }
    this.ring = new int[capacity];
  }

  public int capacity() {
    return ring.length;
  }

  /** How many tokens are held: min(added, capacity). */
  public int size() {
    return (int) Math.min(added, ring.length);
  }

  public void add(int token) {
    if (ring.length == 0) {
      return;
    }
    ring[(int) (added % ring.length)] = token;
    added++;
  }

  public void addAll(int[] tokens) {
    for (int token : tokens) {
      add(token);
    }
  }

  public void clear() {
    added = 0;
    Arrays.fill(ring, 0);
  }

  /** The held tokens, oldest first. */
  public int[] toArray() {
    return last(size());
  }

  /** The {@code count} most recent held tokens (all if fewer are held), oldest first. */
  public int[] last(int count) {
    int n = Math.min(Math.max(0, count), size());
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = ring[(int) ((added - n + i) % ring.length)];
    }
    return out;
  }
}
