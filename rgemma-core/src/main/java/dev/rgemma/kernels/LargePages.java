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
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Off-heap memory for packed weights, backed by transparent huge pages where Linux offers them:
 * an anonymous {@code mmap} advised {@code MADV_HUGEPAGE} before it is first touched. Gigabytes of
 * weights in 2 MiB pages fault in 512 times less often while loading and need far fewer TLB entries
 * while streaming. Anywhere else (or if a call fails, or native access is denied) it falls back to
 * {@link Arena#allocate}. The memory is unmapped when the arena closes.
 *
 * <p>Matrices smaller than a huge page are cut from shared {@link #CHUNK}-sized huge-page mappings
 * (one current chunk per arena), not taken from the arena's allocator: on 4 KiB pages they streamed
 * far slower. Measured on the development VM (nested paging), the 2B model's per-head RG-LRU gate
 * matrices (256 KiB each, 94 MB per token in float32) and its key/value projections read at 13-22
 * GB/s where the large matrices beside them read at 24-27.
 */
final class LargePages {
  private static final System.Logger LOG = System.getLogger("dev.rgemma.kernels");
  /** Below one huge page, a piece of a shared chunk (a mapping of its own would waste most of a page). */
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

  /** Size of the huge-page mappings that small matrices are cut from. */
  static final long CHUNK = 8L << 20;
  /** Alignment of the matrices cut from a chunk (a page each; at most 4 KiB lost per matrix). */
  private static final long SLICE_ALIGNMENT = 4096;

  /** The chunk that each arena's small matrices are currently cut from (arenas compare by identity). */
  private static final Map<Arena, Chunk> CHUNKS = new WeakHashMap<>();

  private static final class Chunk {
    final MemorySegment memory;
    long used;

    Chunk(MemorySegment memory) {
      this.memory = memory;
    }
  }

  private LargePages() {}

  /** {@code bytes} of zeroed memory aligned to at least 64 bytes, freed when {@code arena} closes. */
  static MemorySegment allocate(long bytes, Arena arena) {
    if (MMAP == null) {
      return arena.allocate(bytes, 64);
    }
    if (bytes < MIN_BYTES) {
      return slice(bytes, arena);
    }
    return map(bytes, arena);
  }

  /** A page-aligned piece of the arena's current chunk, or of a new chunk when it is full. */
  private static MemorySegment slice(long bytes, Arena arena) {
    synchronized (CHUNKS) {
      Chunk chunk = CHUNKS.get(arena);
      long at = chunk == null ? 0 : (chunk.used + SLICE_ALIGNMENT - 1) / SLICE_ALIGNMENT * SLICE_ALIGNMENT;
      if (chunk == null || !chunk.memory.scope().isAlive() || at + bytes > chunk.memory.byteSize()) {
        chunk = new Chunk(map(CHUNK, arena)); // if mmap fails, a chunk from the arena's allocator
        CHUNKS.put(arena, chunk);
        at = 0;
      }
      chunk.used = at + bytes;
      return chunk.memory.asSlice(at, bytes);
    }
  }

  /** A mapping of its own, advised to use huge pages. */
  private static MemorySegment map(long bytes, Arena arena) {
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
