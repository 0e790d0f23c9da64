package dev.rgemma.kernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Whether the float decode loops (BF16, F16, F32) touch the weights {@code 2048} bytes ahead of
 * their vector loads. The touch is a one-byte load per cache line that starts its fetch early; it
 * is worth it or not depending on the processor's own prefetchers, measured on the two machines
 * this project has run on (BENCHMARKS.md):
 *
 * <ul>
 *   <li>Intel Xeon (AVX-512): the BF16 loop went from ~23 to ~27 GB/s over 2 GB, level with a
 *       plain summing loop;
 *   <li>AMD EPYC (Zen 5): without touching the BF16 loop already streams at the summing loop's
 *       rate (55-62 GB/s on two threads); with it, 40 GB/s, and 2B bf16 decoding fell from 11.4
 *       to 6.9 tokens/s.
 * </ul>
 *
 * <p>So {@code auto} (the default) touches on Intel processors only. {@code
 * -Drgemma.touchAhead=on|off} decides for any machine; the choice changes no result, only speed.
 */
final class TouchAhead {
  static final String PROPERTY = "rgemma.touchAhead";

  private TouchAhead() {}

  /** The choice for this JVM: the property, or for {@code auto} the processor's vendor. */
  static boolean enabled() {
    Boolean forced = forced();
    return forced != null ? forced : "GenuineIntel".equals(cpuVendor(Path.of("/proc/cpuinfo")));
  }

  /**
   * The property's value: true (on), false (off) or null (auto); checks it without reading the
   * processor's vendor.
   */
  static Boolean forced() {
    String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    return switch (wanted) {
      case "on", "true" -> Boolean.TRUE;
      case "off", "false" -> Boolean.FALSE;
      case "auto" -> null;
      default -> throw new IllegalArgumentException(
          "-D" + PROPERTY + "=" + wanted + ": expected 'auto', 'on' or 'off'");
    };
  }

  /** The first {@code vendor_id} in a Linux cpuinfo file, or "" (unreadable, another OS). */
  static String cpuVendor(Path cpuinfo) {
    if (!Files.isReadable(cpuinfo)) {
      return "";
    }
    try (Stream<String> lines = Files.lines(cpuinfo)) {
      return lines.filter(line -> line.startsWith("vendor_id"))
          .map(line -> line.substring(line.indexOf(':') + 1).trim())
          .findFirst()
          .orElse("");
    } catch (IOException | java.io.UncheckedIOException e) {
      return "";
    }
  }
}
