package dev.rgemma.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.tensor.DType;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@code .safetensors} file: an 8-byte little-endian header length, a JSON header
 * ({@code __metadata__} plus name → dtype, shape, data_offsets), padded with spaces to a multiple
 * of 8 bytes, then the tensors' little-endian bytes in the order they were added. F32 and BF16
 * (round to nearest even) are supported. The file is written to a temporary sibling and moved
 * into place, so a crash never leaves a half-written checkpoint under the final name.
 */
public final class SafeTensorsWriter {
  private record Entry(String name, DType dtype, long[] shape, float[] values) {}

  private final List<Entry> entries = new ArrayList<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();

  /** Adds a tensor; {@code values} are row-major and must hold exactly product(shape) elements. */
  public SafeTensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
    if (dtype != DType.F32 && dtype != DType.BF16) {
      throw new IllegalArgumentException(
          "tensor " + name + ": only F32 and BF16 can be written, got " + dtype);
    }
    long count = 1;
    for (long s : shape) {
      if (s < 0) {
        throw new IllegalArgumentException("tensor " + name + ": negative dimension in "
            + Arrays.toString(shape));
      }
      count *= s;
    }
    if (count != values.length) {
      throw new IllegalArgumentException("tensor " + name + ": shape " + Arrays.toString(shape)
          + " needs " + count + " values, got " + values.length);
    }
    for (Entry e : entries) {
      if (e.name().equals(name)) {
        throw new IllegalArgumentException("tensor " + name + " added twice");
      }
    }
    if (name.equals("__metadata__")) {
      throw new IllegalArgumentException("\"__metadata__\" is reserved, not a tensor name");
    }
    entries.add(new Entry(name, dtype, shape.clone(), values));
    return this;
  }

  /** Adds a string entry to the header's {@code __metadata__}. */
  public SafeTensorsWriter metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  public void write(Path file) throws IOException {
    Map<String, Object> header = new LinkedHashMap<>();
    if (!metadata.isEmpty()) {
      header.put("__metadata__", metadata);
    }
    long offset = 0;
    for (Entry e : entries) {
      long bytes = e.dtype().byteSize(e.values().length);
      Map<String, Object> info = new LinkedHashMap<>();
      info.put("dtype", e.dtype().name());
      info.put("shape", e.shape());
      info.put("data_offsets", new long[] {offset, offset + bytes});
      header.put(e.name(), info);
      offset += bytes;
    }
    byte[] json = new ObjectMapper().writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    byte[] headerBytes = Arrays.copyOf(json, padded);
    Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path temp = PartialFile.createBeside(file);
    try {
      try (OutputStream out = Files.newOutputStream(temp)) {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        length.putLong(headerBytes.length);
        out.write(length.array());
        out.write(headerBytes);
        ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Entry e : entries) {
          for (float v : e.values()) {
            if (chunk.remaining() < 4) {
              out.write(chunk.array(), 0, chunk.position());
              chunk.clear();
            }
            if (e.dtype() == DType.F32) {
              chunk.putFloat(v);
            } else {
              chunk.putShort(toBf16(v));
            }
          }
        }
        out.write(chunk.array(), 0, chunk.position());
      }
      PartialFile.commit(temp, file);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** float32 → bfloat16 bits, round to nearest even; NaN stays NaN. */
  static short toBf16(float v) {
    int bits = Float.floatToRawIntBits(v);
    if (Float.isNaN(v)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }

  /** Header text as written, for tests and diagnostics. */
  static String headerJsonForTest(byte[] file) {
    long len = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    return new String(file, 8, (int) len, StandardCharsets.UTF_8);
  }
}
