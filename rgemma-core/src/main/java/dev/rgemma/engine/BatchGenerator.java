package dev.rgemma.engine;

import dev.rgemma.model.ModelState;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.JsonConstraint;
import dev.rgemma.sampling.Sampler;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.sampling.TokenHistory;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * Generates for many independent prompts with one model, decoding them together: every decode
 * step feeds the pending token of each running sequence in one {@link
 * RecurrentGemmaModel#forwardBatch} pass, so the weights are read once per step for the whole
 * batch. When a sequence finishes, the next request takes its place (continuous batching).
 *
 * <p>Each sequence makes exactly the forward passes and sampler calls of a fresh {@link Session}
 * given the same prompt, settings and options, so its result is the same (tokens, text, stop
 * reason, counts); only the timings differ: they are wall-clock times while sharing the batch.
 * Results come back in request order. A request that fails (an empty prompt, one over the length
 * limit, a token outside the vocabulary) gets a failed {@link Outcome}; the others go on.
 *
 * <p>Not thread-safe; one model may serve several generators on different threads.
 */
public final class BatchGenerator {
  /**
   * One prompt to complete.
   *
   * @param prompt the token ids to feed (with BOS, as {@link Session#generate} takes them)
   * @param sampling the sampler settings, seed included
   * @param options token limit, stop strings, whether to ignore stop tokens
   */
  public record Request(int[] prompt, SamplerSettings sampling, GenerationOptions options) {
    public Request {
      Objects.requireNonNull(prompt);
      Objects.requireNonNull(sampling);
      Objects.requireNonNull(options);
    }
  }

  /** What became of one request: a result, or the failure that ended it. */
  public record Outcome(GenerationResult result, RuntimeException failure) {
    public boolean failed() {
      return failure != null;
    }
  }

  private final RecurrentGemmaModel model;
  private final TextCodec codec; // null: ids only
  private final int batchSize;
  private final int maxPromptTokens;
  private final Map<Integer, StopReason> stopTokens;

  /**
   * @param codec the tokenizer, or null for a model run on ids only (no text, no stop strings)
   * @param batchSize most sequences decoded together
   * @param maxPromptTokens longest prompt accepted; longer ones fail
   */
  public BatchGenerator(RecurrentGemmaModel model, TextCodec codec, int batchSize, int maxPromptTokens) {
    this.model = Objects.requireNonNull(model);
    this.codec = codec;
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size is " + batchSize + ", expected an integer >= 1");
    }
    if (maxPromptTokens < 1) {
      throw new IllegalArgumentException("max prompt tokens is " + maxPromptTokens + ", expected an integer >= 1");
    }
    this.batchSize = batchSize;
    this.maxPromptTokens = maxPromptTokens;
    this.stopTokens = new HashMap<>();
    if (codec != null) {
      codec.specialToken("<end_of_turn>").ifPresent(id -> stopTokens.put(id, StopReason.END_OF_TURN));
    }
    if (model.config().eosTokenId() >= 0) {
      stopTokens.put(model.config().eosTokenId(), StopReason.END_OF_SEQUENCE);
    }
  }

  /** Runs every request; the outcomes in request order. */
  public List<Outcome> generateAll(List<Request> requests) {
    List<Outcome> outcomes = new ArrayList<>(requests.size());
    generate(requests.iterator()).forEachRemaining(outcomes::add);
    return outcomes;
  }

  /**
   * Outcomes in request order, computed as they are asked for: requests are pulled from {@code
   * requests} only when a place in the batch is free, so a long input is never held in memory.
   */
  public Iterator<Outcome> generate(Iterator<Request> requests) {
    Objects.requireNonNull(requests);
    return new Iterator<>() {
      private final ArrayDeque<Sequence> inOrder = new ArrayDeque<>(); // pulled, not yet returned
      private final List<Sequence> running = new ArrayList<>();

      @Override
      public boolean hasNext() {
        refill(requests, inOrder, running);
        return !inOrder.isEmpty();
      }

      @Override
      public Outcome next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        while (!inOrder.peekFirst().finished()) {
          step(running);
          refill(requests, inOrder, running);
        }
        return inOrder.pollFirst().outcome();
      }
    };
  }

  /** Starts requests while the batch has room (and finished results are not piling up). */
  private void refill(Iterator<Request> requests, ArrayDeque<Sequence> inOrder, List<Sequence> running) {
    while (running.size() < batchSize && inOrder.size() < 4 * batchSize && requests.hasNext()) {
      Sequence sequence = new Sequence(requests.next());
      inOrder.addLast(sequence);
      sequence.prefill();
      if (!sequence.finished()) {
        running.add(sequence);
      }
    }
  }

  /** Samples a token for every running sequence, then feeds the new tokens in one pass. */
  private void step(List<Sequence> running) {
    for (Sequence sequence : running) {
      sequence.sampleNext();
    }
    running.removeIf(Sequence::finished);
    if (running.isEmpty()) {
      return;
    }
    List<ModelState> states = new ArrayList<>(running.size());
    List<int[]> tokens = new ArrayList<>(running.size());
    for (Sequence sequence : running) {
      states.add(sequence.state);
      tokens.add(new int[] {sequence.pendingToken});
    }
    List<float[]> logits = model.forwardBatch(states, tokens);
    for (int i = 0; i < running.size(); i++) {
      running.get(i).fed(logits.get(i));
    }
  }

  /** One request on its way: the same steps as {@link Session#generate}, one token at a time. */
  private final class Sequence {
    private final int[] prompt;
    private final GenerationOptions options;
    private final Sampler sampler;
    private final TokenHistory history;
    private final StringBuilder text = new StringBuilder();
    private final TextCodec.TextStream decoder;
    private final StopStringFilter stops;
    private JsonConstraint json; // JSON mode; made at prefill
    private ModelState state;
    private float[] logits;
    private int pendingToken = Session.NO_TOKEN;
    private int[] generated;
    private int count;
    private int decodeSteps;
    private long prefillNanos;
    private long decodeStart;
    private Outcome outcome;

    Sequence(Request request) {
      this.prompt = request.prompt();
      this.options = request.options();
      this.sampler = new Sampler(request.sampling());
      this.history = new TokenHistory(request.sampling().penaltyWindow());
      this.decoder = codec == null ? null : codec.newTextStream();
      this.stops = new StopStringFilter(options.stopStrings());
      this.generated = new int[Math.min(options.maxTokens(), 1024)];
    }

    boolean finished() {
      return outcome != null;
    }

    Outcome outcome() {
      return outcome;
    }

    void prefill() {
      try {
        if (prompt.length == 0) {
          throw new IllegalArgumentException("the prompt is empty: nothing to generate from");
        }
        if (prompt.length > maxPromptTokens) {
          throw new IllegalArgumentException("the prompt has " + prompt.length
              + " tokens, more than the limit of " + maxPromptTokens);
        }
        if (!options.stopStrings().isEmpty() && codec == null) {
          throw new IllegalArgumentException("stop strings need a tokenizer; this model has none");
        }
        if (options.json()) {
          if (codec == null) {
            throw new IllegalArgumentException("JSON mode needs a tokenizer; this model has none");
          }
          json = new JsonConstraint(codec.tokenBytesTable(model.config().vocabSize()), stopTokens.keySet(), options.jsonSchema());
        }
        long start = System.nanoTime();
        state = model.newState();
        if (options.maxTokens() == 0) {
          // As a Session does: the last prompt token stays pending (unfed) for a later call.
          if (prompt.length > 1) {
            model.forward(state, prompt, 0, prompt.length - 1, false, null);
          }
          prefillNanos = System.nanoTime() - start;
          outcome = new Outcome(new GenerationResult(StopReason.MAX_TOKENS, prompt.length - 1, new int[0], "",
              prefillNanos, 0, 0, state.position()), null);
          release();
          return;
        }
        logits = model.forward(state, prompt, 0, prompt.length, false, null);
        history.addAll(prompt);
        prefillNanos = System.nanoTime() - start;
        decodeStart = System.nanoTime();
      } catch (RuntimeException e) {
        fail(e);
      }
    }

    /** Samples from the current logits; either finishes or leaves a pending token to feed. */
    void sampleNext() {
      try {
        int token = json == null ? sampler.sample(logits, history) : json.sample(sampler, logits, history);
        if (token < 0) {
          finish(StopReason.MAX_TOKENS); // JSON mode: nothing continues the object, as in Session
          return;
        }
        StopReason stop = options.ignoreStopTokens() ? null : stopTokens.get(token);
        if (stop != null) {
          finish(stop);
          return;
        }
        history.add(token);
        pendingToken = token;
        if (count == generated.length) {
          generated = Arrays.copyOf(generated, Math.min(options.maxTokens(), 2 * count));
        }
        generated[count++] = token;
        if (decoder != null) {
          text.append(stops.accept(decoder.accept(token)));
          if (stops.matched()) {
            finish(StopReason.STOP_STRING);
            return;
          }
        }
        if (count == options.maxTokens()) {
          finish(StopReason.MAX_TOKENS);
        }
      } catch (RuntimeException e) {
        fail(e);
      }
    }

    /** The logits after the pending token was fed. */
    void fed(float[] next) {
      logits = next;
      pendingToken = Session.NO_TOKEN;
      decodeSteps++;
    }

    private void finish(StopReason reason) {
      if (decoder != null && !stops.matched()) {
        text.append(stops.accept(decoder.flush()));
        text.append(stops.finish());
        if (stops.matched()) {
          reason = StopReason.STOP_STRING;
        }
      }
      long decodeNanos = System.nanoTime() - decodeStart;
      GenerationResult result = new GenerationResult(reason, prompt.length, Arrays.copyOf(generated, count),
          text.toString(), prefillNanos, decodeSteps, decodeNanos, state.position());
      outcome = new Outcome(result, null);
      release();
    }

    private void fail(RuntimeException e) {
      outcome = new Outcome(null, e);
      release();
    }

    /** A finished sequence may wait in the result queue: drop what it no longer needs. */
    private void release() {
      state = null;
      logits = null;
    }
  }
}
