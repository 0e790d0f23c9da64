package dev.rgemma.cli;

import dev.rgemma.sampling.SamplerSettings;
import picocli.CommandLine.Option;

/** Sampler flags shared by generate and chat. */
final class SamplingOptions {
  @Option(names = "--temperature", paramLabel = "T",
      description = "Sampling temperature; 0 = greedy (always the most likely token). Default: ${DEFAULT-VALUE}.")
  float temperature = SamplerSettings.DEFAULT_TEMPERATURE;

  @Option(names = "--top-k", paramLabel = "K",
      description = "Sample among the K most likely tokens; 0 = all. Default: ${DEFAULT-VALUE}.")
  int topK = SamplerSettings.DEFAULT_TOP_K;

  @Option(names = "--top-p", paramLabel = "P",
      description = "Nucleus sampling: the fewest tokens whose probability reaches P; 1 = off. Default: ${DEFAULT-VALUE}.")
  float topP = SamplerSettings.DEFAULT_TOP_P;

  @Option(names = "--min-p", paramLabel = "P",
      description = "Drop tokens less likely than P times the most likely one; 0 = off. Default: ${DEFAULT-VALUE}.")
  float minP = SamplerSettings.DEFAULT_MIN_P;

  @Option(names = "--repeat-penalty", paramLabel = "X",
      description = "Penalise tokens among the last --repeat-last-n (logit / X if positive, * X if negative); 1 = off. Default: ${DEFAULT-VALUE}.")
  float repeatPenalty = 1f;

  @Option(names = "--frequency-penalty", paramLabel = "X",
      description = "Subtract X times each recent token's count from its logit; 0 = off. Default: ${DEFAULT-VALUE}.")
  float frequencyPenalty = 0f;

  @Option(names = "--presence-penalty", paramLabel = "X",
      description = "Subtract X from the logit of every recent token; 0 = off. Default: ${DEFAULT-VALUE}.")
  float presencePenalty = 0f;

  @Option(names = "--repeat-last-n", paramLabel = "N",
      description = "How many recent tokens the penalties look at. Default: ${DEFAULT-VALUE}.")
  int repeatLastN = SamplerSettings.DEFAULT_PENALTY_WINDOW;

  @Option(names = "--seed", paramLabel = "N",
      description = "Random seed: the same seed, prompt and settings give the same output. Default: 0; "
          + "a resumed --session continues its saved random state unless --seed is given.")
  Long seed;

  SamplerSettings settings() {
    return new SamplerSettings(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty,
        presencePenalty, repeatLastN, seed == null ? 0L : seed);
  }
}
