package dev.rgemma.io;

import dev.rgemma.RgemmaException;
import dev.rgemma.tensor.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped GGUF file (versions 2 and 3: 64-bit counts). The file is untrusted: every
 * count, length, dimension and offset is checked against the file before use, and errors name the
 * file, the field and the byte offset.
 *
 * <p>Layout: magic {@code "GGUF"}, u32 version, u64 tensor count, u64 metadata count; metadata
 * (string key, u32 type, value); tensor infos (string name, u32 dimension count, u64 dimensions
 * innermost first, u32 ggml type, u64 offset); padding to the alignment ({@code general.alignment},
 * default 32); tensor data, each at its offset from the start of the data section.
 */
public final class GgufFile implements AutoCloseable {
  static final int MAGIC = 0x46554747; // "GGUF" little-endian

  /** Whether {@code file} starts with the GGUF magic (only its first four bytes are read). */
  public static boolean startsWithMagic(java.nio.file.Path file) throws java.io.IOException {
    byte[] start = new byte[4];
    int read;
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
      read = in.readNBytes(start, 0, 4);
    }
    return read == 4
        && java.nio.ByteBuffer.wrap(start).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt() == MAGIC;
  }
  public static final int VERSION = 3;
  public static final int DEFAULT_ALIGNMENT = 32;
  public static final String ALIGNMENT_KEY = "general.alignment";
  /** ggml allows at most four dimensions. */
  static final int MAX_DIMS = 4;
  private static final int MAX_ARRAY_DEPTH = 8;

  private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /**
   * A tensor: {@code dims} innermost first as in GGUF ({@code dims[0]} = columns), its bytes a
   * slice of the mapped file.
   */
  public record Tensor(String name, DType dtype, long[] dims, MemorySegment data) {
    /** The shape outermost first (safetensors / PyTorch order). */
    public long[] shape() {
      long[] shape = new long[dims.length];
      for (int i = 0; i < dims.length; i++) {
        shape[i] = dims[dims.length - 1 - i];
      }
      return shape;
    }
  }

  private final Path file;
  private final Arena arena;
  private final int version;
  private final int alignment;
  private final Map<String, GgufValue> metadata;
  private final Map<String, Tensor> tensors;

  private GgufFile(Path file, Arena arena, int version, int alignment, Map<String, GgufValue> metadata,
      Map<String, Tensor> tensors) {
    this.file = file;
    this.arena = arena;
    this.version = version;
    this.alignment = alignment;
    this.metadata = Collections.unmodifiableMap(metadata);
    this.tensors = Collections.unmodifiableMap(tensors);
  }

  /** ggml type id of a {@link DType}. */
  public static int ggmlTypeId(DType type) {
    return switch (type) {
      case F32 -> 0;
      case F16 -> 1;
      case Q4_0 -> 2;
      case Q8_0 -> 8;
      case BF16 -> 30;
    };
  }

  static DType dtypeOfGgmlId(long id) {
    for (DType t : DType.values()) {
      if (ggmlTypeId(t) == id) {
        return t;
      }
    }
    return null;
  }

  /** Maps and validates {@code file}. */
  public static GgufFile open(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, "GGUF file not found");
    }
    Arena arena = Arena.ofShared();
    try {
      MemorySegment mapped;
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
        long size = channel.size();
        mapped = size == 0 ? MemorySegment.NULL.reinterpret(0)
            : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
      }
      return new Parser(file, mapped).parse(arena);
    } catch (IOException | RuntimeException e) {
      arena.close();
      throw e;
    }
  }

  public Path file() {
    return file;
  }

  public int version() {
    return version;
  }

  public int alignment() {
    return alignment;
  }

  /** Metadata in file order. */
  public Map<String, GgufValue> metadata() {
    return metadata;
  }

  /** Tensors in file order. */
  public Map<String, Tensor> tensors() {
    return tensors;
  }

  /** A required metadata value; the error names the file and the key. */
  public GgufValue require(String key) {
    GgufValue v = metadata.get(key);
    if (v == null) {
      throw new RgemmaException(file + ": metadata key '" + key + "' is missing");
    }
    return v;
  }

  /** A required string value; the error names the file, the key and the actual type. */
  public String requireString(String key) {
    GgufValue v = require(key);
    if (v.type() != GgufValue.Type.STRING) {
      throw new RgemmaException(file + ": metadata key '" + key + "' is " + v.type() + ", expected STRING");
    }
    return v.asString();
  }

  @Override
  public void close() {
    if (arena.scope().isAlive()) {
      arena.close();
    }
  }

  /** Sequential reader over the mapped bytes with bounds checks. */
  private static final class Parser {
    private final Path file;
    private final MemorySegment bytes;
    private final long size;
    private long position;

    Parser(Path file, MemorySegment bytes) {
      this.file = file;
      this.bytes = bytes;
      this.size = bytes.byteSize();
    }

    RgemmaException error(String field, String problem) {
      return new RgemmaException(file + ": GGUF " + field + ": " + problem + " (at byte " + position + " of " + size + ")");
    }

    void need(long count, String field) {
      if (count < 0 || count > size - position) {
        throw error(field, "needs " + (count < 0 ? Long.toUnsignedString(count) : count) + " bytes, only "
            + (size - position) + " left (truncated file?)");
      }
    }

    int u32(String field) {
      need(4, field);
      int v = bytes.get(U32, position);
      position += 4;
      return v;
    }

    long u64(String field) {
      need(8, field);
      long v = bytes.get(U64, position);
      position += 8;
      return v;
    }

    String string(String field) {
      long length = u64(field + " length");
      need(length, field);
      byte[] data = bytes.asSlice(position, length).toArray(ValueLayout.JAVA_BYTE);
      try {
        String s = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(java.nio.ByteBuffer.wrap(data)).toString();
        position += length;
        return s;
      } catch (CharacterCodingException e) {
        throw error(field, "is not valid UTF-8");
      }
    }

    GgufFile parse(Arena arena) {
      if (size < 24) {
        throw error("header", "file is " + size + " bytes, too short for a GGUF header (24 bytes)");
      }
      int magic = u32("magic");
      if (magic != MAGIC) {
        position = 0;
        throw error("magic", String.format("expected \"GGUF\", found bytes %02x %02x %02x %02x (not a GGUF file?)",
            magic & 0xFF, (magic >>> 8) & 0xFF, (magic >>> 16) & 0xFF, magic >>> 24));
      }
      int version = u32("version");
      if (version != 2 && version != 3) {
        throw error("version", "is " + Integer.toUnsignedString(version) + ", only versions 2 and 3 are supported");
      }
      long tensorCount = u64("tensor count");
      long kvCount = u64("metadata count");
      // Each metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes, each tensor info 8 + 4 + 4 + 8.
      if (kvCount < 0 || kvCount > (size - position) / 13) {
        throw error("metadata count", Long.toUnsignedString(kvCount) + " entries cannot fit in the file");
      }
      if (tensorCount < 0 || tensorCount > (size - position) / 24) {
        throw error("tensor count", Long.toUnsignedString(tensorCount) + " tensors cannot fit in the file");
      }
      Map<String, GgufValue> metadata = new LinkedHashMap<>();
      for (long i = 0; i < kvCount; i++) {
        String key = string("metadata key #" + i);
        String field = "metadata '" + key + "'";
        long typeId = u32(field + " type") & 0xFFFFFFFFL;
        GgufValue.Type type = GgufValue.Type.ofId(typeId);
        if (type == null) {
          throw error(field, "unknown value type " + typeId);
        }
        GgufValue value = value(type, field, 0);
        if (metadata.put(key, value) != null) {
          throw error(field, "key appears twice");
        }
      }
      int alignment = DEFAULT_ALIGNMENT;
      GgufValue alignValue = metadata.get(ALIGNMENT_KEY);
      if (alignValue != null) {
        if (alignValue.type() != GgufValue.Type.UINT32) {
          throw error("metadata '" + ALIGNMENT_KEY + "'", "is " + alignValue.type() + ", expected UINT32");
        }
        long a = alignValue.asLong();
        if (a <= 0 || Long.bitCount(a) != 1 || a > (1 << 30)) {
          throw error("metadata '" + ALIGNMENT_KEY + "'", "is " + a + ", expected a power of two");
        }
        alignment = (int) a;
      }
      record Info(String name, DType dtype, long[] dims, long offset, long bytes) {}
      List<Info> infos = new ArrayList<>();
      java.util.Set<String> names = new java.util.HashSet<>();
      for (long i = 0; i < tensorCount; i++) {
        String name = string("tensor #" + i + " name");
        String field = "tensor '" + name + "'";
        if (!names.add(name)) {
          throw error(field, "name appears twice");
        }
        int dimCount = u32(field + " dimension count");
        if (dimCount < 1 || dimCount > MAX_DIMS) {
          throw error(field, "has " + Integer.toUnsignedString(dimCount) + " dimensions, expected 1 to " + MAX_DIMS);
        }
        long[] dims = new long[dimCount];
        long elements = 1;
        for (int d = 0; d < dimCount; d++) {
          dims[d] = u64(field + " dimension " + d);
          if (dims[d] <= 0 || dims[d] > Integer.MAX_VALUE) {
            throw error(field, "dimension " + d + " is " + Long.toUnsignedString(dims[d]) + ", expected 1 to " + Integer.MAX_VALUE);
          }
          elements = Math.multiplyHigh(elements, dims[d]) != 0 || elements * dims[d] < 0
              ? -1 : elements * dims[d];
          if (elements < 0) {
            throw error(field, "element count overflows");
          }
        }
        long typeId = u32(field + " type") & 0xFFFFFFFFL;
        DType dtype = dtypeOfGgmlId(typeId);
        if (dtype == null) {
          throw error(field, "ggml type " + typeId + " is not supported (supported: F32=0, F16=1, Q4_0=2, Q8_0=8, BF16=30)");
        }
        if (dims[0] % dtype.blockSize() != 0) {
          throw error(field, dtype + " needs the innermost dimension to be a multiple of " + dtype.blockSize()
              + ", got " + dims[0]);
        }
        long offset = u64(field + " offset");
        if (offset < 0 || offset % alignment != 0) {
          throw error(field, "data offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment " + alignment);
        }
        long tensorBytes = dtype.byteSize(elements);
        infos.add(new Info(name, dtype, dims, offset, tensorBytes));
      }
      long dataStart = (position + alignment - 1) / alignment * alignment;
      if (dataStart > size && !infos.isEmpty()) {
        throw error("data section", "starts at " + dataStart + ", beyond the end of the file");
      }
      Map<String, Tensor> tensors = new LinkedHashMap<>();
      for (Info info : infos) {
        long available = size - dataStart;
        if (info.offset() > available || info.bytes() > available - info.offset()) {
          throw new RgemmaException(file + ": GGUF tensor '" + info.name() + "': data [" + info.offset() + ", "
              + (info.offset() + info.bytes()) + ") of the data section runs past the end of the file (data section is "
              + Math.max(0, available) + " bytes; truncated file?)");
        }
        tensors.put(info.name(), new Tensor(info.name(), info.dtype(), info.dims(),
            bytes.asSlice(dataStart + info.offset(), info.bytes())));
      }
      return new GgufFile(file, arena, version, alignment, metadata, tensors);
    }

    private GgufValue value(GgufValue.Type type, String field, int depth) {
      return switch (type) {
        case UINT8 -> { need(1, field); yield new GgufValue(type, null, (long) (bytes.get(ValueLayout.JAVA_BYTE, position++) & 0xFF)); }
        case INT8 -> { need(1, field); yield new GgufValue(type, null, (long) bytes.get(ValueLayout.JAVA_BYTE, position++)); }
        case UINT16 -> { need(2, field); long v = bytes.get(U16, position) & 0xFFFF; position += 2; yield new GgufValue(type, null, v); }
        case INT16 -> { need(2, field); long v = bytes.get(U16, position); position += 2; yield new GgufValue(type, null, v); }
        case UINT32 -> new GgufValue(type, null, u32(field) & 0xFFFFFFFFL);
        case INT32 -> new GgufValue(type, null, (long) u32(field));
        case UINT64, INT64 -> new GgufValue(type, null, u64(field));
        case FLOAT32 -> { need(4, field); float v = bytes.get(F32, position); position += 4; yield new GgufValue(type, null, v); }
        case FLOAT64 -> { need(8, field); double v = bytes.get(F64, position); position += 8; yield new GgufValue(type, null, v); }
        case BOOL -> {
          need(1, field);
          byte b = bytes.get(ValueLayout.JAVA_BYTE, position);
          if (b != 0 && b != 1) {
            throw error(field, "boolean byte is " + b + ", expected 0 or 1");
          }
          position++;
          yield new GgufValue(type, null, b == 1);
        }
        case STRING -> new GgufValue(type, null, string(field));
        case ARRAY -> {
          if (depth >= MAX_ARRAY_DEPTH) {
            throw error(field, "arrays nested deeper than " + MAX_ARRAY_DEPTH);
          }
          long elementId = u32(field + " element type") & 0xFFFFFFFFL;
          GgufValue.Type elementType = GgufValue.Type.ofId(elementId);
          if (elementType == null) {
            throw error(field, "unknown array element type " + elementId);
          }
          long count = u64(field + " element count");
          if (count < 0 || count > (size - position) / elementType.minBytes) {
            throw error(field, "array of " + Long.toUnsignedString(count) + " " + elementType
                + " elements cannot fit in the rest of the file");
          }
          List<Object> values = new ArrayList<>((int) count);
          for (long i = 0; i < count; i++) {
            GgufValue element = value(elementType, field + "[" + i + "]", depth + 1);
            values.add(elementType == GgufValue.Type.ARRAY ? element : element.value());
          }
          yield new GgufValue(type, elementType, Collections.unmodifiableList(values));
        }
      };
    }
  }
}
