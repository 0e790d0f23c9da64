package dev.rgemma.training;

import java.util.Arrays;

/**
 * One trainable tensor: its Hugging Face checkpoint name, shape, values and accumulated gradient
 * (both row-major, float64 master copies).
 */
public final class Parameter {
  private final String name;
  private final int[] shape;
  final double[] value;
  final double[] grad;
  private final boolean weightDecay;

  Parameter(String name, boolean weightDecay, int... shape) {
    this.name = name;
    this.shape = shape.clone();
    this.weightDecay = weightDecay;
    int size = 1;
    for (int s : shape) {
      size = Math.multiplyExact(size, s);
    }
    this.value = new double[size];
    this.grad = new double[size];
  }

  public String name() {
    return name;
  }

  public int[] shape() {
    return shape.clone();
  }

  public int size() {
    return value.length;
  }

  /** The live values (not a copy): callers may read and overwrite them. */
  public double[] values() {
    return value;
  }

  /** The live gradient accumulated by the last backward passes. */
  public double[] gradient() {
    return grad;
  }

  /** Whether AdamW decays this tensor (matrices yes; norms, biases, conv taps and Λ no). */
  public boolean weightDecay() {
    return weightDecay;
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape);
  }
}
