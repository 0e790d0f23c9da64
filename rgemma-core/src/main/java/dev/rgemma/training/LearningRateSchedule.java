package dev.rgemma.training;

/** Linear warm-up from 0 to the peak rate, then cosine decay to {@code peak * minRatio} at the last step. */
public record LearningRateSchedule(double peak, int warmupSteps, int totalSteps, double minRatio) {
  public LearningRateSchedule {
    if (peak <= 0 || warmupSteps < 0 || totalSteps < 1 || minRatio < 0 || minRatio > 1) {
      throw new IllegalArgumentException("bad learning-rate schedule: peak " + peak + ", warm-up "
          + warmupSteps + ", steps " + totalSteps + ", min ratio " + minRatio);
    }
  }

  /** Rate for 0-based {@code step}. */
  public double at(int step) {
    if (step < warmupSteps) {
      return peak * (step + 1) / warmupSteps;
    }
    int decaySteps = Math.max(1, totalSteps - warmupSteps);
    double progress = Math.min(1.0, (double) (step - warmupSteps) / decaySteps);
    double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
    return peak * (minRatio + (1 - minRatio) * cosine);
  }
}
