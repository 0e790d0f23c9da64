package dev.rgemma.training;

import java.util.List;

/**
 * AdamW (decoupled weight decay, bias-corrected moments) over a model's parameters, with global
 * gradient-norm clipping.
 */
public final class AdamW {
  private final List<Parameter> params;
  final double[][] firstMoment;
  final double[][] secondMoment;
  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final double weightDecay;
  private long step;

  public AdamW(List<Parameter> params, double beta1, double beta2, double epsilon, double weightDecay) {
    this.params = List.copyOf(params);
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.weightDecay = weightDecay;
    firstMoment = new double[params.size()][];
    secondMoment = new double[params.size()][];
    for (int i = 0; i < params.size(); i++) {
      firstMoment[i] = new double[params.get(i).size()];
      secondMoment[i] = new double[params.get(i).size()];
    }
  }

  public long step() {
    return step;
  }

  void setStep(long step) {
    this.step = step;
  }

  /** The L2 norm of all gradients together. */
  public double gradientNorm() {
    double sum = 0;
    for (Parameter p : params) {
      for (double g : p.grad) {
        sum += g * g;
      }
    }
    return Math.sqrt(sum);
  }

  /**
   * Scales the gradients down to {@code maxNorm} when their norm exceeds it (no clipping when
   * {@code maxNorm <= 0}), then takes one AdamW step. Returns the norm before clipping.
   */
  public double update(double learningRate, double maxNorm) {
    double norm = gradientNorm();
    double scale = maxNorm > 0 && norm > maxNorm ? maxNorm / norm : 1.0;
    step++;
    double correction1 = 1 - Math.pow(beta1, step);
    double correction2 = 1 - Math.pow(beta2, step);
    for (int i = 0; i < params.size(); i++) {
      Parameter p = params.get(i);
      double[] m = firstMoment[i];
      double[] v = secondMoment[i];
      double decay = p.weightDecay() ? weightDecay : 0.0;
      for (int k = 0; k < p.value.length; k++) {
        double g = p.grad[k] * scale;
        m[k] = beta1 * m[k] + (1 - beta1) * g;
        v[k] = beta2 * v[k] + (1 - beta2) * g * g;
        double mHat = m[k] / correction1;
        double vHat = v[k] / correction2;
        p.value[k] -= learningRate * (mHat / (Math.sqrt(vHat) + epsilon) + decay * p.value[k]);
      }
    }
    return norm;
  }
}
