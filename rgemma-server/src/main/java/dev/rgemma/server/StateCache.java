package dev.rgemma.server;

import dev.rgemma.model.ModelState;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Model states at the ends of earlier requests, keyed by the tokens they have processed; least
 * recently used first out, bounded by bytes. A new prompt that extends a key resumes from a copy
 * of that state and only needs its remaining tokens.
 */
public final class StateCache {
  private final long maxBytes;
  private final LinkedHashMap<Key, ModelState> entries = new LinkedHashMap<>(16, 0.75f, true);
  private long bytes;

  /** @param maxBytes bound on the states and keys held; 0 disables the cache */
  public StateCache(long maxBytes) {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("state cache size must be >= 0 bytes, got " + maxBytes);
    }
    this.maxBytes = maxBytes;
  }

  /** A hit: a private copy of the cached state and how many prompt tokens it covers. */
  public record Hit(ModelState state, int tokens) {}

  /**
   * The longest cached entry whose tokens are a proper prefix of {@code prompt} (at least one
   * prompt token must be left to compute the next token's logits), or null.
   */
  public synchronized Hit lookup(int[] prompt) {
    Key best = null;
    for (Key key : entries.keySet()) {
      if (key.tokens.length < prompt.length
          && (best == null || key.tokens.length > best.tokens.length)
          && Arrays.equals(key.tokens, 0, key.tokens.length, prompt, 0, key.tokens.length)) {
        best = key;
      }
    }
    if (best == null) {
      return null;
    }
    return new Hit(entries.get(best).copy(), best.tokens.length); // get() marks it recently used
  }

  /** Keeps {@code state} (which the cache now owns) as the state after {@code tokens}. */
  public synchronized void put(int[] tokens, ModelState state) {
    if (state.position() != tokens.length) {
      throw new IllegalArgumentException("state is at position " + state.position() + " but "
          + tokens.length + " tokens were given");
    }
    Key key = new Key(tokens.clone());
    long size = size(key, state);
    if (size > maxBytes) {
      return;
    }
    ModelState old = entries.remove(key);
    if (old != null) {
      bytes -= size(key, old);
    }
    entries.put(key, state);
    bytes += size;
    Iterator<Map.Entry<Key, ModelState>> eldest = entries.entrySet().iterator();
    while (bytes > maxBytes && eldest.hasNext()) {
      Map.Entry<Key, ModelState> e = eldest.next();
      bytes -= size(e.getKey(), e.getValue());
      eldest.remove();
    }
  }

  public synchronized long bytes() {
    return bytes;
  }

  public synchronized int size() {
    return entries.size();
  }

  public long maxBytes() {
    return maxBytes;
  }

  private static long size(Key key, ModelState state) {
    return state.sizeBytes() + 4L * key.tokens.length;
  }

  private record Key(int[] tokens) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && Arrays.equals(tokens, k.tokens);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
      return "Key[" + tokens.length + " tokens]";
    }
  }
}
