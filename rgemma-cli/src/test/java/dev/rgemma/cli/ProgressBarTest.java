package dev.rgemma.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ProgressBarTest {
  @Test
  void amountsTakeTheUnitOfTheTotal() {
    assertEquals("1.23/5.42 GB", ProgressBar.amounts(1_234_000_000L, 5_420_000_000L));
    assertEquals("0.00/1.00 GB", ProgressBar.amounts(0, 1_000_000_000L));
    assertEquals("3.5/6.9 MB", ProgressBar.amounts(3_500_000L, 6_945_488L));
    assertEquals("12/40 kB", ProgressBar.amounts(12_000L, 40_000L));
  }

  @Test
  void sizesTakeTheirOwnUnit() {
    assertEquals("5.42 GB", ProgressBar.size(5_415_209_408L));
    assertEquals("2.3 MB", ProgressBar.size(2_288_256L));
    assertEquals("1 kB", ProgressBar.size(999L));
  }
}
