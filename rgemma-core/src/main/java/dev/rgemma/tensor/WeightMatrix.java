package dev.rgemma.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A read-only row-major weight matrix {@code [rows, cols]} over (usually memory-mapped) bytes.
 * For quantized types each row is {@code cols / blockSize} consecutive blocks.
 *
 * @param name the checkpoint tensor name, for error messages
 */
public record WeightMatrix(String name, DType dtype, int rows, int cols, MemorySegment data) {
  public WeightMatrix {
    Objects.requireNonNull(name);
    Objects.requireNonNull(dtype);
    Objects.requireNonNull(data);
    if (rows <= 0 || cols <= 0) {
      throw new IllegalArgumentException(name + ": bad shape [" + rows + ", " + cols + "]");
    }
    long expected = (long) rows * dtype.byteSize(cols);
    if (data.byteSize() != expected) {
      throw new IllegalArgumentException(
          name + ": " + dtype + " [" + rows + ", " + cols + "] needs " + expected + " bytes, got "
              + data.byteSize());
    }
  }

  /** Bytes of one row. */
  public long rowBytes() {
    return dtype.byteSize(cols);
  }
}
