package dev.rgemma.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Opt-in wall-clock profile of the forward pass by part (for {@code rgemma bench --profile}):
 * while enabled, the caller's thread times each part of every layer. Off by default, when each
 * part costs one field read.
 */
public final class Profile {
  /** Parts of the forward pass, in the order they run. */
  public enum Part {
    EMBED, NORMS_AND_RESIDUALS,
    RECURRENT_LINEAR_Y, RECURRENT_LINEAR_X, RECURRENT_CONV, RECURRENT_GATES, RECURRENT_SCAN, RECURRENT_OUT,
    ATTENTION_QKV, ATTENTION_CORE, ATTENTION_OUT,
    MLP_GATE_UP, MLP_ACTIVATION, MLP_DOWN,
    UNEMBED
  }

  private static volatile boolean enabled;
  private static final AtomicLongArray NANOS = new AtomicLongArray(Part.values().length);

  private Profile() {}

  /** Starts (or restarts) collecting from zero. */
  public static void start() {
    for (int i = 0; i < NANOS.length(); i++) {
      NANOS.set(i, 0);
    }
    enabled = true;
  }

  /** Collects again after {@link #stop}, adding to the figures so far. */
  public static void resume() {
    enabled = true;
  }

  /** Stops collecting; the figures stay readable. */
  public static void stop() {
    enabled = false;
  }

  /** Milliseconds per part since {@link #start}, divided by {@code per} (e.g. tokens). */
  public static Map<String, Double> millis(int per) {
    Map<String, Double> result = new LinkedHashMap<>();
    for (Part part : Part.values()) {
      result.put(part.name().toLowerCase(java.util.Locale.ROOT), NANOS.get(part.ordinal()) / 1e6 / per);
    }
    return result;
  }

  /** A timestamp to pass to {@link #add}, or 0 when not profiling. */
  static long now() {
    return enabled ? System.nanoTime() : 0;
  }

  /** Charges the time since {@code since} to {@code part}, returning the new timestamp. */
  static long add(Part part, long since) {
    if (since == 0 || !enabled) {
      return 0;
    }
    long now = System.nanoTime();
    NANOS.addAndGet(part.ordinal(), now - since);
    return now;
  }
}
