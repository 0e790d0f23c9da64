package dev.rgemma.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import dev.rgemma.tensor.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped {@code .safetensors} file. The file is untrusted input: the header length, every
 * dtype, shape and offset is checked against the file before any tensor byte is read, and errors
 * name the file and the tensor.
 *
 * <p>Format: 8 bytes little-endian header length N, N bytes of JSON {@code {name: {dtype, shape,
 * data_offsets: [begin, end]}, "__metadata__": {...}}}, then the data; offsets are relative to
 * the first byte after the header.
 */
public final class SafeTensors implements AutoCloseable {
  /** Largest header we accept; real headers are well under 1 MB. */
  private static final long MAX_HEADER_BYTES = 100L << 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One tensor of the file: its bytes are a slice of the mapped file. */
  public record Tensor(String name, DType dtype, long[] shape, MemorySegment data, Path file) {
    public long elementCount() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }

    public String shapeString() {
      return java.util.Arrays.toString(shape);
    }
  }

  private final Path file;
  private final Arena arena;
  private final Map<String, Tensor> tensors;
  private final Map<String, String> metadata;

  private SafeTensors(Path file, Arena arena, Map<String, Tensor> tensors, Map<String, String> metadata) {
    this.file = file;
    this.arena = arena;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Maps and validates {@code file}. */
  public static SafeTensors open(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, "safetensors file not found");
    }
    Arena arena = Arena.ofShared();
    try {
      MemorySegment mapped;
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
        long size = channel.size();
        mapped = size == 0 ? MemorySegment.NULL.reinterpret(0)
            : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
      }
      SafeTensors result = parse(file, arena, mapped);
      return result;
    } catch (IOException | RuntimeException e) {
      arena.close();
      throw e;
    }
  }

  private static SafeTensors parse(Path file, Arena arena, MemorySegment mapped) {
    long fileSize = mapped.byteSize();
    if (fileSize < 8) {
      throw error(file, "file is " + fileSize + " bytes, too short for the 8-byte header length");
    }
    long headerLength = mapped.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
    if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > fileSize - 8) {
      throw error(file, "header length " + Long.toUnsignedString(headerLength)
          + " is invalid for a file of " + fileSize + " bytes (truncated or not a safetensors file?)");
    }
    byte[] headerBytes = mapped.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
    JsonNode header;
    try {
      header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      throw error(file, "header is not valid JSON: " + JsonErrors.describe(e));
    }
    if (header == null || !header.isObject()) {
      throw error(file, "header must be a JSON object");
    }
    long dataStart = 8 + headerLength;
    long dataSize = fileSize - dataStart;
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    List<long[]> ranges = new ArrayList<>();
    List<String> rangeNames = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      String name = entry.getKey();
      JsonNode info = entry.getValue();
      if (name.equals("__metadata__")) {
        if (info.isObject()) {
          info.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
        }
        continue;
      }
      if (!info.isObject()) {
        throw error(file, "tensor '" + name + "': entry must be an object");
      }
      DType dtype = parseDType(file, name, info.get("dtype"));
      long[] shape = parseShape(file, name, info.get("shape"));
      JsonNode offsets = info.get("data_offsets");
      if (offsets == null || !offsets.isArray() || offsets.size() != 2
          || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()
          || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
        throw error(file, "tensor '" + name + "': data_offsets must be [begin, end] integers");
      }
      long begin = offsets.get(0).asLong();
      long end = offsets.get(1).asLong();
      if (begin < 0 || end < begin || end > dataSize) {
        throw error(file, "tensor '" + name + "': data_offsets [" + begin + ", " + end
            + "] lie outside the " + dataSize + " data bytes (truncated file?)");
      }
      long elements = 1;
      for (long d : shape) {
        elements = Math.multiplyExact(elements, d);
      }
      long expectedBytes = dtype.byteSize(elements);
      if (end - begin != expectedBytes) {
        throw error(file, "tensor '" + name + "': " + dtype + " " + java.util.Arrays.toString(shape)
            + " needs " + expectedBytes + " bytes but data_offsets span " + (end - begin));
      }
      ranges.add(new long[] {begin, end});
      rangeNames.add(name);
      tensors.put(name, new Tensor(name, dtype, shape, mapped.asSlice(dataStart + begin, end - begin), file));
    }
    checkNoOverlap(file, ranges, rangeNames);
    return new SafeTensors(file, arena, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
  }

  private static void checkNoOverlap(Path file, List<long[]> ranges, List<String> names) {
    Integer[] order = new Integer[ranges.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, Comparator.comparingLong(i -> ranges.get(i)[0]));
    for (int k = 1; k < order.length; k++) {
      long[] previous = ranges.get(order[k - 1]);
      long[] current = ranges.get(order[k]);
      if (current[0] < previous[1] && current[1] > current[0] && previous[1] > previous[0]) {
        throw error(file, "tensors '" + names.get(order[k - 1]) + "' and '" + names.get(order[k])
            + "' overlap in the data section");
      }
    }
  }

  private static DType parseDType(Path file, String name, JsonNode node) {
    String text = node == null ? "(missing)" : node.asText();
    return switch (text) {
      case "F32" -> DType.F32;
      case "BF16" -> DType.BF16;
      case "F16" -> DType.F16;
      default -> throw error(file, "tensor '" + name + "': dtype " + text
          + " is not supported (expected F32, BF16 or F16)");
    };
  }

  private static long[] parseShape(Path file, String name, JsonNode node) {
    if (node == null || !node.isArray()) {
      throw error(file, "tensor '" + name + "': shape must be an array of integers");
    }
    long[] shape = new long[node.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = node.get(i);
      if (!d.isIntegralNumber() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
        throw error(file, "tensor '" + name + "': invalid shape " + node);
      }
      shape[i] = d.asLong();
    }
    return shape;
  }

  private static RgemmaException error(Path file, String message) {
    return new RgemmaException(file + ": " + message);
  }

  public Path file() {
    return file;
  }

  public Map<String, Tensor> tensors() {
    return tensors;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  @Override
  public synchronized void close() {
    if (arena.scope().isAlive()) {
      arena.close();
    }
  }
}
