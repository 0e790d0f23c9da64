package dev.rgemma.server;

import dev.rgemma.engine.StopStringFilter;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.model.ModelState;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.JsonConstraint;
import dev.rgemma.sampling.Sampler;
import dev.rgemma.sampling.TokenHistory;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Continuous batching: up to {@code parallel} sequences advance together, one
 * {@link RecurrentGemmaModel#forwardBatch} (one pass over the weights) per step. In each step every
 * decoding sequence feeds its last sampled token and the prefilling ones feed their next prompt
 * tokens, at most {@code prefillChunk} in all, so long prompts do not stall the others. New
 * requests take free slots between steps; cancelled ones leave at the next step boundary.
 */
public final class BatchScheduler implements AutoCloseable {
  /**
   * Most prompt tokens a sequence that scores its prompt feeds per step: each needs a row of
   * logits (1 MiB for a 256 000-token vocabulary).
   */
  static final int SCORED_PROMPT_CHUNK = 32;

  private final RecurrentGemmaModel model;
  private final TextCodec codec;
  private final StateCache cache;
  private final Set<Integer> stopTokens = new HashSet<>(); // end of sequence, end of turn
  private final Metrics metrics;
  private final int parallel;
  private final int queueCapacity;
  private final int prefillChunk;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition workArrived = lock.newCondition();
  private final ArrayDeque<Generation> waiting = new ArrayDeque<>(); // guarded by lock
  private final List<Generation> active = new ArrayList<>(); // scheduler thread only
  private final AtomicLong ids = new AtomicLong();
  private final Thread thread;
  private volatile int activeCount;
  private volatile boolean closed;

  /**
   * @param parallel most sequences in one batch
   * @param queueCapacity most requests waiting for a slot; more are refused
   * @param prefillChunk most prompt tokens fed in one step, over all prefilling sequences
   */
  public BatchScheduler(RecurrentGemmaModel model, TextCodec codec, StateCache cache, Metrics metrics,
      int parallel, int queueCapacity, int prefillChunk) {
    if (parallel < 1) {
      throw new IllegalArgumentException("--parallel must be >= 1, got " + parallel);
    }
    if (queueCapacity < 0) {
      throw new IllegalArgumentException("--queue must be >= 0, got " + queueCapacity);
    }
    if (prefillChunk < 1) {
      throw new IllegalArgumentException("--prefill-chunk must be >= 1, got " + prefillChunk);
    }
    this.model = model;
    this.codec = codec;
    this.cache = cache;
    this.metrics = metrics;
    this.parallel = parallel;
    this.queueCapacity = queueCapacity;
    this.prefillChunk = prefillChunk;
    if (model.config().eosTokenId() >= 0) {
      stopTokens.add(model.config().eosTokenId());
    }
    codec.specialToken("<end_of_turn>").ifPresent(stopTokens::add);
    this.thread = Thread.ofPlatform().name("rgemma-scheduler").daemon().unstarted(this::loop);
    thread.start();
  }

  /**
   * Queues a generation; its output goes to {@code listener}.
   *
   * @throws QueueFullException when {@code queueCapacity} requests are already waiting
   * @throws ShuttingDownException once the scheduler is closed
   */
  public Generation submit(GenerationRequest request, SequenceListener listener) throws QueueFullException {
    for (int token : request.prompt()) {
      if (token < 0 || token >= model.config().vocabSize()) {
        throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, "
            + model.config().vocabSize() + ")");
      }
    }
    for (int token : request.logitBias().keySet()) {
      if (token >= model.config().vocabSize()) {
        throw new IllegalArgumentException("logit bias for token id " + token + ", outside the vocabulary [0, "
            + model.config().vocabSize() + ")");
      }
    }
    Generation generation = new Generation(ids.incrementAndGet(), request, listener);
    lock.lock();
    try {
      if (closed) {
        throw new ShuttingDownException();
      }
      if (activeCount + waiting.size() >= parallel + queueCapacity) {
        throw new QueueFullException(waiting.size());
      }
      waiting.add(generation);
      workArrived.signal();
    } finally {
      lock.unlock();
    }
    return generation;
  }

  /** Requests waiting for a slot. */
  public int queued() {
    lock.lock();
    try {
      return waiting.size();
    } finally {
      lock.unlock();
    }
  }

  /** Sequences holding a slot. */
  public int active() {
    return activeCount;
  }

  /** The model's vocabulary size: token ids are below it. */
  public int vocabSize() {
    return model.config().vocabSize();
  }

  public int parallel() {
    return parallel;
  }

  private void loop() {
    while (!closed) {
      if (!admit()) {
        continue;
      }
      try {
        step();
      } catch (RuntimeException e) {
        failActive(e);
      }
    }
  }

  /** A step failed (a bug, or the model ran out of memory): its sequences end with the error. */
  private void failActive(RuntimeException e) {
    for (Generation generation : active) {
      if (!generation.done) {
        generation.done = true;
        generation.listener.onError(e);
      }
    }
    active.clear();
    activeCount = 0;
  }

  /** Drops cancelled sequences and fills free slots; false if there is nothing to run. */
  private boolean admit() {
    lock.lock();
    try {
      active.removeIf(Generation::cancelled);
      waiting.removeIf(Generation::cancelled);
      while (active.isEmpty() && waiting.isEmpty() && !closed) {
        activeCount = 0;
        workArrived.awaitUninterruptibly();
      }
      if (closed) {
        return false;
      }
      while (active.size() < parallel && !waiting.isEmpty()) {
        Generation generation = waiting.poll();
        generation.start();
        active.add(generation);
      }
      activeCount = active.size();
      return !active.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  /**
   * One pass over the weights: every decoding sequence feeds one token; prefilling sequences, oldest
   * first, share a budget of {@code prefillChunk} prompt tokens, so a step stays short however many
   * long prompts arrive.
   */
  private void step() {
    List<Generation> batch = new ArrayList<>(active.size());
    List<ModelState> states = new ArrayList<>(active.size());
    List<int[]> inputs = new ArrayList<>(active.size());
    boolean[] allLogits = new boolean[active.size()];
    int rows = 0;
    int prefillBudget = prefillChunk;
    for (Generation generation : active) {
      int[] input;
      if (generation.prefilling()) {
        if (prefillBudget == 0) {
          continue;
        }
        boolean scored = generation.request.promptLogprobs();
        input = generation.nextPromptChunk(scored ? Math.min(prefillBudget, SCORED_PROMPT_CHUNK) : prefillBudget);
        prefillBudget -= input.length;
        allLogits[batch.size()] = scored;
      } else {
        input = generation.nextDecodeInput();
      }
      batch.add(generation);
      states.add(generation.state);
      inputs.add(input);
      rows += input.length;
    }
    long start = System.nanoTime();
    List<float[]> logits = model.forwardBatch(states, inputs, Arrays.copyOf(allLogits, batch.size()));
    long end = System.nanoTime();
    int sampled = 0;
    for (Generation generation : batch) {
      sampled += generation.samplesThisStep() ? 1 : 0;
    }
    // Counted before any listener hears of this step: a client that has its answer sees the
    // tokens that produced it in the metrics.
    metrics.step(states.size(), rows, sampled, end - start);
    List<Generation> finished = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      Generation generation = batch.get(i);
      generation.afterStep(logits.get(i), end);
      if (generation.done) {
        finished.add(generation);
      }
    }
    active.removeAll(finished);
    activeCount = active.size();
  }

  /**
   * Stops after the step under way; the generations running or waiting then end with a {@link
   * ShuttingDownException} (their listeners' {@code onError}), and later submits throw one.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      workArrived.signalAll();
    } finally {
      lock.unlock();
    }
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    RuntimeException shutdown = new ShuttingDownException();
    for (Generation generation : active) {
      generation.listener.onError(shutdown);
    }
    for (Generation generation : waiting) {
      generation.listener.onError(shutdown);
    }
    active.clear();
    waiting.clear();
  }

  /** One request's sequence: its state, where its prompt stands, what it has generated. */
  public final class Generation {
    private final long id;
    private final GenerationRequest request;
    private final SequenceListener listener;
    private final int[] prompt;
    private final long submittedAt = System.nanoTime();
    private volatile boolean cancelled;
    // Below: scheduler thread only.
    private ModelState state;
    private int cachedTokens;
    private int promptFed; // prompt tokens in the state
    private int lastPromptChunk; // prompt tokens fed in the current step; 0 when decoding
    private int[] generated = new int[16];
    private int generatedCount;
    private int generatedFed; // generated tokens in the state (all but the last one)
    private Sampler sampler;
    private TokenHistory history;
    private TextCodec.TextStream decoder;
    private StopStringFilter stops;
    private int decodedLength; // characters the decoder has given
    private int emittedLength; // characters that passed the stop-string filter
    private final ArrayDeque<TokenLogprob> pendingLogprobs = new ArrayDeque<>(); // text not yet emitted
    private final List<TokenLogprob> promptLogprobs = new ArrayList<>();
    private int[] promptOffsets;
    private JsonConstraint json; // null unless the request asked for JSON
    private long startedAt;
    private long firstTokenAt;
    private boolean done;

    private Generation(long id, GenerationRequest request, SequenceListener listener) {
      this.id = id;
      this.request = request;
      this.listener = listener;
      this.prompt = request.prompt().clone();
    }

    public long id() {
      return id;
    }

    /** Stops the generation; its slot is freed at the next step boundary. Idempotent. */
    public void cancel() {
      cancelled = true;
    }

    public boolean cancelled() {
      return cancelled;
    }

    private void start() {
      startedAt = System.nanoTime();
      // Scoring the prompt needs the logits at each of its positions: no resuming from the cache.
      StateCache.Hit hit = request.promptLogprobs() ? null : cache.lookup(prompt);
      state = hit == null ? model.newState() : hit.state();
      cachedTokens = hit == null ? 0 : hit.tokens();
      promptFed = cachedTokens;
      sampler = new Sampler(request.sampling());
      history = new TokenHistory(request.sampling().penaltyWindow());
      history.addAll(prompt);
      decoder = codec.newTextStream();
      stops = new StopStringFilter(request.stop());
      if (request.json() != null) {
        json = new JsonConstraint(codec.tokenBytesTable(model.config().vocabSize()), stopTokens, request.json());
      }
    }

    private boolean prefilling() {
      return promptFed < prompt.length;
    }

    /** The next at most {@code budget} prompt tokens. */
    private int[] nextPromptChunk(int budget) {
      lastPromptChunk = Math.min(budget, prompt.length - promptFed);
      return Arrays.copyOfRange(prompt, promptFed, promptFed + lastPromptChunk);
    }

    /** The last sampled token, which the state has not seen yet. */
    private int[] nextDecodeInput() {
      lastPromptChunk = 0;
      return new int[] {generated[generatedCount - 1]};
    }

    /** Whether the step being run samples a token for this sequence (its prompt is then all fed). */
    private boolean samplesThisStep() {
      if (request.maxTokens() == 0) {
        return false;
      }
      return lastPromptChunk == 0 || promptFed + lastPromptChunk >= prompt.length;
    }

    /** The logits with the request's biases added (a copy), or the logits themselves without any. */
    private float[] biased(float[] logits) {
      if (request.logitBias().isEmpty()) {
        return logits;
      }
      float[] out = logits.clone();
      request.logitBias().forEach((token, bias) -> out[token] += bias);
      return out;
    }

    private void afterStep(float[] logits, long now) {
      if (lastPromptChunk > 0) {
        if (request.promptLogprobs()) {
          logits = scorePromptChunk(logits);
        }
        promptFed += lastPromptChunk;
        if (promptFed < prompt.length) {
          return;
        }
        if (request.promptLogprobs() && !cancelled) {
          listener.onPromptLogprobs(List.copyOf(promptLogprobs));
        }
        if (request.maxTokens() == 0) {
          firstTokenAt = now;
          finish("length", now);
          return;
        }
      } else {
        generatedFed++;
      }
      float[] scores = biased(logits); // the log-probabilities use these, unmasked
      int token = json == null ? sampler.sample(scores, history) : json.sample(sampler, scores, history);
      if (token < 0) {
        firstTokenAt = firstTokenAt == 0 ? now : firstTokenAt;
        finish("length", now); // JSON mode: nothing continues the object (a vocabulary without JSON's pieces)
        return;
      }
      if (firstTokenAt == 0) {
        firstTokenAt = now;
      }
      if (stopTokens.contains(token)) {
        finish("stop", now);
        return;
      }
      history.add(token);
      if (generatedCount == generated.length) {
        generated = Arrays.copyOf(generated, generated.length * 2);
      }
      generated[generatedCount++] = token;
      if (request.logprobs() >= 0) {
        pendingLogprobs.add(TokenLogprob.of(scores, token, request.logprobs(), decodedLength));
      }
      String piece = decoder.accept(token);
      decodedLength += piece.length();
      emit(stops.accept(piece));
      if (stops.matched()) {
        finish("stop", now);
      } else if (generatedCount == request.maxTokens()) {
        finish("length", now);
      }
    }

    /**
     * Takes the log-probabilities of the prompt tokens that this chunk's rows predict (row j, fed
     * prompt token {@code promptFed + j}, predicts the next one); returns the last row's logits.
     */
    private float[] scorePromptChunk(float[] rowLogits) {
      int vocab = rowLogits.length / lastPromptChunk;
      if (promptFed == 0) {
        promptOffsets = promptTextOffsets();
        promptLogprobs.add(new TokenLogprob(prompt[0], Float.NaN, List.of(), promptOffsets[0]));
      }
      for (int j = 0; j < lastPromptChunk; j++) {
        int next = promptFed + j + 1;
        if (next < prompt.length) {
          float[] row = Arrays.copyOfRange(rowLogits, j * vocab, (j + 1) * vocab);
          promptLogprobs.add(TokenLogprob.of(biased(row), prompt[next], request.logprobs(), promptOffsets[next]));
        }
      }
      return Arrays.copyOfRange(rowLogits, (lastPromptChunk - 1) * vocab, lastPromptChunk * vocab);
    }

    /** Where each prompt token's text starts in the prompt's decoded text. */
    private int[] promptTextOffsets() {
      TextCodec.TextStream stream = codec.newTextStream();
      int[] offsets = new int[prompt.length];
      int length = 0;
      for (int i = 0; i < prompt.length; i++) {
        offsets[i] = length;
        length += stream.accept(prompt[i]).length();
      }
      return offsets;
    }

    private void emit(String text) {
      emittedLength += text.length();
      List<TokenLogprob> released = List.of();
      if (!pendingLogprobs.isEmpty()) {
        released = new ArrayList<>();
        // A token goes out once its text has started to; one whose text starts where the emitted
        // text ends goes out too when nothing is held back (it has no text of its own, or its bytes
        // do not yet complete a character), so not behind a possible stop string.
        while (!pendingLogprobs.isEmpty()
            && (pendingLogprobs.peek().textOffset() < emittedLength
                || pendingLogprobs.peek().textOffset() == emittedLength && stops.heldLength() == 0 && !stops.matched())) {
          released.add(pendingLogprobs.poll());
        }
      }
      if ((!text.isEmpty() || !released.isEmpty()) && !cancelled) {
        listener.onText(text, released);
      }
    }

    private void finish(String reason, long now) {
      if (!stops.matched()) {
        emit(stops.accept(decoder.flush()));
        emit(stops.finish());
        if (stops.matched()) {
          reason = "stop";
        }
      }
      done = true;
      int[] processed = new int[prompt.length + generatedFed];
      System.arraycopy(prompt, 0, processed, 0, prompt.length);
      System.arraycopy(generated, 0, processed, prompt.length, generatedFed);
      cache.put(processed, state);
      state = null;
      if (!cancelled) {
        listener.onFinish(new SequenceResult(reason, prompt.length, cachedTokens, generatedCount,
            startedAt - submittedAt, firstTokenAt - startedAt, now - firstTokenAt));
      }
    }
  }
}
