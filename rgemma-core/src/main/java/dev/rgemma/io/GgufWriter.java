package dev.rgemma.io;

import dev.rgemma.tensor.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a GGUF v3 file: metadata of every GGUF type, tensor infos, then tensor data aligned to
 * {@code general.alignment} (32 unless set as a UINT32). Tensor bytes are produced one tensor at
 * a time straight into the memory-mapped output, so converting a model needs no more memory than
 * its largest source tensor. The file is written under a temporary name and renamed when
 * complete, so a failed write never leaves a truncated model behind.
 */
public final class GgufWriter {
  /**
   * Fills {@code target} (exactly the tensor's byte size) with the tensor's data; it may do so
   * from several threads.
   */
  @FunctionalInterface
  public interface TensorData {
    void write(MemorySegment target) throws IOException;
  }

  /** Told after each tensor is written. */
  @FunctionalInterface
  public interface Progress {
    void tensorWritten(String name, int done, int total, long bytesDone, long bytesTotal);
  }

  private record Pending(String name, DType dtype, long[] dims, TensorData data, long bytes) {}

  private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
  private final Map<String, Pending> tensors = new LinkedHashMap<>();

  public GgufWriter put(String key, GgufValue value) {
    Objects.requireNonNull(key);
    Objects.requireNonNull(value);
    if (key.equals(GgufFile.ALIGNMENT_KEY)) {
      long a = value.type() == GgufValue.Type.UINT32 ? value.asLong() : -1;
      if (a <= 0 || Long.bitCount(a) != 1) {
        throw new IllegalArgumentException(GgufFile.ALIGNMENT_KEY + " must be a UINT32 power of two, got " + value);
      }
    }
    metadata.put(key, value);
    return this;
  }

  /**
   * Adds a tensor; {@code dims} innermost first as GGUF stores them ({@code dims[0]} = columns),
   * i.e. the reverse of a PyTorch shape.
   */
  public GgufWriter addTensor(String name, DType dtype, long[] dims, TensorData data) {
    Objects.requireNonNull(name);
    if (dims.length < 1 || dims.length > GgufFile.MAX_DIMS) {
      throw new IllegalArgumentException(name + ": " + dims.length + " dimensions, GGUF allows 1 to " + GgufFile.MAX_DIMS);
    }
    long elements = 1;
    for (long d : dims) {
      if (d <= 0) {
        throw new IllegalArgumentException(name + ": bad dimensions " + Arrays.toString(dims));
      }
      elements = Math.multiplyExact(elements, d);
    }
    if (dims[0] % dtype.blockSize() != 0) {
      throw new IllegalArgumentException(name + ": " + dtype + " needs the innermost dimension to be a multiple of "
          + dtype.blockSize() + ", got " + dims[0]);
    }
    if (tensors.containsKey(name)) {
      throw new IllegalArgumentException("tensor '" + name + "' added twice");
    }
    tensors.put(name, new Pending(name, dtype, dims.clone(), data, dtype.byteSize(elements)));
    return this;
  }

  private int alignment() {
    GgufValue a = metadata.get(GgufFile.ALIGNMENT_KEY);
    return a == null ? GgufFile.DEFAULT_ALIGNMENT : (int) a.asLong();
  }

  /**
   * Writes the file; {@code progress} may be null. The output is checked first (not a directory,
   * its directory exists), so a conversion is not run only to fail at the final rename.
   */
  public void write(Path out, Progress progress) throws IOException {
    PartialFile.checkTarget(out);
    int alignment = alignment();
    Encoder header = new Encoder();
    header.u32(GgufFile.MAGIC);
    header.u32(GgufFile.VERSION);
    header.u64(tensors.size());
    header.u64(metadata.size());
    for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
      header.string(e.getKey());
      header.u32(e.getValue().type().id());
      header.value(e.getValue());
    }
    List<Long> offsets = new ArrayList<>();
    long offset = 0;
    for (Pending t : tensors.values()) {
      header.string(t.name());
      header.u32(t.dims().length);
      for (long d : t.dims()) {
        header.u64(d);
      }
      header.u32(GgufFile.ggmlTypeId(t.dtype()));
      header.u64(offset);
      offsets.add(offset);
      offset = align(offset + t.bytes(), alignment);
    }
    byte[] headerBytes = header.toByteArray();
    long dataStart = align(headerBytes.length, alignment);
    long total = tensors.isEmpty() ? headerBytes.length : dataStart + offset;
    Path temporary = PartialFile.createBeside(out);
    try {
      try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        channel.truncate(0);
        ByteBuffer headerBuffer = ByteBuffer.wrap(headerBytes);
        while (headerBuffer.hasRemaining()) {
          channel.write(headerBuffer);
        }
        if (total > headerBytes.length) {
          // Extend to full length; the padding and gaps are zeros.
          channel.write(ByteBuffer.wrap(new byte[1]), total - 1);
        }
        int index = 0;
        long written = 0;
        long bytesTotal = total - dataStart;
        for (Pending t : tensors.values()) {
          // One mapping per tensor, unmapped once written: the process never holds the whole file.
          try (Arena arena = Arena.ofShared()) {
            MemorySegment target = channel.map(FileChannel.MapMode.READ_WRITE, dataStart + offsets.get(index),
                t.bytes(), arena);
            t.data().write(target);
            target.force();
          }
          index++;
          written += t.bytes();
          if (progress != null) {
            progress.tensorWritten(t.name(), index, tensors.size(), written, bytesTotal);
          }
        }
      }
      PartialFile.commit(temporary, out);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private static long align(long value, int alignment) {
    return (value + alignment - 1) / alignment * alignment;
  }

  /** Little-endian GGUF encoding into memory (the header is small). */
  private static final class Encoder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    void u8(long v) {
      out.write((int) v);
    }

    void u16(long v) {
      scratch.clear();
      scratch.putShort((short) v);
      out.write(scratch.array(), 0, 2);
    }

    void u32(long v) {
      scratch.clear();
      scratch.putInt((int) v);
      out.write(scratch.array(), 0, 4);
    }

    void u64(long v) {
      scratch.clear();
      scratch.putLong(v);
      out.write(scratch.array(), 0, 8);
    }

    void string(String s) {
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      u64(bytes.length);
      out.write(bytes, 0, bytes.length);
    }

    void value(GgufValue v) {
      if (v.type() == GgufValue.Type.ARRAY) {
        u32(v.elementType().id());
        List<?> list = v.asList();
        u64(list.size());
        for (Object element : list) {
          if (v.elementType() == GgufValue.Type.ARRAY) {
            value((GgufValue) element);
          } else {
            scalar(v.elementType(), element);
          }
        }
      } else {
        scalar(v.type(), v.value());
      }
    }

    void scalar(GgufValue.Type type, Object value) {
      switch (type) {
        case UINT8, INT8 -> u8((Long) value);
        case UINT16, INT16 -> u16((Long) value);
        case UINT32, INT32 -> u32((Long) value);
        case UINT64, INT64 -> u64((Long) value);
        case FLOAT32 -> u32(Float.floatToRawIntBits((Float) value));
        case FLOAT64 -> u64(Double.doubleToRawLongBits((Double) value));
        case BOOL -> u8((Boolean) value ? 1 : 0);
        case STRING -> string((String) value);
        case ARRAY -> throw new AssertionError("handled by value()");
      }
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }
}
