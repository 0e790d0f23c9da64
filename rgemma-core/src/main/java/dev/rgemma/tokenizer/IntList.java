package dev.rgemma.tokenizer;

import java.util.Arrays;

/** A growable int array, to collect token ids without boxing. */
final class IntList {
  private int[] values;
  private int size;

  IntList(int capacity) {
    values = new int[Math.max(4, capacity)];
  }

  void add(int value) {
    if (size == values.length) values = Arrays.copyOf(values, size * 2);
    values[size++] = value;
  }

  void addAll(int[] more) {
    for (int value : more) add(value);
  }

  int size() {
    return size;
  }

  /** Replaces each run of {@code value} at or after {@code from} by a single {@code value}. */
  void fuseRuns(int from, int value) {
    int write = from;
    for (int read = from; read < size; read++) {
      if (values[read] == value && write > from && values[write - 1] == value) continue;
      values[write++] = values[read];
    }
    size = write;
  }

  int[] toArray() {
    return Arrays.copyOf(values, size);
  }
}
