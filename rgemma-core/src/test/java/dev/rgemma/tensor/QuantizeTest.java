package dev.rgemma.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Expected bytes are worked out by hand from ggml's reference quantizers. */
class QuantizeTest {
  @Test
  void q8RoundsHalfAwayFromZeroWithScaleMaxOver127() {
    float[] x = new float[32];
    x[0] = 1f;
    x[1] = -1f;
    x[2] = 0.5f; // 0.5 * 127 = 63.5 -> 64
    x[3] = -0.5f; // -> -64
    x[4] = 0.25f; // 31.75 -> 32
    byte[] q = Quantize.toQ8_0(x);
    assertEquals(34, q.length);
    short scale = (short) ((q[0] & 0xFF) | (q[1] << 8));
    assertEquals(Float.floatToFloat16(1f / 127f), scale);
    assertEquals(0x2008, scale & 0xFFFF, "1/127 as f16");
    assertEquals(127, q[2]);
    assertEquals(-127, q[3]);
    assertEquals(64, q[4]);
    assertEquals(-64, q[5]);
    assertEquals(32, q[6]);
    for (int i = 7; i < 34; i++) {
      assertEquals(0, q[i]);
    }
  }

  @Test
  void q4MapsSignedMaximumToZeroAndClampsAt15() {
    float[] x = new float[32];
    x[0] = -4f; // the largest magnitude: d = -4 / -8 = 0.5, -4 / 0.5 + 8.5 = 0.5 -> 0
    x[1] = 1f; // 2 + 8.5 = 10.5 -> 10
    x[2] = 3.9f; // 7.8 + 8.5 = 16.3 -> clamped 15
    x[3] = 0.25f; // 0.5 + 8.5 = 9.0 -> 9
    x[16] = 0.2f; // 0.4 + 8.5 = 8.9 -> 8 (truncation)
    x[17] = -1.1f; // -2.2 + 8.5 = 6.3 -> 6
    byte[] q = Quantize.toQ4_0(x);
    assertEquals(18, q.length);
    assertEquals(0x3800, (q[0] & 0xFF) | ((q[1] & 0xFF) << 8), "0.5 as f16");
    assertEquals(0x80, q[2] & 0xFF, "element 0 low, element 16 high");
    assertEquals(0x6A, q[3] & 0xFF, "element 1 low, element 17 high");
    assertEquals(0x8F, q[4] & 0xFF);
    assertEquals(0x89, q[5] & 0xFF);
    for (int i = 6; i < 18; i++) {
      assertEquals(0x88, q[i] & 0xFF, "zeros map to 8");
    }
  }

  @Test
  void allZeroBlocksHaveZeroScale() {
    byte[] q8 = Quantize.toQ8_0(new float[32]);
    byte[] q4 = Quantize.toQ4_0(new float[32]);
    assertEquals(0, q8[0] | q8[1]);
    // ggml computes d = 0 / -8 = -0.0, stored as f16 negative zero.
    assertEquals(0x8000, (q4[0] & 0xFF) | ((q4[1] & 0xFF) << 8));
    assertEquals(0x88, q4[2] & 0xFF);
  }

  @Test
  void halfPrecisionRoundsToNearestEven() {
    // 1 + 2^-11 is halfway between f16 1.0 (0x3C00) and 1 + 2^-10 (0x3C01): ties to even.
    // 1 + 3 * 2^-11 is halfway between 0x3C01 and 0x3C02: ties to even -> 0x3C02.
    byte[] f16 = Quantize.toF16(new float[] {1f + 0x1p-11f, 1f + 3 * 0x1p-11f, 65520f, -0f});
    assertArrayEquals(new byte[] {0x00, 0x3C, 0x02, 0x3C, 0x00, 0x7C, 0x00, (byte) 0x80}, f16);
    // bf16: 1 + 2^-8 is halfway between 0x3F80 and 0x3F81 -> 0x3F80; 1 + 3 * 2^-8 -> 0x3F82.
    byte[] bf16 = Quantize.toBf16(new float[] {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, 1f + 0x1p-8f + 0x1p-20f});
    assertArrayEquals(new byte[] {(byte) 0x80, 0x3F, (byte) 0x82, 0x3F, (byte) 0x81, 0x3F}, bf16);
  }

  @Test
  void quantizationErrorIsWithinHalfAStep() {
    Random random = new Random(42);
    float[] x = new float[32 * 64];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian() * (1 + i / 32);
    }
    byte[] q8 = Quantize.toQ8_0(x);
    byte[] q4 = Quantize.toQ4_0(x);
    for (int b = 0; b < 64; b++) {
      float amax = 0;
      for (int i = 0; i < 32; i++) {
        amax = Math.max(amax, Math.abs(x[32 * b + i]));
      }
      float d8 = Float.float16ToFloat((short) ((q8[34 * b] & 0xFF) | (q8[34 * b + 1] << 8)));
      float d4 = Float.float16ToFloat((short) ((q4[18 * b] & 0xFF) | (q4[18 * b + 1] << 8)));
      for (int i = 0; i < 32; i++) {
        float v8 = d8 * q8[34 * b + 2 + i];
        int packed = q4[18 * b + 2 + (i % 16)] & 0xFF;
        int nibble = i < 16 ? packed & 0x0F : packed >>> 4;
        float v4 = d4 * (nibble - 8);
        // Half a step, plus the f16 rounding of the scale (relative 2^-11 of the largest value).
        assertTrue(Math.abs(v8 - x[32 * b + i]) <= amax / 127 / 2 + amax * 0x1p-10f, "q8 " + b + "," + i);
        // Q4_0's grid is [-8d, 7d] with the extreme at -8d: values of the other sign beyond 7d clamp,
        // so the worst error is a whole step d = amax / 8.
        assertTrue(Math.abs(v4 - x[32 * b + i]) <= amax / 8 + amax * 0x1p-9f,
            "q4 " + b + "," + i + ": " + v4 + " vs " + x[32 * b + i]);
      }
    }
  }

  @Test
  void rejectsPartialBlocks() {
    assertThrows(IllegalArgumentException.class, () -> Quantize.toQ8_0(new float[33]));
    assertThrows(IllegalArgumentException.class, () -> Quantize.toQ4_0(new float[16]));
  }
}
