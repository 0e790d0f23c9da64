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
 * Tens of thousands of positions on the fixture model (attention window 8): the state and the
 * session file keep their size, and the logits stay finite.
 */
class LongContextTest {
  @TempDir Path dir;

  @Test
  void twentyThousandPositionsWithConstantStateSize() throws Exception {
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(Fixtures.dir("tiny-a"))) {
      int vocab = model.config().vocabSize();
      SplittableRandom random = new SplittableRandom(4);
      int[] prompt = new int[11_001];
      prompt[0] = 2;
      for (int i = 1; i < prompt.length; i++) {
        prompt[i] = 3 + random.nextInt(vocab - 3);
      }
      Session session = new Session(model, null,
          new SamplerSettings(1f, 40, 0.95f, 0.05f, 1.1f, 0f, 0f, 64, 9L));
      long stateBytes = session.stateBytes();
      Path file = dir.resolve("long.rgsession");
      session.save(file);
      long fileBytes = Files.size(file);
      GenerationOptions chunk = new GenerationOptions(3_000, List.of(), true);
      GenerationListener finite = new GenerationListener() {
        @Override
        public void onLogits(float[] logits) {
          for (float v : logits) {
            assertTrue(Float.isFinite(v), "logit " + v + " at position " + session.position());
          }
        }
      };
      session.generate(prompt, chunk, finite);
      while (session.position() < 20_000) {
        assertEquals(stateBytes, session.stateBytes(), "state size at position " + session.position());
        session.save(file);
        assertEquals(fileBytes, Files.size(file), "session file size at position " + session.position());
        GenerationResult result = session.generate(new int[0], chunk, finite);
        assertEquals(3_000, result.generatedTokens());
      }
      assertTrue(session.position() >= 20_000);
      assertEquals(stateBytes, session.stateBytes());
      session.save(file);
      assertEquals(fileBytes, Files.size(file));
      System.out.println("positions: " + session.position() + ", state: " + stateBytes
          + " bytes, session file: " + fileBytes + " bytes");
    }
  }
}
