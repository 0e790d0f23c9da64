package dev.rgemma.kernels;

import dev.rgemma.tensor.Floats;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Plain-Java reference kernels: the scalar twins that SIMD kernels are tested against. */
final class ScalarKernels {
  private ScalarKernels() {}

  static final ValueLayout.OfFloat F32 =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfShort I16 =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  static void matmul(WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset) {
    int rows = w.rows();
    int cols = w.cols();
    float[] row = new float[cols];
    for (int r = 0; r < rows; r++) {
      readRow(w, r, row, 0);
      for (int t = 0; t < tokens; t++) {
        int xBase = xOffset + t * cols;
        float sum = 0f;
        for (int c = 0; c < cols; c++) {
          sum += row[c] * x[xBase + c];
        }
        out[outOffset + t * rows + r] = sum;
      }
    }
  }

  static void readRow(WeightMatrix w, int row, float[] out, int offset) {
    MemorySegment data = w.data();
    int cols = w.cols();
    long base = row * w.rowBytes();
    switch (w.dtype()) {
      case F32 -> {
        for (int c = 0; c < cols; c++) {
          out[offset + c] = data.get(F32, base + 4L * c);
        }
      }
      case BF16 -> {
        for (int c = 0; c < cols; c++) {
          out[offset + c] = Floats.bf16ToFloat(data.get(I16, base + 2L * c));
        }
      }
      case F16 -> {
        for (int c = 0; c < cols; c++) {
          out[offset + c] = Floats.f16ToFloat(data.get(I16, base + 2L * c));
        }
      }
      case Q8_0 -> {
        for (int b = 0; b < cols / 32; b++) {
          long block = base + 34L * b;
          float scale = Floats.f16ToFloat(data.get(I16, block));
          for (int i = 0; i < 32; i++) {
            out[offset + b * 32 + i] = scale * data.get(ValueLayout.JAVA_BYTE, block + 2 + i);
          }
        }
      }
      case Q4_0 -> {
        for (int b = 0; b < cols / 32; b++) {
          long block = base + 18L * b;
          float scale = Floats.f16ToFloat(data.get(I16, block));
          for (int i = 0; i < 16; i++) {
            int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + i) & 0xFF;
            out[offset + b * 32 + i] = scale * ((packed & 0x0F) - 8);
            out[offset + b * 32 + i + 16] = scale * ((packed >>> 4) - 8);
          }
        }
      }
    }
  }
}
