package dev.rgemma.tensor;

/**
 * Element types of weight tensors. Quantized types store blocks of {@link #blockSize()} elements
 * in {@link #blockBytes()} bytes (GGUF layouts: Q8_0 = f16 scale + 32 int8; Q4_0 = f16 scale + 16
 * bytes of 4-bit values, low nibbles first).
 */
public enum DType {
  F32(1, 4),
  F16(1, 2),
  BF16(1, 2),
  Q8_0(32, 34),
  Q4_0(32, 18);

  private final int blockSize;
  private final int blockBytes;

  DType(int blockSize, int blockBytes) {
    this.blockSize = blockSize;
    this.blockBytes = blockBytes;
  }

  public int blockSize() {
    return blockSize;
  }

  public int blockBytes() {
    return blockBytes;
  }

  public boolean isQuantized() {
    return blockSize > 1;
  }

  /** Bytes taken by {@code elements} values; {@code elements} must be a multiple of the block size. */
  public long byteSize(long elements) {
    if (elements % blockSize != 0) {
      throw new IllegalArgumentException(
          this + " needs a multiple of " + blockSize + " elements, got " + elements);
    }
    return elements / blockSize * blockBytes;
  }
}
