package dev.rgemma.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The touch-ahead choice: the property, else the processor's vendor from cpuinfo. */
class TouchAheadTest {
  @TempDir Path dir;

  @Test
  void readsTheFirstVendorOfCpuinfo() throws IOException {
    Path cpuinfo = dir.resolve("cpuinfo");
    Files.writeString(cpuinfo, """
        processor\t: 0
        vendor_id\t: AuthenticAMD
        cpu family\t: 26

        processor\t: 1
        vendor_id\t: GenuineIntel
        """);
    assertEquals("AuthenticAMD", TouchAhead.cpuVendor(cpuinfo));
  }

  @Test
  void unknownVendorWhenCpuinfoIsMissingOrSilent() throws IOException {
    assertEquals("", TouchAhead.cpuVendor(dir.resolve("absent")));
    Path cpuinfo = dir.resolve("cpuinfo");
    Files.writeString(cpuinfo, "processor\t: 0\nmodel name\t: some core\n");
    assertEquals("", TouchAhead.cpuVendor(cpuinfo));
  }

  @Test
  void kernelSettingsRejectBadValuesOfEitherProperty() {
    for (String property : new String[] {TouchAhead.PROPERTY, KernelProvider.PROPERTY}) {
      String before = System.getProperty(property);
      try {
        System.setProperty(property, "bogus");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, KernelSettings::validate);
        assertTrue(e.getMessage().startsWith("-D" + property + "=bogus: expected "), e.getMessage());
      } finally {
        if (before == null) {
          System.clearProperty(property);
        } else {
          System.setProperty(property, before);
        }
      }
    }
    KernelSettings.validate(); // the defaults
  }

  @Test
  void propertyDecidesAndRejectsOtherValues() {
    String before = System.getProperty(TouchAhead.PROPERTY);
    try {
      System.setProperty(TouchAhead.PROPERTY, "on");
      assertTrue(TouchAhead.enabled());
      System.setProperty(TouchAhead.PROPERTY, " OFF ");
      assertFalse(TouchAhead.enabled());
      System.setProperty(TouchAhead.PROPERTY, "auto");
      assertNull(TouchAhead.forced(), "auto leaves the choice to the processor's vendor");
      System.setProperty(TouchAhead.PROPERTY, "sometimes");
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, TouchAhead::enabled);
      assertTrue(e.getMessage().contains("sometimes") && e.getMessage().contains("'auto', 'on' or 'off'"),
          e.getMessage());
    } finally {
      if (before == null) {
        System.clearProperty(TouchAhead.PROPERTY);
      } else {
        System.setProperty(TouchAhead.PROPERTY, before);
      }
    }
  }
}
