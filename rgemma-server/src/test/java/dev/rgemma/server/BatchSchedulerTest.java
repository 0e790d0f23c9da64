package dev.rgemma.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.engine.StopReason;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.SamplerSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BatchSchedulerTest {
  static RecurrentGemmaModel model;
  static final CharCodec CODEC = new CharCodec();

  @BeforeAll
  static void load() {
    model = Reference.tinyModel();
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** Collects one generation's text and result. */
  static class Collector implements SequenceListener {
    final StringBuilder text = new StringBuilder();
    final List<TokenLogprob> logprobs = new java.util.concurrent.CopyOnWriteArrayList<>();
    final CompletableFuture<SequenceResult> done = new CompletableFuture<>();
    volatile int pieces;

    @Override
    public void onText(String piece, List<TokenLogprob> tokens) {
      text.append(piece);
      logprobs.addAll(tokens);
      pieces++;
    }

    @Override
    public void onFinish(SequenceResult result) {
      done.complete(result);
    }

    @Override
    public void onError(RuntimeException error) {
      done.completeExceptionally(error);
    }

    SequenceResult await() throws Exception {
      return done.get(60, TimeUnit.SECONDS);
    }
  }

  private static int[] randomPrompt(SplittableRandom random, int length) {
    int[] prompt = new int[length];
    prompt[0] = 2;
    for (int i = 1; i < length; i++) {
      prompt[i] = 6 + random.nextInt(CharCodec.VOCAB - 6);
    }
    return prompt;
  }

  private static GenerationRequest greedy(int[] prompt, int maxTokens) {
    return new GenerationRequest(prompt, maxTokens, SamplerSettings.greedy(), List.of());
  }

  @Test
  void batchedGreedyDecodingGivesTheTokensOfEachSequenceRunAlone() throws Exception {
    SplittableRandom random = new SplittableRandom(6);
    int[] lengths = {1, 4, 9, 13, 21, 2};
    List<int[]> prompts = new ArrayList<>();
    for (int length : lengths) {
      prompts.add(randomPrompt(random, length));
    }
    int maxTokens = 12;
    // 3 slots for 6 requests: sequences join as others finish; chunks of 4 mix prefill and decode.
    try (BatchScheduler scheduler = new BatchScheduler(model, CODEC, new StateCache(0), new Metrics(), 3, 10, 4)) {
      List<Collector> collectors = new ArrayList<>();
      for (int[] prompt : prompts) {
        Collector collector = new Collector();
        scheduler.submit(greedy(prompt, maxTokens), collector);
        collectors.add(collector);
      }
      for (int i = 0; i < prompts.size(); i++) {
        SequenceResult got = collectors.get(i).await();
        dev.rgemma.engine.GenerationResult alone = Reference.greedy(model, CODEC, prompts.get(i), maxTokens, List.of());
        assertEquals(CharCodec.text(alone.tokens()), collectors.get(i).text.toString(), "sequence " + i);
        assertEquals(alone.generatedTokens(), got.completionTokens(), "sequence " + i);
        assertEquals(alone.stopReason() == StopReason.MAX_TOKENS ? "length" : "stop", got.finishReason());
        assertEquals(prompts.get(i).length, got.promptTokens());
      }
    }
  }

  @Test
  void aResumedConversationProcessesOnlyItsNewTokensAndAnswersAsAFreshOne() throws Exception {
    SplittableRandom random = new SplittableRandom(7);
    int[] first = randomPrompt(random, 10);
    StateCache cache = new StateCache(1 << 24);
    Metrics metrics = new Metrics();
    try (BatchScheduler scheduler = new BatchScheduler(model, CODEC, cache, metrics, 2, 4, 64)) {
      Collector turn1 = new Collector();
      scheduler.submit(greedy(first, 5), turn1);
      SequenceResult r1 = turn1.await();
      assertEquals("length", r1.finishReason(), "the fixture model should use all 5 tokens");
      int[] generated = CODEC.encode(turn1.text.toString(), false);
      assertEquals(5, generated.length);
      int[] more = randomPrompt(random, 6);
      int[] second = concat(first, generated, Arrays.copyOfRange(more, 1, more.length));

      Collector turn2 = new Collector();
      scheduler.submit(greedy(second, 7), turn2);
      SequenceResult r2 = turn2.await();
      // The state after turn 1 holds the prompt and all generated tokens but the last (never fed).
      assertEquals(first.length + generated.length - 1, r2.cachedTokens());
      assertEquals(second.length, r2.promptTokens());
      dev.rgemma.engine.GenerationResult fresh = Reference.greedy(model, CODEC, second, 7, List.of());
      assertEquals(CharCodec.text(fresh.tokens()), turn2.text.toString());
    }
  }

  @Test
  void aLongPromptIsFedInChunksWhileOthersKeepDecoding() throws Exception {
    int chunk = 8;
    int[] longPrompt = randomPrompt(new SplittableRandom(9), 200);
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    Metrics metrics = new Metrics();
    try (BatchScheduler scheduler = new BatchScheduler(model, CODEC, new StateCache(0), metrics, 2, 2, chunk)) {
      Collector decoding = new Collector() {
        @Override
        public void onText(String piece, List<TokenLogprob> tokens) {
          events.add("decode");
          super.onText(piece, tokens);
        }
      };
      BatchScheduler.Generation endless = scheduler.submit(new GenerationRequest(new int[] {2, 50, 51}, 1_000_000,
          SamplerSettings.defaults().withSeed(3), List.of()), decoding);
      awaitTrue(() -> decoding.pieces > 0);
      Collector late = new Collector() {
        @Override
        public void onFinish(SequenceResult result) {
          events.add("late finished");
          super.onFinish(result);
        }
      };
      scheduler.submit(greedy(longPrompt, 1), late);
      SequenceResult result = late.await();
      endless.cancel();
      assertTrue(!decoding.done.isDone(), "the decoding sequence must still be running: " + decoding.text);
      // The 200-token prompt needs 25 steps of 8 tokens; the other sequence decodes in every one.
      int decodedBefore = events.indexOf("late finished");
      assertTrue(decodedBefore >= 1 + 200 / chunk,
          "decoded " + decodedBefore + " tokens before the long prompt's answer");
      assertEquals(1, result.completionTokens());
    }
  }

  @Test
  void cancelledSequencesLeaveAndAFullQueueRefuses() throws Exception {
    try (BatchScheduler scheduler = new BatchScheduler(model, CODEC, new StateCache(0), new Metrics(), 1, 1, 8)) {
      Collector running = new Collector();
      BatchScheduler.Generation long1 = scheduler.submit(greedy(new int[] {2, 40}, 1_000_000), running);
      Collector waiting = new Collector();
      BatchScheduler.Generation long2 = scheduler.submit(greedy(new int[] {2, 41}, 1_000_000), waiting);
      assertThrows(QueueFullException.class, () -> scheduler.submit(greedy(new int[] {2, 42}, 3), new Collector()));
      long1.cancel();
      long2.cancel();
      Collector after = new Collector();
      awaitTrue(() -> scheduler.active() == 0 && scheduler.queued() == 0);
      scheduler.submit(greedy(new int[] {2, 43}, 3), after);
      assertEquals(3, after.await().completionTokens());
      assertTrue(!running.done.isDone() && !waiting.done.isDone(), "cancelled generations report nothing");
    }
  }

  @Test
  void stopStringsEndTheTextBeforeTheMatchEvenAcrossTokens() throws Exception {
    int[] prompt = randomPrompt(new SplittableRandom(8), 6);
    dev.rgemma.engine.GenerationResult alone = Reference.greedy(model, CODEC, prompt, 10, List.of());
    String full = CharCodec.text(alone.tokens());
    assertTrue(full.length() >= 6, "need a few characters of greedy text, got '" + full + "'");
    String stop = full.substring(3, 5); // two tokens: the match spans a token boundary
    String expected = full.substring(0, full.indexOf(stop));
    try (BatchScheduler scheduler = new BatchScheduler(model, CODEC, new StateCache(0), new Metrics(), 2, 2, 8)) {
      Collector collector = new Collector();
      scheduler.submit(new GenerationRequest(prompt, 10, SamplerSettings.greedy(), List.of(stop)), collector);
      assertEquals("stop", collector.await().finishReason());
      assertEquals(expected, collector.text.toString());
    }
  }

  static void awaitTrue(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not reached within 20 s");
      }
      Thread.sleep(10);
    }
  }

  static int[] concat(int[]... parts) {
    int[] out = new int[Arrays.stream(parts).mapToInt(p -> p.length).sum()];
    int at = 0;
    for (int[] part : parts) {
      System.arraycopy(part, 0, out, at, part.length);
      at += part.length;
    }
    return out;
  }

  /**
   * Each greedy token comes with its log-probability under the model's distribution (checked
   * against a log-softmax of the logits of a separate forward pass), the most likely
   * alternatives in order, and its place in the text.
   */
  @Test
  void logprobsAreTheModelsLogSoftmaxWithTheTopAlternatives() throws Exception {
    int[] prompt = randomPrompt(new SplittableRandom(11), 9);
    int maxTokens = 8;
    try (BatchScheduler scheduler = new BatchScheduler(model, CODEC, new StateCache(0), new Metrics(), 2, 2, 4)) {
      Collector collector = new Collector();
      scheduler.submit(new GenerationRequest(prompt, maxTokens, SamplerSettings.greedy(), List.of(), java.util.Map.of(), 3),
          collector);
      collector.await();
      int[] generated = CODEC.encode(collector.text.toString(), false);
      assertEquals(generated.length, collector.logprobs.size());
      dev.rgemma.model.ModelState state = model.newState();
      float[] logits = model.forwardLast(state, prompt);
      for (int i = 0; i < generated.length; i++) {
        TokenLogprob got = collector.logprobs.get(i);
        assertEquals(generated[i], got.token());
        assertEquals(i, got.textOffset()); // one character per token
        int vocab = logits.length;
        assertEquals(Reference.logprob(logits, 0, vocab, generated[i]), got.logprob(), 1e-4, "token " + i);
        assertEquals(3, got.top().size());
        assertEquals(generated[i], got.top().get(0).token(), "greedy picks the most likely token");
        assertEquals(got.logprob(), got.top().get(0).logprob());
        assertTrue(got.top().get(0).logprob() >= got.top().get(1).logprob());
        assertTrue(got.top().get(1).logprob() >= got.top().get(2).logprob());
        double mass = 0;
        for (TokenLogprob.Alternative a : got.top()) {
          assertEquals(Reference.logprob(logits, 0, vocab, a.token()), a.logprob(), 1e-4);
          mass += Math.exp(a.logprob());
        }
        assertTrue(mass <= 1 + 1e-5, "probabilities above 1: " + mass);
        logits = model.forwardLast(state, new int[] {generated[i]});
      }
    }
  }

  /** A stop string cuts the log-probabilities where it cuts the text: no token starting at or after it. */
  @Test
  void logprobsStopWhereAStopStringCutsTheText() throws Exception {
    int[] prompt = randomPrompt(new SplittableRandom(12), 7);
    String whole = Reference.greedy(model, CODEC, prompt, 12, List.of()).text();
    assertEquals(12, whole.length(), whole);
    String stop = whole.substring(5, 7);
    int cut = whole.indexOf(stop);
    try (BatchScheduler scheduler = new BatchScheduler(model, CODEC, new StateCache(0), new Metrics(), 1, 2, 64)) {
      Collector collector = new Collector();
      scheduler.submit(new GenerationRequest(prompt, 12, SamplerSettings.greedy(), List.of(stop), java.util.Map.of(), 0),
          collector);
      assertEquals("stop", collector.await().finishReason());
      assertEquals(whole.substring(0, cut), collector.text.toString());
      assertEquals(cut, collector.logprobs.size());
      for (int i = 0; i < cut; i++) {
        assertEquals(CharCodec.id(whole.charAt(i)), collector.logprobs.get(i).token());
        assertEquals(List.of(), collector.logprobs.get(i).top());
      }
    }
  }

  /**
   * A prompt scored over several chunks (longer than {@link BatchScheduler#SCORED_PROMPT_CHUNK}),
   * beside a sequence that decodes: each prompt token's log-probability is the log-softmax of the
   * previous position's logits in a forward pass over the whole prompt; no token is generated.
   */
  @Test
  void aLongPromptIsScoredAcrossChunksWithoutGenerating() throws Exception {
    int[] prompt = randomPrompt(new SplittableRandom(13), 2 * BatchScheduler.SCORED_PROMPT_CHUNK + 11);
    try (BatchScheduler scheduler = new BatchScheduler(model, CODEC, new StateCache(1 << 24), new Metrics(), 2, 2, 48)) {
      Collector other = new Collector();
      scheduler.submit(greedy(randomPrompt(new SplittableRandom(14), 5), 20), other);
      List<TokenLogprob> scored = new java.util.concurrent.CopyOnWriteArrayList<>();
      Collector collector = new Collector() {
        @Override
        public void onPromptLogprobs(List<TokenLogprob> logprobs) {
          scored.addAll(logprobs);
        }
      };
      scheduler.submit(new GenerationRequest(prompt, 0, SamplerSettings.greedy(), List.of(), java.util.Map.of(), 2, true, null),
          collector);
      SequenceResult result = collector.await();
      other.await();
      assertEquals("length", result.finishReason());
      assertEquals(0, result.completionTokens());
      assertEquals("", collector.text.toString());
      assertEquals(prompt.length, scored.size());
      assertTrue(Float.isNaN(scored.get(0).logprob()));
      float[] all = model.forwardAll(model.newState(), prompt);
      int vocab = model.config().vocabSize();
      for (int i = 1; i < prompt.length; i++) {
        assertEquals(prompt[i], scored.get(i).token());
        assertEquals(Reference.logprob(all, (i - 1) * vocab, vocab, prompt[i]), scored.get(i).logprob(), 1e-4,
            "token " + i);
        assertEquals(2, scored.get(i).top().size());
        assertEquals(scored.get(1).textOffset() + i - 1, scored.get(i).textOffset(), "one character per token");
      }
    }
  }
}
