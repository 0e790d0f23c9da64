package dev.rgemma.io;

import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads and writes little-endian float32 NumPy {@code .npy} files (format 1.0, C order). */
public final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

  private Npy() {}

  /** A float32 array and its shape. */
  public record FloatArray(int[] shape, float[] data) {}

  public static void writeFloat32(Path file, float[] data, int... shape) throws IOException {
    long count = 1;
    for (int d : shape) {
      count *= d;
    }
    if (count != data.length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold " + data.length + " values");
    }
    StringBuilder dims = new StringBuilder();
    for (int d : shape) {
      dims.append(d).append(", ");
    }
    String shapeText = shape.length == 1 ? "(" + shape[0] + ",)"
        : "(" + (dims.length() > 0 ? dims.substring(0, dims.length() - 2) : "") + ")";
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText + ", }";
    int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
    int padding = (64 - unpadded % 64) % 64;
    String header = dict + " ".repeat(padding) + "\n";
    try (OutputStream out = Files.newOutputStream(file)) {
      ByteBuffer prefix = ByteBuffer.allocate(MAGIC.length + 4).order(ByteOrder.LITTLE_ENDIAN);
      prefix.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
      out.write(prefix.array());
      out.write(header.getBytes(StandardCharsets.US_ASCII));
      ByteBuffer body = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      body.asFloatBuffer().put(data);
      out.write(body.array());
    }
  }

  public static FloatArray readFloat32(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
      throw new RgemmaException(file + ": not a .npy file (bad magic)");
    }
    ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int major = bytes[6];
    int headerLength;
    int headerStart;
    if (major == 1) {
      headerLength = Short.toUnsignedInt(buffer.getShort(8));
      headerStart = 10;
    } else {
      headerLength = buffer.getInt(8);
      headerStart = 12;
    }
    if (headerStart + (long) headerLength > bytes.length) {
      throw new RgemmaException(file + ": header length " + headerLength + " exceeds the file");
    }
    String header = new String(bytes, headerStart, headerLength, StandardCharsets.US_ASCII);
    if (!header.contains("'descr': '<f4'") || header.contains("'fortran_order': True")) {
      throw new RgemmaException(file + ": expected a C-order little-endian float32 array, header " + header.trim());
    }
    Matcher m = SHAPE.matcher(header);
    if (!m.find()) {
      throw new RgemmaException(file + ": no shape in header " + header.trim());
    }
    int[] shape = Arrays.stream(m.group(1).split(","))
        .map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
    long count = 1;
    for (int d : shape) {
      count *= d;
    }
    int dataStart = headerStart + headerLength;
    if (dataStart + count * 4 != bytes.length) {
      throw new RgemmaException(file + ": shape " + Arrays.toString(shape) + " needs " + count * 4
          + " data bytes, file has " + (bytes.length - dataStart));
    }
    float[] data = new float[(int) count];
    buffer.position(dataStart);
    buffer.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
    return new FloatArray(shape, data);
  }
}
