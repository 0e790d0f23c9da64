package dev.rgemma.training;

import dev.rgemma.RgemmaException;
import dev.rgemma.io.SafeTensors;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every tensor of a small {@code .safetensors} file copied into float arrays (F32, BF16, F16), read
 * with {@link SafeTensors}. The trainer only loads its own checkpoints and optimizer states, which
 * fit in memory.
 */
final class CheckpointTensors {
  record Tensor(String dtype, long[] shape, float[] values) {}

  private static final ValueLayout.OfFloat F32 =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort U16 =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private CheckpointTensors() {}

  static Map<String, Tensor> read(Path file) throws IOException {
    Map<String, Tensor> out = new LinkedHashMap<>();
    try (SafeTensors st = SafeTensors.open(file)) {
      for (SafeTensors.Tensor t : st.tensors().values()) {
        long count = t.elementCount();
        if (count > Integer.MAX_VALUE) {
          throw new RgemmaException(file + ": tensor " + t.name() + " too large to train");
        }
        float[] values = new float[(int) count];
        MemorySegment data = t.data();
        switch (t.dtype()) {
          case F32 -> {
            for (int i = 0; i < values.length; i++) {
              values[i] = data.get(F32, 4L * i);
            }
          }
          case BF16 -> {
            for (int i = 0; i < values.length; i++) {
              values[i] = Float.intBitsToFloat((data.get(U16, 2L * i) & 0xFFFF) << 16);
            }
          }
          case F16 -> {
            for (int i = 0; i < values.length; i++) {
              values[i] = Float.float16ToFloat(data.get(U16, 2L * i));
            }
          }
          default -> throw new RgemmaException(file + ": tensor " + t.name() + ": dtype "
              + t.dtype() + " cannot be trained (expected F32, BF16 or F16)");
        }
        out.put(t.name(), new Tensor(t.dtype().name(), t.shape(), values));
      }
    }
    return out;
  }
}
