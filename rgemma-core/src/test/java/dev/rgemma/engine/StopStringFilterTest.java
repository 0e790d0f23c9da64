package dev.rgemma.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringFilterTest {

  @Test
  void holdsBackAPossibleStartAndNeverEmitsTheMatch() {
    StopStringFilter filter = new StopStringFilter(List.of("o Wor"));
    assertEquals("Hel", filter.accept("Hel"));
    assertEquals("l", filter.accept("lo W"), "'o W' could start the stop string");
    assertEquals("", filter.accept("orld"));
    assertTrue(filter.matched());
    assertEquals("", filter.finish());
  }

  @Test
  void releasesHeldTextWhenItStopsLookingLikeAStop() {
    StopStringFilter filter = new StopStringFilter(List.of("END"));
    assertEquals("the ", filter.accept("the E"));
    assertEquals("", filter.accept("N"), "'EN' could still become 'END'");
    assertEquals("ENd", filter.accept("d"));
    assertFalse(filter.matched());
  }

  @Test
  void heldTextComesOutAtTheEnd() {
    StopStringFilter filter = new StopStringFilter(List.of("###"));
    assertEquals("a", filter.accept("a#"));
    assertEquals("", filter.accept("#"));
    assertEquals("##", filter.finish());
    assertFalse(filter.matched());
  }

  @Test
  void theEarliestOfSeveralStopsWins() {
    StopStringFilter filter = new StopStringFilter(List.of("cd", "b"));
    assertEquals("a", filter.accept("abcd"));
    assertTrue(filter.matched());
  }

  @Test
  void aMatchInsideOnePieceCutsIt() {
    StopStringFilter filter = new StopStringFilter(List.of("\n\n"));
    assertEquals("one", filter.accept("one\n\ntwo"));
    assertTrue(filter.matched());
  }
}
