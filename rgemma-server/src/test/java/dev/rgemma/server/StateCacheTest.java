package dev.rgemma.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rgemma.model.ModelState;
import dev.rgemma.model.RecurrentGemmaModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StateCacheTest {
  static RecurrentGemmaModel model;

  @BeforeAll
  static void load() {
    model = Reference.tinyModel();
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static ModelState stateAfter(int[] tokens) {
    ModelState state = model.newState();
    model.forwardLast(state, tokens);
    return state;
  }

  @Test
  void findsTheLongestCachedProperPrefix() {
    StateCache cache = new StateCache(1 << 20);
    cache.put(new int[] {2, 10, 11}, stateAfter(new int[] {2, 10, 11}));
    cache.put(new int[] {2, 10, 11, 12, 13}, stateAfter(new int[] {2, 10, 11, 12, 13}));
    cache.put(new int[] {2, 20}, stateAfter(new int[] {2, 20}));

    StateCache.Hit hit = cache.lookup(new int[] {2, 10, 11, 12, 13, 14});
    assertEquals(5, hit.tokens());
    assertEquals(5, hit.state().position());
    assertEquals(3, cache.lookup(new int[] {2, 10, 11, 12, 99}).tokens());
    // A key equal to the prompt leaves no token to compute logits from.
    assertEquals(3, cache.lookup(new int[] {2, 10, 11, 12, 13}).tokens());
    assertNull(cache.lookup(new int[] {2, 10}));
    assertNull(cache.lookup(new int[] {3, 10, 11, 12}));
  }

  @Test
  void hitsAreCopiesThatDoNotChangeTheCachedState() {
    StateCache cache = new StateCache(1 << 20);
    int[] tokens = {2, 30, 31};
    cache.put(tokens, stateAfter(tokens));
    StateCache.Hit first = cache.lookup(new int[] {2, 30, 31, 32});
    float[] expected = model.forwardLast(first.state(), new int[] {32});
    StateCache.Hit second = cache.lookup(new int[] {2, 30, 31, 32});
    assertNotSame(first.state(), second.state());
    assertEquals(3, second.state().position());
    float[] again = model.forwardLast(second.state(), new int[] {32});
    assertArrayEquals(expected, again);
  }

  @Test
  void evictsTheLeastRecentlyUsedBeyondTheByteBound() {
    long stateBytes = model.newState().sizeBytes();
    // Room for two states and their keys, not three.
    StateCache cache = new StateCache(2 * stateBytes + 100);
    cache.put(new int[] {2, 1}, stateAfter(new int[] {2, 1}));
    cache.put(new int[] {2, 2}, stateAfter(new int[] {2, 2}));
    cache.lookup(new int[] {2, 1, 7}); // {2, 1} is now the most recently used
    cache.put(new int[] {2, 3}, stateAfter(new int[] {2, 3}));
    assertEquals(2, cache.size());
    assertNull(cache.lookup(new int[] {2, 2, 7}));
    assertEquals(2, cache.lookup(new int[] {2, 1, 7}).tokens());
    assertEquals(2, cache.lookup(new int[] {2, 3, 7}).tokens());
    assertEquals(2 * (stateBytes + 8), cache.bytes());
  }

  @Test
  void aZeroBoundKeepsNothingAndMismatchedPositionsAreRejected() {
    StateCache off = new StateCache(0);
    off.put(new int[] {2, 5}, stateAfter(new int[] {2, 5}));
    assertEquals(0, off.size());
    assertNull(off.lookup(new int[] {2, 5, 6}));
    StateCache cache = new StateCache(1 << 20);
    assertThrows(IllegalArgumentException.class, () -> cache.put(new int[] {2, 5, 6}, stateAfter(new int[] {2, 5})));
    assertThrows(IllegalArgumentException.class, () -> new StateCache(-1));
  }
}
