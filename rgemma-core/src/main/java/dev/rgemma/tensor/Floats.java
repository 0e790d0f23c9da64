package dev.rgemma.tensor;

/** Conversions between float32 and the 16-bit float formats. */
public final class Floats {
  private Floats() {}

  /** Widens a bfloat16 bit pattern (the upper 16 bits of a float32) to float32. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xFFFF) << 16);
  }

  /** Rounds a float32 to bfloat16 (round to nearest even on the bit pattern; NaN stays NaN). */
  public static short floatToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int rounding = 0x7FFF + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }

  /** {@code value} rounded to the nearest bfloat16, as a float32. */
  public static float roundToBf16(float value) {
    return bf16ToFloat(floatToBf16(value));
  }

  public static float f16ToFloat(short bits) {
    return Float.float16ToFloat(bits);
  }

  public static short floatToF16(float value) {
    return Float.floatToFloat16(value);
  }
}
