package dev.rgemma.apitest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.RgemmaException;
import dev.rgemma.api.ChatMessage;
import dev.rgemma.api.Completion;
import dev.rgemma.api.FinishReason;
import dev.rgemma.api.GenerateOptions;
import dev.rgemma.api.RgemmaModel;
import dev.rgemma.api.RgemmaSession;
import dev.rgemma.api.Score;
import dev.rgemma.api.TextStream;
import dev.rgemma.model.Checkpoints;
import dev.rgemma.model.ModelQuantizer;
import dev.rgemma.model.TensorSource;
import dev.rgemma.tensor.DType;
import dev.rgemma.testing.Fixtures;
import dev.rgemma.testing.TinyTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public API ({@code dev.rgemma.api}) used from outside its package, on the tiny reference
 * fixture (a random model: its text is noise, so generations are checked against the reference
 * implementation's greedy ids and against each other).
 */
class PublicApiTest {
  @TempDir static Path temp;
  private static RgemmaModel model;
  private static int[] referencePrompt;
  private static int[] referenceGreedy;

  @BeforeAll
  static void load() throws Exception {
    model = RgemmaModel.load(TinyTokenizer.fixtureModelWithTokenizer(temp.resolve("tiny")));
    JsonNode greedy = Fixtures.expected(Fixtures.dir("tiny-a")).get("greedy").get(0);
    referencePrompt = Fixtures.ints(greedy.get("prompt"));
    referenceGreedy = Fixtures.ints(greedy.get("generated"));
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static GenerateOptions sampled(int maxTokens, long seed) {
    return GenerateOptions.builder().maxTokens(maxTokens).temperature(1.0).topK(0).topP(1).minP(0)
        .seed(seed).build();
  }

  @Test
  void greedyIdsMatchTheReferenceImplementation() {
    RgemmaSession session = model.newSession();
    List<Integer> streamed = new ArrayList<>();
    Completion c = session.generate(referencePrompt, GenerateOptions.greedy(20), streamed::add);
    assertArrayEquals(referenceGreedy, c.tokens());
    assertEquals(Arrays.stream(referenceGreedy).boxed().toList(), streamed);
    assertEquals(FinishReason.MAX_TOKENS, c.finishReason());
    assertEquals(referencePrompt.length, c.promptTokens());
    assertEquals(model.decode(referenceGreedy), c.text());
  }

  @Test
  void aGenerationSplitInTwoCallsContinuesExactly() {
    RgemmaSession session = model.newSession();
    Completion first = session.generate(referencePrompt, GenerateOptions.greedy(8));
    Completion second = session.generate(new int[0], GenerateOptions.greedy(12));
    assertArrayEquals(Arrays.copyOfRange(referenceGreedy, 0, 8), first.tokens());
    assertArrayEquals(Arrays.copyOfRange(referenceGreedy, 8, 20), second.tokens());
    assertEquals(1, second.promptTokens(), "only the pending last token of the first call is fed");
  }

  @Test
  void aRestoredSessionContinuesWhereTheSavedOneStopped() throws Exception {
    RgemmaSession session = model.newSession();
    session.generate(referencePrompt, GenerateOptions.greedy(8));
    Path file = temp.resolve("greedy.rgsession");
    session.save(file);
    RgemmaSession restored = model.restoreSession(file);
    assertEquals(session.position(), restored.position());
    assertArrayEquals(Arrays.copyOfRange(referenceGreedy, 8, 20),
        restored.generate(new int[0], GenerateOptions.greedy(12)).tokens());

    // sampled text: the random state travels in the file too
    RgemmaSession straight = model.newSession();
    GenerateOptions thirty = sampled(30, 7).toBuilder().ignoreEndOfSequence(true).build();
    Completion whole = straight.generate("the ", thirty);
    RgemmaSession split = model.newSession();
    Completion part1 = split.generate("the ", thirty.toBuilder().maxTokens(12).build());
    split.save(file);
    RgemmaSession resumed = model.newSession();
    resumed.generate("noise to overwrite", GenerateOptions.greedy(3));
    resumed.restore(file);
    Completion part2 = resumed.generate("", thirty.toBuilder().maxTokens(18).noSeed().build());
    int[] joined = new int[30];
    System.arraycopy(part1.tokens(), 0, joined, 0, 12);
    System.arraycopy(part2.tokens(), 0, joined, 12, 18);
    assertArrayEquals(whole.tokens(), joined);
  }

  @Test
  void aGgufFileLoadsWithTheTokenizerInItsMetadata() throws Exception {
    Path gguf = temp.resolve("tiny-f32.gguf");
    Path checkpoint = temp.resolve("tiny");
    try (TensorSource source = Checkpoints.open(checkpoint)) { // setup only: the converter is not API
      ModelQuantizer.quantize(source, DType.F32, gguf, checkpoint, "tiny", null);
    }
    try (RgemmaModel quantized = RgemmaModel.load(gguf)) {
      assertTrue(quantized.hasTokenizer());
      assertEquals(model.countTokens(" the thin"), quantized.countTokens(" the thin"));
      Completion c = quantized.newSession().generate(referencePrompt, GenerateOptions.greedy(20));
      assertArrayEquals(referenceGreedy, c.tokens());
      assertEquals(model.decode(referenceGreedy), c.text());
    }
  }

  @Test
  void idsBeyondTheTokenizersVocabularyHaveNoText() {
    // the fixture's embedding has 320 rows, its tokenizer 319 pieces
    assertEquals("", model.decode(new int[] {TinyTokenizer.VOCAB - 1}));
    assertEquals("ab", model.decode(new int[] {model.encode("a")[0], TinyTokenizer.VOCAB - 1, model.encode("b")[0]}));
  }

  @Test
  void restoringAnotherModelsSessionIsRefused() throws Exception {
    Path file = temp.resolve("other.rgsession");
    model.newSession().save(file);
    try (RgemmaModel other = RgemmaModel.load(Fixtures.dir("tiny-a/bf16"))) {
      RgemmaException e = assertThrows(RgemmaException.class, () -> other.restoreSession(file));
      assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }
  }

  @Test
  void callbackIteratorAndStreamGiveTheSameText() {
    GenerateOptions options = sampled(40, 11);
    StringBuilder pieces = new StringBuilder();
    Completion blocking = model.newSession().generate("in the", options, pieces::append);
    assertFalse(blocking.text().isEmpty());
    assertEquals(blocking.text(), pieces.toString());

    StringBuilder iterated = new StringBuilder();
    try (TextStream stream = model.newSession().stream("in the", options)) {
      while (stream.hasNext()) {
        iterated.append(stream.next());
      }
      assertArrayEquals(blocking.tokens(), stream.completion().tokens());
      assertEquals(blocking.finishReason(), stream.completion().finishReason());
    }
    assertEquals(blocking.text(), iterated.toString());

    try (var stream = model.newSession().stream("in the", options).toStream()) {
      assertEquals(blocking.text(), stream.collect(Collectors.joining()));
    }
  }

  @Test
  void closingAStreamEarlyCancelsItAndFreesTheSession() {
    RgemmaSession session = model.newSession();
    TextStream stream = session.stream("the", GenerateOptions.builder().maxTokens(10_000)
        .ignoreEndOfSequence(true).seed(3).build());
    assertTrue(stream.hasNext());
    stream.next();
    stream.close();
    Completion cancelled = stream.completion();
    assertEquals(FinishReason.CANCELLED, cancelled.finishReason());
    assertTrue(cancelled.generatedTokens() < 10_000);
    // The session is free again: a new generation runs its full length (end of sequence ignored,
    // so the count does not hang on what the demo model happens to predict).
    assertEquals(5, session.generate(" in", GenerateOptions.builder().maxTokens(5)
        .ignoreEndOfSequence(true).seed(3).build()).generatedTokens());
  }

  @Test
  void aSessionIsUsedByOneGenerationAtATime() {
    RgemmaSession session = model.newSession();
    // unread, the stream stops generating once it is a few pieces ahead: it cannot finish early
    GenerateOptions endless = GenerateOptions.builder().maxTokens(100_000).ignoreEndOfSequence(true).build();
    try (TextStream open = session.stream("the", endless)) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> session.generate("the", GenerateOptions.greedy(1)));
      assertTrue(e.getMessage().contains("already generating"), e.getMessage());
    }
    assertEquals(1, session.generate("the", GenerateOptions.greedy(1)).generatedTokens());
  }

  @Test
  void manySessionsShareOneModelAcrossThreads() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<int[]>> runs = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        runs.add(pool.submit(() -> model.newSession().generate(referencePrompt, GenerateOptions.greedy(20)).tokens()));
      }
      for (Future<int[]> run : runs) {
        assertArrayEquals(referenceGreedy, run.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void anInterruptedThreadCancelsItsGeneration() {
    Thread.currentThread().interrupt();
    try {
      Completion c = model.newSession().generate("the", GenerateOptions.greedy(10));
      assertEquals(FinishReason.CANCELLED, c.finishReason());
      assertEquals(0, c.generatedTokens());
    } finally {
      assertTrue(Thread.interrupted(), "the interrupt flag is left set");
    }
  }

  @Test
  void aStopSequenceEndsTheTextBeforeIt() {
    String text = model.decode(referenceGreedy);
    String upToStop = model.decode(Arrays.copyOfRange(referenceGreedy, 0, 12));
    String stop = model.decode(Arrays.copyOfRange(referenceGreedy, 12, 14));
    int at = text.indexOf(stop);
    Completion c = model.newSession().generate(referencePrompt,
        GenerateOptions.greedy(20).toBuilder().stopSequences(stop).build());
    assertEquals(FinishReason.STOP_SEQUENCE, c.finishReason());
    assertEquals(text.substring(0, at), c.text());
    assertTrue(c.text().length() <= upToStop.length());
  }

  @Test
  void chatFeedsOnlyTheNewTurnWhenTheHistoryComesBack() {
    RgemmaSession session = model.newSession();
    GenerateOptions options = sampled(6, 5);
    List<ChatMessage> chat = new ArrayList<>(List.of(ChatMessage.system("Be brief."), ChatMessage.user("the thin")));
    Completion first = session.chat(chat, options);
    assertEquals(model.countTokens(chat), first.promptTokens());

    chat.add(ChatMessage.assistant(first.text()));
    chat.add(ChatMessage.user("in the"));
    Completion second = session.chat(chat, options);
    assertTrue(second.promptTokens() < model.countTokens(chat),
        second.promptTokens() + " tokens fed, the whole chat has " + model.countTokens(chat));
    assertEquals(first.position() + second.promptTokens() + second.generatedTokens() - 1, second.position());

    // a message may contain anything, even the placeholder the delta is computed with
    chat.add(ChatMessage.assistant(second.text()));
    chat.add(ChatMessage.user("RGEMMA_PREVIOUS_ANSWER_MARK_0 the"));
    Completion third = session.chat(chat, options);
    int[] delta = model.encode("<end_of_turn>\n<start_of_turn>user\nRGEMMA_PREVIOUS_ANSWER_MARK_0 the<end_of_turn>\n"
        + "<start_of_turn>model\n");
    assertEquals(delta.length + (second.finishReason() == FinishReason.MAX_TOKENS ? 1 : 0), third.promptTokens());

    // an edited history does not continue: the session starts over
    List<ChatMessage> edited = new ArrayList<>(chat);
    edited.set(1, ChatMessage.user("THE THIN"));
    assertEquals(model.countTokens(edited), session.chat(edited, options).promptTokens());
  }

  @Test
  void chatNeedsAUserMessageLastAndAlternatingRoles() {
    RgemmaSession session = model.newSession();
    assertThrows(IllegalArgumentException.class, () -> session.chat(List.of(), GenerateOptions.greedy(1)));
    assertThrows(IllegalArgumentException.class,
        () -> session.chat(List.of(ChatMessage.user("a"), ChatMessage.assistant("b")), GenerateOptions.greedy(1)));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> session.chat(List.of(ChatMessage.user("a"), ChatMessage.user("b")), GenerateOptions.greedy(1)));
    assertTrue(e.getMessage().contains("alternate"), e.getMessage());
  }

  @Test
  void tokensAreCountedWithTheModelsTokenizer() {
    // TinyTokenizer: spaces become "▁", and "▁t" + "he" merge into one piece "▁the"
    assertEquals(2, model.countTokens(" the the"));
    assertEquals(3, model.countTokens("xyz"));
    assertEquals(0, model.countTokens(""));
    // <bos> <start_of_turn> u s e r \n h i <end_of_turn> \n <start_of_turn> m o d e l \n
    assertEquals(18, model.countTokens(List.of(ChatMessage.user("hi"))));
    assertEquals(" the thin", model.decode(model.encode(" the thin")));
  }

  @Test
  void optionsAreValidatedWithTheirName() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GenerateOptions.builder().temperature(-1).build());
    assertTrue(e.getMessage().startsWith("temperature is -1.0"), e.getMessage());
    // Each option is named as the builder spells it, with the value as passed (not its float32).
    Map<String, java.util.function.Supplier<GenerateOptions>> bad = new java.util.LinkedHashMap<>();
    bad.put("topP is 0.0,", () -> GenerateOptions.builder().topP(0).build());
    bad.put("topP is 1.0E-50,", () -> GenerateOptions.builder().topP(1e-50).build());
    bad.put("topP is 1.00000001,", () -> GenerateOptions.builder().topP(1.00000001).build());
    bad.put("maxTokens is -1,", () -> GenerateOptions.builder().maxTokens(-1).build());
    bad.put("penaltyWindow is -1,", () -> GenerateOptions.builder().penaltyWindow(-1).build());
    bad.put("penaltyWindow is 2147483647,", () -> GenerateOptions.builder().penaltyWindow(Integer.MAX_VALUE).build());
    bad.put("minP is 1.5,", () -> GenerateOptions.builder().minP(1.5).build());
    bad.put("topK is -2,", () -> GenerateOptions.builder().topK(-2).build());
    bad.put("repeatPenalty is 0.0,", () -> GenerateOptions.builder().repeatPenalty(0).build());
    bad.put("frequencyPenalty is 1.0E300,", () -> GenerateOptions.builder().frequencyPenalty(1e300).build());
    bad.put("presencePenalty is NaN,", () -> GenerateOptions.builder().presencePenalty(Double.NaN).build());
    bad.put("temperature is 1.0E300,", () -> GenerateOptions.builder().temperature(1e300).build());
    bad.put("stopSequences[0] is \"\",", () -> GenerateOptions.builder().stopSequences("").build());
    bad.put("stopSequences[1] is null,", () -> GenerateOptions.builder().stopSequences("a", null).build());
    for (var entry : bad.entrySet()) {
      e = assertThrows(IllegalArgumentException.class, entry.getValue()::get, entry.getKey());
      assertTrue(e.getMessage().startsWith(entry.getKey()), e.getMessage());
    }
    NullPointerException npe = assertThrows(NullPointerException.class,
        () -> GenerateOptions.builder().stopSequences((List<String>) null));
    assertEquals("stopSequences", npe.getMessage());
    GenerateOptions options = GenerateOptions.builder().topK(7).seed(9).stopSequences("x").build();
    assertEquals(options, options.toBuilder().build());
    assertEquals(0.95, GenerateOptions.defaults().topP());
    assertEquals(0.8, GenerateOptions.defaults().temperature());
    assertEquals(7, options.topK());
    assertEquals(9, options.seed().orElseThrow());
    assertNotEquals(options, options.toBuilder().noSeed().build());
  }

  @Test
  void aModelWithoutTokenizerRunsOnIds() throws Exception {
    try (RgemmaModel idsOnly = RgemmaModel.load(Fixtures.dir("tiny-a"))) {
      assertFalse(idsOnly.hasTokenizer());
      RgemmaSession session = idsOnly.newSession();
      RgemmaException e = assertThrows(RgemmaException.class, () -> session.generate("hello"));
      assertTrue(e.getMessage().contains("no tokenizer"), e.getMessage());
      assertArrayEquals(referenceGreedy, session.generate(referencePrompt, GenerateOptions.greedy(20)).tokens());
    }
  }

  @Test
  void aClosedModelRefusesNewWork() throws Exception {
    RgemmaModel closed = RgemmaModel.load(Fixtures.dir("tiny-a"));
    RgemmaSession session = closed.newSession();
    closed.close();
    closed.close();
    assertThrows(IllegalStateException.class, closed::newSession);
    assertThrows(IllegalStateException.class, () -> session.generate(referencePrompt, GenerateOptions.greedy(1)));
    // Every call on a session of the closed model says so, by the model's name.
    for (org.junit.jupiter.api.function.Executable call : List.<org.junit.jupiter.api.function.Executable>of(
        () -> session.save(temp.resolve("after-close.rgs")), () -> session.restore(temp.resolve("after-close.rgs")),
        session::reset)) {
      IllegalStateException e = assertThrows(IllegalStateException.class, call);
      assertTrue(e.getMessage().contains("is closed"), e.getMessage());
    }
  }

  @Test
  void missingModelsAndDemoModelsAreReportedByPath() throws Exception {
    Path missing = temp.resolve("no-such-model");
    Exception e = assertThrows(java.nio.file.NoSuchFileException.class, () -> RgemmaModel.load(missing));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

    String previous = System.getProperty(RgemmaModel.DEMO_MODEL_PROPERTY);
    try {
      System.setProperty(RgemmaModel.DEMO_MODEL_PROPERTY, temp.resolve("tiny").toString());
      assertEquals(temp.resolve("tiny"), RgemmaModel.demoModelPath());
      try (RgemmaModel demo = RgemmaModel.loadDemo()) {
        assertTrue(demo.hasTokenizer());
      }
      System.setProperty(RgemmaModel.DEMO_MODEL_PROPERTY, missing.toString());
      RgemmaException notThere = assertThrows(RgemmaException.class, RgemmaModel::demoModelPath);
      assertTrue(notThere.getMessage().contains(missing.toString()), notThere.getMessage());
    } finally {
      if (previous == null) {
        System.clearProperty(RgemmaModel.DEMO_MODEL_PROPERTY);
      } else {
        System.setProperty(RgemmaModel.DEMO_MODEL_PROPERTY, previous);
      }
    }
    assertTrue(Files.isDirectory(temp));
  }

  /**
   * score: each continuation token's log-probability, checked against a log-softmax (in float) of
   * the engine's logits for the whole sequence, over more tokens than one scoring chunk; the
   * reference greedy continuation is greedy, a changed one is not and is less likely.
   */
  @Test
  void scoreGivesEachContinuationTokensLogProbabilityAndWhetherGreedyWouldSayIt() throws Exception {
    int vocab = model.vocabularySize();
    int[] continuation = java.util.stream.IntStream.concat(Arrays.stream(referenceGreedy),
        new java.util.SplittableRandom(21).ints(25, 0, vocab)).toArray();
    Score score = model.score(referencePrompt, continuation);
    assertArrayEquals(continuation, score.tokens());
    int[] all = java.util.stream.IntStream.concat(Arrays.stream(referencePrompt), Arrays.stream(continuation)).toArray();
    float[] logits;
    try (dev.rgemma.model.RecurrentGemmaModel engine = dev.rgemma.model.RecurrentGemmaModel.load(Fixtures.dir("tiny-a"))) {
      logits = engine.forwardAll(engine.newState(), all);
    }
    double sum = 0;
    for (int i = 0; i < continuation.length; i++) {
      int row = (referencePrompt.length - 1 + i) * vocab;
      float max = Float.NEGATIVE_INFINITY;
      for (int v = 0; v < vocab; v++) {
        max = Math.max(max, logits[row + v]);
      }
      float total = 0;
      for (int v = 0; v < vocab; v++) {
        total += (float) Math.exp(logits[row + v] - max);
      }
      float expected = logits[row + continuation[i]] - max - (float) Math.log(total);
      assertEquals(expected, score.logprobs()[i], 1e-4, "token " + i);
      sum += score.logprobs()[i];
    }
    assertEquals(sum, score.logLikelihood(), 1e-9);
    assertFalse(score.greedy(), "random tokens after the greedy ones");

    Score greedy = model.score(referencePrompt, referenceGreedy);
    assertTrue(greedy.greedy());
    assertArrayEquals(Arrays.copyOf(score.logprobs(), referenceGreedy.length), greedy.logprobs());
    int[] changed = referenceGreedy.clone();
    changed[changed.length - 1] = (changed[changed.length - 1] + 1) % vocab;
    Score other = model.score(referencePrompt, changed);
    assertFalse(other.greedy());
    assertTrue(other.logLikelihood() < greedy.logLikelihood());

    Score text = model.score("The sea", " was calm");
    assertArrayEquals(model.encode(" was calm"), text.tokens());
    assertTrue(text.logLikelihood() < 0);
    assertThrows(IllegalArgumentException.class, () -> model.score(referencePrompt, new int[0]));
    assertThrows(IllegalArgumentException.class, () -> model.score(new int[] {2}, new int[] {vocab}));
    // Generating from an id outside the vocabulary is refused alike, before the session changes.
    RgemmaSession session = model.newSession();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> session.generate(new int[] {2, vocab}, GenerateOptions.greedy(1)));
    assertTrue(e.getMessage().startsWith("token id " + vocab + " is outside the vocabulary"), e.getMessage());
    assertEquals(0, session.position());
  }

  /** jsonObject: every answer that ends by itself is one JSON object; the option is checked and kept. */
  @Test
  void jsonObjectAnswersParse() throws Exception {
    int closed = 0;
    for (long seed = 1; seed <= 8; seed++) {
      GenerateOptions options = GenerateOptions.builder().jsonObject(true).maxTokens(80).temperature(1).seed(seed).build();
      Completion c = model.newSession().generate("the", options);
      assertTrue(c.text().stripLeading().startsWith("{"), c.text());
      if (c.finishReason() != FinishReason.MAX_TOKENS) {
        assertTrue(new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.text()).isObject(), c.text());
        closed++;
      }
    }
    assertTrue(closed >= 1, "no sample closed its object");
    GenerateOptions json = GenerateOptions.builder().jsonObject(true).build();
    assertTrue(json.jsonObject());
    assertEquals(json, json.toBuilder().build());
    assertNotEquals(json, GenerateOptions.defaults());
    assertThrows(IllegalArgumentException.class,
        () -> GenerateOptions.builder().jsonObject(true).ignoreEndOfSequence(true).build());
  }

  /** jsonSchema: answers that end by themselves have the required properties with their types. */
  @Test
  void jsonSchemaAnswersFollowTheSchema() throws Exception {
    String schema = "{\"type\": \"object\", \"properties\": {\"w\": {\"type\": \"string\"}, "
        + "\"ok\": {\"type\": \"boolean\"}}, \"required\": [\"w\", \"ok\"]}";
    int closed = 0;
    for (long seed = 1; seed <= 8; seed++) {
      Completion c = model.newSession().generate("the",
          GenerateOptions.builder().jsonSchema(schema).maxTokens(60).temperature(1).seed(seed).build());
      if (c.finishReason() != FinishReason.MAX_TOKENS) {
        JsonNode value = new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.text());
        assertTrue(value.get("w").isTextual() && value.get("ok").isBoolean() && value.size() == 2, c.text());
        closed++;
      }
    }
    assertTrue(closed >= 1, "no sample closed its object");
    GenerateOptions options = GenerateOptions.builder().jsonSchema(schema).build();
    assertTrue(options.jsonObject());
    assertEquals(schema, options.jsonSchema().orElseThrow());
    assertEquals(options, options.toBuilder().build());
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> GenerateOptions.builder()
        .jsonSchema("{\"type\": \"object\", \"properties\": {\"w\": {\"format\": \"date\"}}}").build());
    assertTrue(bad.getMessage().contains("properties.w.format"), bad.getMessage());
    bad = assertThrows(IllegalArgumentException.class, () -> GenerateOptions.builder().jsonSchema("{").build());
    assertTrue(bad.getMessage().contains("not valid JSON"), bad.getMessage());
    // Nested deeper than JSON mode can open: refused when built, not cut short while generating.
    String deep = "{\"type\": \"object\", \"properties\": {\"a\": ".repeat(49) + "{\"type\": \"string\"}"
        + "}}".repeat(49);
    bad = assertThrows(IllegalArgumentException.class, () -> GenerateOptions.builder().jsonSchema(deep).build());
    assertTrue(bad.getMessage().startsWith("jsonSchema: ") && bad.getMessage().contains("at most 48 levels"),
        bad.getMessage());
  }
}
