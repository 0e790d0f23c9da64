package dev.rgemma.model;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads a model's tensors from a {@link TensorSource}: matrices are repacked for the kernels into
 * memory this object owns (and their mapped pages released right away, so the weights are resident
 * once, not twice); small tensors are read into float arrays.
 */
final class Weights implements AutoCloseable {
  private final TensorSource source;
  private final Arena arena = Arena.ofShared();
  /** Every matrix packed so far, in order. */
  private final List<PackedMatrix> packed = new ArrayList<>();

  Weights(TensorSource source) {
    this.source = source;
  }

  ModelConfig config() {
    return source.config();
  }

  /** A [rows, cols] matrix, packed. */
  PackedMatrix matrix(String name, int rows, int cols) {
    WeightMatrix stored = source.matrix(name, rows, cols);
    PackedMatrix matrix = pack(stored);
    MemorySegment data = stored.data();
    if (data.isMapped()) {
      data.unload();
    }
    return matrix;
  }

  /** Packs a matrix built in memory (e.g. rearranged from other tensors). */
  PackedMatrix pack(WeightMatrix matrix) {
    PackedMatrix result = Kernels.pack(matrix, arena);
    packed.add(result);
    return result;
  }

  /** The matrices packed so far. */
  List<PackedMatrix> packed() {
    return List.copyOf(packed);
  }

  /** A small tensor as a float array (its mapped pages released after the copy). */
  float[] floats(String name, long... expectedShape) {
    float[] values = source.floats(name, expectedShape);
    MemorySegment data = source.require(name, expectedShape).data();
    if (data.isMapped()) {
      data.unload();
    }
    return values;
  }

  boolean has(String name) {
    return source.find(name).isPresent();
  }

  @Override
  public void close() {
    arena.close();
  }
}
