package dev.rgemma.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Off-heap memory for packed weights, backed by transparent huge pages where Linux offers them:
 * an anonymous {@code mmap} advised {@code MADV_HUGEPAGE} before it is first touched. Gigabytes of
 * weights in 2 MiB pages fault in 512 times less often while loading and need far fewer TLB entries
 * while streaming. Anywhere else (or if a call fails, or native access is denied) it falls back to
 * {@link Arena#allocate}. The memory is unmapped when the arena closes.
 */
final class LargePages {
  private static final System.Logger LOG = System.getLogger("dev.rgemma.kernels");
  /** Below one huge page, ordinary allocation (at most one partly used huge page per matrix). */
  private static final long MIN_BYTES = 2L << 20;
  private static final long HUGE_PAGE = 2L << 20;

  private static final int PROT_READ_WRITE = 0x1 | 0x2;
  private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
  private static final int MADV_HUGEPAGE = 14;

  private static final MethodHandle MMAP;
  private static final MethodHandle MADVISE;
  private static final MethodHandle MUNMAP;

  static {
    MethodHandle mmap = null;
    MethodHandle madvise = null;
    MethodHandle munmap = null;
    boolean linux = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
        && !Boolean.getBoolean("rgemma.noHugePages");
    if (linux) {
      try {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
      } catch (RuntimeException | LinkageError e) {
        LOG.log(Level.DEBUG, "rgemma: no huge-page allocation: " + e);
        mmap = null;
      }
    }
    MMAP = mmap;
    MADVISE = madvise;
    MUNMAP = munmap;
  }

  private LargePages() {}

  /** {@code bytes} of zeroed memory aligned to at least 64 bytes, freed when {@code arena} closes. */
  static MemorySegment allocate(long bytes, Arena arena) {
    if (MMAP == null || bytes < MIN_BYTES) {
      return arena.allocate(bytes, 64);
    }
    long size = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    try {
      MemorySegment address = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size, PROT_READ_WRITE,
          MAP_PRIVATE_ANONYMOUS, -1, 0L);
      if (address.address() == -1L || address.address() == 0L) {
        return arena.allocate(bytes, 64);
      }
      int advised = (int) MADVISE.invokeExact(address, size, MADV_HUGEPAGE);
      if (advised != 0) {
        LOG.log(Level.DEBUG, "rgemma: madvise(MADV_HUGEPAGE) failed; using normal pages");
      }
      // Fresh anonymous pages read as zero, like Arena.allocate's.
      return address.reinterpret(size, arena, segment -> unmap(segment, size)).asSlice(0, bytes);
    } catch (Throwable e) {
      LOG.log(Level.DEBUG, "rgemma: huge-page allocation failed, falling back: " + e);
      return arena.allocate(bytes, 64);
    }
  }

  private static void unmap(MemorySegment segment, long size) {
    try {
      int result = (int) MUNMAP.invokeExact(segment, size);
      if (result != 0) {
        LOG.log(Level.WARNING, "rgemma: munmap failed for " + size + " bytes");
      }
    } catch (Throwable e) {
      LOG.log(Level.WARNING, "rgemma: munmap failed: " + e);
    }
  }
}
