package dev.rgemma.sampling;

import java.util.Arrays;

/**
 * The tokens still in the running while a token is sampled, most likely first (ties: lower id
 * first). Holds logits until {@link #softmax()} and probabilities after it. Each filter keeps a
 * prefix of the list, so the order is set once.
 */
public final class Candidates {
  private final int[] ids; // [size], most likely first
  private final float[] values; // [size], logits, then probabilities after softmax()
  private int size;
  private boolean probabilities;

  private Candidates(int[] ids, float[] values) {
    this.ids = ids;
    this.values = values;
    this.size = ids.length;
  }

  /**
   * The {@code limit} most likely tokens of {@code logits} ([vocab]), sorted; all of them when
   * {@code limit} is 0 or at least the vocabulary size.
   */
  public static Candidates of(float[] logits, int limit) {
    int n = logits.length;
    int keep = limit <= 0 || limit >= n ? n : limit;
    long[] keys = keep == n ? allKeys(logits) : topKeys(logits, keep);
    Arrays.sort(keys);
    int[] ids = new int[keep];
    float[] values = new float[keep];
    for (int i = 0; i < keep; i++) {
      ids[i] = (int) keys[i];
      values[i] = logits[ids[i]];
    }
    return new Candidates(ids, values);
  }

  /**
   * Sort key: ascending order of the key = descending logit, then ascending id. The high half is
   * the logit's bits made order-preserving as a signed int, then complemented.
   */
  private static long key(float logit, int id) {
    int bits = Float.floatToIntBits(logit);
    int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
    return ((long) ~ordered << 32) | (id & 0xffffffffL);
  }

  private static long[] allKeys(float[] logits) {
    long[] keys = new long[logits.length];
    for (int i = 0; i < logits.length; i++) {
      keys[i] = key(logits[i], i);
    }
    return keys;
  }

  /** The k smallest keys (k most likely tokens) via a max-heap of size k: O(vocab log k). */
  private static long[] topKeys(float[] logits, int k) {
    long[] heap = new long[k];
    for (int i = 0; i < k; i++) {
      heap[i] = key(logits[i], i);
      siftUp(heap, i);
    }
    for (int i = k; i < logits.length; i++) {
      long candidate = key(logits[i], i);
      if (candidate < heap[0]) {
        heap[0] = candidate;
        siftDown(heap, k);
      }
    }
    return heap;
  }

  private static void siftUp(long[] heap, int i) {
    while (i > 0) {
      int parent = (i - 1) / 2;
      if (heap[parent] >= heap[i]) {
        return;
      }
      swap(heap, parent, i);
      i = parent;
    }
  }

  private static void siftDown(long[] heap, int size) {
    int i = 0;
    while (true) {
      int largest = i;
      int left = 2 * i + 1;
      int right = left + 1;
      if (left < size && heap[left] > heap[largest]) {
        largest = left;
      }
      if (right < size && heap[right] > heap[largest]) {
        largest = right;
      }
      if (largest == i) {
        return;
      }
      swap(heap, i, largest);
      i = largest;
    }
  }

  private static void swap(long[] heap, int a, int b) {
    long t = heap[a];
    heap[a] = heap[b];
    heap[b] = t;
  }

  public int size() {
    return size;
  }

  public int id(int rank) {
    return ids[checkRank(rank)];
  }

  /** The logit (before {@link #softmax()}) or probability (after) of the token at {@code rank}. */
  public float value(int rank) {
    return values[checkRank(rank)];
  }

  public boolean isProbabilities() {
    return probabilities;
  }

  /** The kept ids, most likely first. */
  public int[] ids() {
    return Arrays.copyOf(ids, size);
  }

  /** The kept values, most likely first. */
  public float[] values() {
    return Arrays.copyOf(values, size);
  }

  private int checkRank(int rank) {
    return java.util.Objects.checkIndex(rank, size);
  }

  /** Keeps the {@code k} most likely tokens; 0 keeps all. */
  public Candidates keepTopK(int k) {
    if (k > 0 && k < size) {
      size = k;
    }
    return this;
  }

  /** Divides the logits by {@code temperature} (> 0). */
  public Candidates applyTemperature(float temperature) {
    requireLogits("temperature");
    if (!(temperature > 0)) {
      throw new IllegalArgumentException("temperature must be > 0 here, got " + temperature);
    }
    for (int i = 0; i < size; i++) {
      values[i] /= temperature;
    }
    return this;
  }

  /** Turns the kept logits into probabilities that sum to 1 (float64 accumulation). */
  public Candidates softmax() {
    requireLogits("softmax");
    float max = values[0];
    double sum = 0;
    double[] exp = new double[size];
    for (int i = 0; i < size; i++) {
      exp[i] = Math.exp((double) values[i] - max);
      sum += exp[i];
    }
    for (int i = 0; i < size; i++) {
      values[i] = (float) (exp[i] / sum);
    }
    probabilities = true;
    return this;
  }

  /**
   * Nucleus sampling (Holtzman et al. 2019): keeps the shortest prefix whose probability reaches
   * {@code p}, then renormalises. {@code p = 1} keeps all.
   */
  public Candidates keepTopP(float p) {
    requireProbabilities("top-p");
    if (p >= 1) {
      return this;
    }
    double cumulative = 0;
    int keep = size;
    for (int i = 0; i < size; i++) {
      cumulative += values[i];
      if (cumulative >= p) {
        keep = i + 1;
        break;
      }
    }
    size = keep;
    return renormalise();
  }

  /** Drops tokens whose probability is below {@code minP} times the best one's, then renormalises. */
  public Candidates keepMinP(float minP) {
    requireProbabilities("min-p");
    if (minP <= 0) {
      return this;
    }
    float threshold = minP * values[0];
    int keep = 1;
    while (keep < size && values[keep] >= threshold) {
      keep++;
    }
    size = keep;
    return renormalise();
  }

  /** Draws a token from the probabilities with one uniform number from {@code rng}. */
  public int draw(Rng rng) {
    requireProbabilities("draw");
    double sum = 0;
    for (int i = 0; i < size; i++) {
      sum += values[i];
    }
    double u = rng.nextDouble() * sum;
    double cumulative = 0;
    for (int i = 0; i < size; i++) {
      cumulative += values[i];
      if (u < cumulative) {
        return ids[i];
      }
    }
    return ids[size - 1]; // rounding: u fell on the very top of the sum
  }

  private Candidates renormalise() {
    double sum = 0;
    for (int i = 0; i < size; i++) {
      sum += values[i];
    }
    for (int i = 0; i < size; i++) {
      values[i] = (float) (values[i] / sum);
    }
    return this;
  }

  private void requireLogits(String step) {
    if (probabilities) {
      throw new IllegalStateException(step + " needs logits, but softmax() was already applied");
    }
  }

  private void requireProbabilities(String step) {
    if (!probabilities) {
      throw new IllegalStateException(step + " needs probabilities: call softmax() first");
    }
  }
}
