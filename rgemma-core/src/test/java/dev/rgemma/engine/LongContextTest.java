package dev.rgemma.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tens of thousands of positions on the fixture model (attention window 8): long prompts and
 * generations alternate, and the state and the session file keep their size throughout.
 */
class LongContextTest {
  private static final int PROMPT = 4_501;
  private static final int ANSWER = 500;

  @TempDir Path dir;

  @Test
  void twentyThousandPositionsWithConstantStateSize() throws Exception {
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(Fixtures.dir("tiny-a"))) {
      int vocab = model.config().vocabSize();
      SplittableRandom random = new SplittableRandom(4);
      Session session = new Session(model, null,
          new SamplerSettings(1f, 40, 0.95f, 0.05f, 1.1f, 0f, 0f, 64, 9L));
      long stateBytes = session.stateBytes();
      Path file = dir.resolve("long.rgsession");
      session.save(file);
      long fileBytes = Files.size(file);
      GenerationOptions answer = new GenerationOptions(ANSWER, List.of(), true);
      GenerationListener finite = new GenerationListener() {
        @Override
        public void onLogits(float[] logits) {
          for (float v : logits) {
            assertTrue(Float.isFinite(v), "logit " + v + " at position " + session.position());
          }
        }
      };
      while (session.position() < 20_000) {
        int[] prompt = new int[PROMPT];
        for (int i = 0; i < prompt.length; i++) {
          prompt[i] = 3 + random.nextInt(vocab - 3);
        }
        GenerationResult result = session.generate(prompt, answer, finite);
        assertEquals(ANSWER, result.generatedTokens());
        System.out.println(result.summary() + ", position: " + result.position());
        assertEquals(stateBytes, session.stateBytes(), "state size at position " + session.position());
        session.save(file);
        assertEquals(fileBytes, Files.size(file), "session file size at position " + session.position());
      }
      assertTrue(session.position() >= 20_000, "position " + session.position());
      System.out.println("positions: " + session.position() + ", state: " + stateBytes
          + " bytes, session file: " + fileBytes + " bytes");
    }
  }
}
