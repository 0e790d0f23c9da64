package dev.rgemma.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.testing.FakeCodec;
import dev.rgemma.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Batched decoding on the tiny fixture: the reference's greedy runs, and equality with Session. */
class BatchGeneratorTest {
  private static RecurrentGemmaModel model;
  private static JsonNode expected;

  @BeforeAll
  static void load() throws Exception {
    Path dir = Fixtures.dir("tiny-a");
    model = RecurrentGemmaModel.load(dir);
    expected = Fixtures.expected(dir);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void greedyBatchMatchesTheReference() {
    List<BatchGenerator.Request> requests = new ArrayList<>();
    List<int[]> generated = new ArrayList<>();
    for (int copy = 0; copy < 2; copy++) {
      for (JsonNode run : expected.get("greedy")) {
        requests.add(new BatchGenerator.Request(Fixtures.ints(run.get("prompt")), SamplerSettings.greedy(),
            GenerationOptions.maxTokens(20)));
        generated.add(Fixtures.ints(run.get("generated")));
      }
    }
    List<BatchGenerator.Outcome> outcomes = new BatchGenerator(model, null, 3, 100).generateAll(requests);
    assertEquals(requests.size(), outcomes.size());
    for (int i = 0; i < outcomes.size(); i++) {
      GenerationResult result = outcomes.get(i).result();
      assertArrayEquals(generated.get(i), result.tokens(), "request " + i);
      assertEquals(StopReason.MAX_TOKENS, result.stopReason());
      assertEquals(19, result.decodeSteps());
      assertEquals(requests.get(i).prompt().length + 19, result.position());
    }
  }

  /**
   * Seeded random prompts, settings, limits and JSON mode: every field but the timings equals a
   * Session's.
   */
  @Test
  void everyRequestEqualsAFreshSession() {
    Random random = new Random(7);
    FakeCodec codec = FakeCodec.chat();
    List<BatchGenerator.Request> requests = new ArrayList<>();
    for (int i = 0; i < 13; i++) {
      int[] prompt = new int[1 + random.nextInt(12)];
      prompt[0] = FakeCodec.BOS;
      for (int t = 1; t < prompt.length; t++) {
        prompt[t] = 6 + random.nextInt(314);
      }
      SamplerSettings sampling = i % 3 == 0 ? SamplerSettings.greedy()
          : new SamplerSettings(0.5f + random.nextFloat(), random.nextInt(50), 0.9f, 0.02f,
              i % 2 == 0 ? 1.3f : 1f, 0.1f, 0f, 16, random.nextLong());
      List<String> stop = i % 4 == 1 ? List.of("<173>") : List.of();
      boolean ignoreStops = i % 5 == 4;
      boolean json = i % 3 == 2 && !ignoreStops; // JSON mode (this codec's "<id>" pieces end it at once)
      requests.add(new BatchGenerator.Request(prompt, sampling,
          new GenerationOptions(random.nextInt(25), stop, ignoreStops, json)));
    }
    List<BatchGenerator.Outcome> outcomes = new BatchGenerator(model, codec, 4, 64).generateAll(requests);
    boolean sawEarlyStop = false;
    for (int i = 0; i < requests.size(); i++) {
      BatchGenerator.Request request = requests.get(i);
      Session session = new Session(model, codec, request.sampling());
      GenerationResult alone = session.generate(request.prompt(), request.options(), GenerationListener.NONE);
      BatchGenerator.Outcome outcome = outcomes.get(i);
      assertFalse(outcome.failed(), "request " + i);
      GenerationResult batched = outcome.result();
      assertArrayEquals(alone.tokens(), batched.tokens(), "request " + i);
      assertEquals(alone.text(), batched.text(), "request " + i);
      assertEquals(alone.stopReason(), batched.stopReason(), "request " + i);
      assertEquals(alone.promptTokens(), batched.promptTokens(), "request " + i);
      assertEquals(alone.decodeSteps(), batched.decodeSteps(), "request " + i);
      assertEquals(alone.position(), batched.position(), "request " + i);
      sawEarlyStop |= batched.stopReason() != StopReason.MAX_TOKENS;
    }
    assertTrue(sawEarlyStop, "some request should stop before its token limit");
  }

  @Test
  void badRequestsFailAloneInOrder() {
    GenerationOptions options = GenerationOptions.maxTokens(5);
    List<BatchGenerator.Request> requests = List.of(
        new BatchGenerator.Request(new int[] {2, 17}, SamplerSettings.greedy(), options),
        new BatchGenerator.Request(new int[0], SamplerSettings.greedy(), options),
        new BatchGenerator.Request(new int[] {2, 17, 42, 99, 5, 6}, SamplerSettings.greedy(), options),
        new BatchGenerator.Request(new int[] {2, 999}, SamplerSettings.greedy(), options),
        new BatchGenerator.Request(new int[] {2, 17}, SamplerSettings.greedy(),
            new GenerationOptions(5, List.of("x"), false)),
        new BatchGenerator.Request(new int[] {2, 17}, SamplerSettings.greedy(), options));
    List<BatchGenerator.Outcome> outcomes = new BatchGenerator(model, null, 2, 5).generateAll(requests);
    assertEquals(6, outcomes.size());
    assertNull(outcomes.get(0).failure());
    assertTrue(outcomes.get(1).failure().getMessage().contains("empty"), outcomes.get(1).failure().getMessage());
    assertTrue(outcomes.get(2).failure().getMessage().contains("6 tokens, more than the limit of 5"),
        outcomes.get(2).failure().getMessage());
    assertTrue(outcomes.get(3).failure().getMessage().contains("999"), outcomes.get(3).failure().getMessage());
    assertTrue(outcomes.get(4).failure().getMessage().contains("stop strings need a tokenizer"));
    assertArrayEquals(outcomes.get(0).result().tokens(), outcomes.get(5).result().tokens());
    assertEquals(5, outcomes.get(5).result().generatedTokens());
  }

  @Test
  void requestsArePulledOnlyWhenThereIsRoom() {
    int[] pulled = {0};
    Iterator<BatchGenerator.Request> source = new Iterator<>() {
      @Override
      public boolean hasNext() {
        return pulled[0] < 100;
      }

      @Override
      public BatchGenerator.Request next() {
        pulled[0]++;
        return new BatchGenerator.Request(new int[] {2, 17}, SamplerSettings.greedy(), GenerationOptions.maxTokens(3));
      }
    };
    Iterator<BatchGenerator.Outcome> outcomes = new BatchGenerator(model, null, 2, 10).generate(source);
    outcomes.next();
    assertTrue(pulled[0] <= 2 * 4, "pulled " + pulled[0] + " requests for the first outcome");
    int count = 1;
    while (outcomes.hasNext()) {
      outcomes.next();
      count++;
    }
    assertEquals(100, count);
  }

  @Test
  void rejectsBadSizes() {
    assertThrows(IllegalArgumentException.class, () -> new BatchGenerator(model, null, 0, 10));
    assertThrows(IllegalArgumentException.class, () -> new BatchGenerator(model, null, 1, 0));
  }

  /**
   * JSON mode with a real tokenizer: seeded sampled requests give what a Session gives, and each
   * answer that ends by itself parses as one JSON object.
   */
  @Test
  void jsonModeEqualsASessionAndClosedAnswersParse(@org.junit.jupiter.api.io.TempDir Path temp) throws Exception {
    Path dir = dev.rgemma.testing.TinyTokenizer.fixtureModelWithTokenizer(temp.resolve("tiny"));
    TextCodec codec = TokenizerCodec.forModel(dir, model.config().vocabSize()).orElseThrow();
    int[] prompt = codec.encode("the", true);
    List<BatchGenerator.Request> requests = new ArrayList<>();
    for (int seed = 1; seed <= 8; seed++) {
      requests.add(new BatchGenerator.Request(prompt, SamplerSettings.defaults().withTemperature(1f).withSeed(seed),
          new GenerationOptions(80, List.of(), false, true)));
    }
    List<BatchGenerator.Outcome> outcomes = new BatchGenerator(model, codec, 4, 64).generateAll(requests);
    int closed = 0;
    for (int i = 0; i < requests.size(); i++) {
      GenerationResult batched = outcomes.get(i).result();
      GenerationResult alone = new Session(model, codec, requests.get(i).sampling())
          .generate(prompt, requests.get(i).options(), GenerationListener.NONE);
      assertArrayEquals(alone.tokens(), batched.tokens(), "request " + i);
      assertTrue(batched.text().stripLeading().startsWith("{"), batched.text());
      if (batched.stopReason() != StopReason.MAX_TOKENS) {
        assertTrue(new com.fasterxml.jackson.databind.ObjectMapper().readTree(batched.text()).isObject(), batched.text());
        closed++;
      }
    }
    assertTrue(closed >= 1, "no request closed its object");
  }
}
