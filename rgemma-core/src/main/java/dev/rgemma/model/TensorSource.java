package dev.rgemma.model;

import dev.rgemma.RgemmaException;
import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.Floats;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;

/**
 * Where a model's tensors come from (a safetensors checkpoint directory, a GGUF file). Provides
 * shape- and dtype-checked access: errors name the tensor, its file, the expected and the actual
 * value.
 */
public interface TensorSource extends AutoCloseable {

  /** A stored tensor: dtype, shape (outermost first, as in safetensors) and its bytes. */
  record StoredTensor(String name, String file, DType dtype, long[] shape, MemorySegment data) {}

  /** The model hyperparameters stored with the tensors. */
  ModelConfig config();

  Optional<StoredTensor> find(String name);

  /** Human-readable location for error messages, e.g. the checkpoint directory. */
  String location();

  @Override
  void close();

  default StoredTensor require(String name, long... expectedShape) {
    StoredTensor t = find(name).orElseThrow(() -> new RgemmaException(
        location() + ": tensor '" + name + "' is missing (expected shape " + Arrays.toString(expectedShape) + ")"));
    if (!Arrays.equals(t.shape(), expectedShape)) {
      throw new RgemmaException(t.file() + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
          + ", expected " + Arrays.toString(expectedShape));
    }
    return t;
  }

  /** A [rows, cols] weight used in matrix products, kept in its stored (mapped) form. */
  default WeightMatrix matrix(String name, int rows, int cols) {
    StoredTensor t = require(name, rows, cols);
    return new WeightMatrix(name, t.dtype(), rows, cols, t.data());
  }

  /** A small parameter tensor, widened to a float32 heap array. */
  default float[] floats(String name, long... expectedShape) {
    StoredTensor t = require(name, expectedShape);
    long count = 1;
    for (long d : expectedShape) {
      count *= d;
    }
    float[] out = new float[Math.toIntExact(count)];
    MemorySegment data = t.data();
    ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    switch (t.dtype()) {
      case F32 -> MemorySegment.copy(data, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, out, 0, out.length);
      case BF16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = Floats.bf16ToFloat(data.getAtIndex(i16, i));
        }
      }
      case F16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = Floats.f16ToFloat(data.getAtIndex(i16, i));
        }
      }
      default -> throw new RgemmaException(t.file() + ": tensor '" + name + "' is " + t.dtype()
          + ", expected F32, BF16 or F16 for a small parameter");
    }
    return out;
  }
}
