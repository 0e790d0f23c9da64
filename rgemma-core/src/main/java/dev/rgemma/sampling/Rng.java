package dev.rgemma.sampling;

/**
 * The sampler's random numbers: SplitMix64 (Steele, Lea and Flood 2014). Its whole state is one
 * {@code long}, so a session file can store it and a resumed session draws exactly the numbers the
 * uninterrupted one would have drawn.
 */
public final class Rng {
  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  private long state;

  public Rng(long seed) {
    this.state = seed;
  }

  /** The complete state; {@code new Rng(rng.state())} continues the same sequence. */
  public long state() {
    return state;
  }

  public void setState(long state) {
    this.state = state;
  }

  public long nextLong() {
    long z = (state += GOLDEN_GAMMA);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Uniform in [0, 1), 53 random bits. */
  public double nextDouble() {
    return (nextLong() >>> 11) * 0x1.0p-53;
  }
}
