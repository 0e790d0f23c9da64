package dev.rgemma.server;

import dev.rgemma.engine.GenerationListener;
import dev.rgemma.engine.GenerationOptions;
import dev.rgemma.engine.GenerationResult;
import dev.rgemma.engine.Session;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.testing.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/** The tiny fixture model, and greedy answers computed one sequence at a time by the engine's Session. */
final class Reference {
  private Reference() {}

  static RecurrentGemmaModel tinyModel() {
    try {
      return RecurrentGemmaModel.load(Fixtures.dir("tiny-a"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Greedy generation from a fresh state, alone, token by token. */
  static GenerationResult greedy(RecurrentGemmaModel model, TextCodec codec, int[] prompt, int maxTokens,
      List<String> stop) {
    Session session = new Session(model, codec, SamplerSettings.greedy());
    return session.generate(prompt, new GenerationOptions(maxTokens, stop, false), GenerationListener.NONE);
  }

  /**
   * The log-probability of {@code token} under the row of logits at {@code offset}: a plain
   * log-softmax in double, written apart from the engine's own.
   */
  static double logprob(float[] logits, int offset, int vocab, int token) {
    float max = Float.NEGATIVE_INFINITY;
    for (int v = 0; v < vocab; v++) {
      max = Math.max(max, logits[offset + v]);
    }
    double sum = 0;
    for (int v = 0; v < vocab; v++) {
      sum += Math.exp(logits[offset + v] - max);
    }
    return logits[offset + token] - max - Math.log(sum);
  }

  static int[] chatPrompt(TextCodec codec, List<TextCodec.Message> messages) {
    return codec.encode(codec.renderChat(messages, true), true);
  }
}
