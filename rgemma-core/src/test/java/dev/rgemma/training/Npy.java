package dev.rgemma.training;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads little-endian float32 NumPy 1.0 arrays (the golden fixtures) in C order. */
final class Npy {
  private Npy() {}

  static float[] readFloat32(Path file) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    byte[] magic = new byte[6];
    buf.get(magic);
    if (magic[0] != (byte) 0x93 || !new String(magic, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
      throw new IOException(file + ": not a .npy file");
    }
    buf.get();
    buf.get();
    int headerLen = Short.toUnsignedInt(buf.getShort());
    byte[] header = new byte[headerLen];
    buf.get(header);
    String h = new String(header, StandardCharsets.US_ASCII);
    if (!h.contains("'<f4'") || h.contains("'fortran_order': True")) {
      throw new IOException(file + ": expected little-endian float32 in C order, header " + h);
    }
    float[] out = new float[buf.remaining() / 4];
    buf.asFloatBuffer().get(out);
    return out;
  }
}
