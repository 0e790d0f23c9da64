package dev.rgemma.model;

import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.Floats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * A checkpoint of seeded random weights with exactly the shapes a config asks for, held in native
 * memory. Used by benchmarks and tests; the values are scaled so activations stay in a realistic
 * range (weights ~ U(-1, 1) * sqrt(3 / fan_in), RG-LRU a in [0.9, 0.999] as at initialisation).
 */
public final class SyntheticCheckpoint implements TensorSource {
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final ModelConfig config;
  private final Arena arena = Arena.ofShared();
  private final Map<String, StoredTensor> tensors = new HashMap<>();

  /**
   * @param matrixType dtype of the large matrices (F32, BF16 or F16); small parameters are F32
   */
  public SyntheticCheckpoint(ModelConfig config, long seed, DType matrixType) {
    if (matrixType.isQuantized()) {
      throw new IllegalArgumentException("synthetic checkpoints hold F32, BF16 or F16, not " + matrixType);
    }
    this.config = config;
    SplittableRandom random = new SplittableRandom(seed);
    for (ModelTensors.Spec spec : ModelTensors.of(config)) {
      long[] shape = spec.shape();
      switch (spec.role()) {
        case MATRIX -> matrix(spec.name(), random, matrixType,
            spec.name().equals(TensorNames.EMBED_TOKENS) ? 1.0 : fanIn(spec.fanIn()),
            (int) shape[0], (int) shape[1]);
        case NORM, BIAS -> vector(spec.name(), random, 0.1, 0, shape);
        case CONV, LRU_GATE -> vector(spec.name(), random, fanIn(spec.fanIn()), 0, shape);
        case LRU_PARAM -> {
          float[] recurrent = new float[(int) shape[0]];
          for (int j = 0; j < recurrent.length; j++) {
            // a_param such that a^(1/8) = sigmoid(-a_param) spans [0.9, 0.999]
            double radius = 0.9 + 0.099 * random.nextDouble();
            double a = Math.pow(radius, 1.0 / 8);
            recurrent[j] = (float) Math.log(1.0 / a - 1.0); // softplus(x) = -log(a) for x = log(1/a - 1)
          }
          put(spec.name(), DType.F32, recurrent, shape);
        }
      }
    }
  }

  private static double fanIn(int n) {
    return Math.sqrt(3.0 / n);
  }

  private void matrix(String name, SplittableRandom random, DType dtype, double scale, int rows, int cols) {
    long count = (long) rows * cols;
    MemorySegment data = arena.allocate(dtype.byteSize(count), 8);
    for (long i = 0; i < count; i++) {
      float value = (float) ((random.nextDouble() * 2 - 1) * scale);
      switch (dtype) {
        case F32 -> data.setAtIndex(F32, i, value);
        case BF16 -> data.setAtIndex(I16, i, Floats.floatToBf16(value));
        case F16 -> data.setAtIndex(I16, i, Floats.floatToF16(value));
        default -> throw new AssertionError(dtype);
      }
    }
    tensors.put(name, new StoredTensor(name, "synthetic", dtype, new long[] {rows, cols}, data));
  }

  private void vector(String name, SplittableRandom random, double scale, double mean, long... shape) {
    long count = 1;
    for (long s : shape) {
      count *= s;
    }
    float[] values = new float[Math.toIntExact(count)];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (mean + (random.nextDouble() * 2 - 1) * scale);
    }
    put(name, DType.F32, values, shape);
  }

  private void put(String name, DType dtype, float[] values, long... shape) {
    MemorySegment data = arena.allocate(4L * values.length, 8);
    MemorySegment.copy(values, 0, data, F32, 0, values.length);
    tensors.put(name, new StoredTensor(name, "synthetic", dtype, shape, data));
  }

  @Override
  public ModelConfig config() {
    return config;
  }

  @Override
  public Optional<StoredTensor> find(String name) {
    return Optional.ofNullable(tensors.get(name));
  }

  @Override
  public String location() {
    return "synthetic checkpoint";
  }

  @Override
  public synchronized void close() {
    if (arena.scope().isAlive()) {
      arena.close();
    }
  }
}
