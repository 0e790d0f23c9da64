package dev.rgemma.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Float32 to the storage types of {@link DType}, byte for byte as GGUF/ggml's reference quantizers
 * write them (little-endian; round to nearest, ties to even for f16/bf16, away from zero for Q8_0).
 *
 * <ul>
 *   <li>Q8_0, per block of 32: {@code d = max|x| / 127}, {@code q = round(x / d)}, d stored as f16.
 *   <li>Q4_0, per block of 32: {@code m} = the value of largest magnitude (sign kept), {@code d =
 *       m / -8}, {@code q = min(15, trunc(x / d + 8.5))} in 0..15 (so m maps to 0 and the
 *       grid spans [-8d, 7d]); byte i holds element i in its low nibble and i + 16 in its high one.
 * </ul>
 *
 * As in ggml, q is computed with the float32 scale, the stored scale is its f16 rounding.
 */
public final class Quantize {
  private Quantize() {}

  private static final ValueLayout.OfShort I16 =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfFloat F32 =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  public static byte[] toQ8_0(float[] values) {
    return to(DType.Q8_0, values);
  }

  public static byte[] toQ4_0(float[] values) {
    return to(DType.Q4_0, values);
  }

  public static byte[] toBf16(float[] values) {
    return to(DType.BF16, values);
  }

  public static byte[] toF16(float[] values) {
    return to(DType.F16, values);
  }

  /** All of {@code values} in {@code type} (quantized types need a multiple of 32 values). */
  public static byte[] to(DType type, float[] values) {
    byte[] out = new byte[Math.toIntExact(type.byteSize(values.length))];
    quantize(type, values, 0, values.length, MemorySegment.ofArray(out), 0);
    return out;
  }

  /**
   * Writes {@code src[srcOffset .. srcOffset + count)} as {@code type} at {@code dst[dstOffset ..]}
   * ({@code type.byteSize(count)} bytes).
   */
  public static void quantize(
      DType type, float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
    long bytes = type.byteSize(count);
    if (srcOffset < 0 || count < 0 || srcOffset + (long) count > src.length) {
      throw new IndexOutOfBoundsException(
          "source range [" + srcOffset + ", " + (srcOffset + (long) count) + ") outside " + src.length);
    }
    if (dstOffset < 0 || dstOffset + bytes > dst.byteSize()) {
      throw new IndexOutOfBoundsException(
          "destination range [" + dstOffset + ", " + (dstOffset + bytes) + ") outside " + dst.byteSize());
    }
    switch (type) {
      case F32 -> {
        for (int i = 0; i < count; i++) {
          dst.set(F32, dstOffset + 4L * i, src[srcOffset + i]);
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          dst.set(I16, dstOffset + 2L * i, Floats.floatToBf16(src[srcOffset + i]));
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          dst.set(I16, dstOffset + 2L * i, Floats.floatToF16(src[srcOffset + i]));
        }
      }
      case Q8_0 -> {
        for (int b = 0; b < count / 32; b++) {
          q8Block(src, srcOffset + 32 * b, dst, dstOffset + 34L * b);
        }
      }
      case Q4_0 -> {
        for (int b = 0; b < count / 32; b++) {
          q4Block(src, srcOffset + 32 * b, dst, dstOffset + 18L * b);
        }
      }
    }
  }

  private static void q8Block(float[] x, int offset, MemorySegment dst, long at) {
    float amax = 0f;
    for (int i = 0; i < 32; i++) {
      amax = Math.max(amax, Math.abs(x[offset + i]));
    }
    float d = amax / 127f;
    float id = d != 0f ? 1f / d : 0f;
    dst.set(I16, at, Floats.floatToF16(d));
    for (int i = 0; i < 32; i++) {
      dst.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) roundHalfAway(x[offset + i] * id));
    }
  }

  private static void q4Block(float[] x, int offset, MemorySegment dst, long at) {
    float amax = 0f;
    float max = 0f;
    for (int i = 0; i < 32; i++) {
      float v = x[offset + i];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    float d = max / -8f;
    float id = d != 0f ? 1f / d : 0f;
    dst.set(I16, at, Floats.floatToF16(d));
    for (int i = 0; i < 16; i++) {
      int low = Math.min(15, (int) (x[offset + i] * id + 8.5f));
      int high = Math.min(15, (int) (x[offset + 16 + i] * id + 8.5f));
      dst.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) (low | (high << 4)));
    }
  }

  /** C's {@code roundf}: nearest integer, halves away from zero. */
  private static int roundHalfAway(float v) {
    double magnitude = Math.floor(Math.abs((double) v) + 0.5);
    return (int) (v < 0 ? -magnitude : magnitude);
  }
}
