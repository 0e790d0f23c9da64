package dev.rgemma.engine;

import dev.rgemma.model.ModelConfig;
import dev.rgemma.model.ModelState;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.JsonConstraint;
import dev.rgemma.sampling.Sampler;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.sampling.TokenHistory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One conversation or document with a model: the model state, the recent tokens the penalties
 * look at, the sampler (and its random state), and the last generated token if it has not been
 * fed yet. Everything here has a fixed size, whatever the position.
 *
 * <p>A generation feeds the prompt in chunks (the official prefill), samples the first token from
 * the last prompt token's logits, then feeds each sampled token to get the next logits. The last
 * sampled token is kept <em>pending</em> and fed at the start of the next {@link #generate}, so a
 * generation split over several calls (or saved and loaded in between) makes exactly the same
 * forward passes as one that never stopped. A stop token (EOS, {@code <end_of_turn>}) ends the
 * generation and is dropped: the next prompt says how the turn closes. With {@code maxTokens} 0
 * the prompt's last token stays pending instead, so a later call can generate without a prompt.
 *
 * <p>Not thread-safe; one model may serve many sessions.
 */
public final class Session {
  static final int NO_TOKEN = -1;

  private final RecurrentGemmaModel model;
  private final TextCodec codec; // null: ids only
  private Sampler sampler;
  private TokenHistory history;
  private final Map<Integer, StopReason> stopTokens;
  private ModelState state;
  private int pendingToken = NO_TOKEN;
  private ModelFingerprint fingerprint; // computed on first save or load

  /**
   * @param codec the tokenizer, or null for a model run on ids only (no text, no stop strings)
   */
  public Session(RecurrentGemmaModel model, TextCodec codec, SamplerSettings settings) {
    this.model = Objects.requireNonNull(model);
    this.codec = codec;
    this.sampler = new Sampler(settings);
    this.history = new TokenHistory(settings.penaltyWindow());
    this.state = model.newState();
    this.stopTokens = stopTokens(model.config(), codec);
  }

  private static Map<Integer, StopReason> stopTokens(ModelConfig config, TextCodec codec) {
    Map<Integer, StopReason> stops = new HashMap<>();
    if (codec != null) {
      codec.specialToken("<end_of_turn>").ifPresent(id -> stops.put(id, StopReason.END_OF_TURN));
    }
    if (config.eosTokenId() >= 0) {
      stops.put(config.eosTokenId(), StopReason.END_OF_SEQUENCE);
    }
    return stops;
  }

  public RecurrentGemmaModel model() {
    return model;
  }

  public Optional<TextCodec> codec() {
    return Optional.ofNullable(codec);
  }

  public Sampler sampler() {
    return sampler;
  }

  /**
   * Samples the following generations with {@code settings}. The random generator continues from
   * its current state unless {@code reseed}, which restarts it from {@code settings.seed()}. The
   * recent tokens are kept: as many as the widest penalty window the session has generated with
   * (the penalties look at the last {@code settings.penaltyWindow()} of them), so narrowing the
   * window and widening it again sees the same tokens as keeping the wide window throughout.
   */
  public void setSamplerSettings(SamplerSettings settings, boolean reseed) {
    Objects.requireNonNull(settings);
    Sampler next = new Sampler(settings);
    if (!reseed) {
      next.setRngState(sampler.rngState());
    }
    sampler = next;
  }

  /**
   * Widens the kept history to the sampler's window, when a generation starts (not when the
   * settings change): a restored history keeps exactly the saved session's capacity until then,
   * so that the restored session and the saved one grow it at the same point whatever settings
   * each had been created with.
   */
  private void widenHistory() {
    int window = sampler.settings().penaltyWindow();
    if (window > history.capacity()) {
      TokenHistory wider = new TokenHistory(window);
      wider.addAll(history.toArray());
      history = wider;
    }
  }

  /** The model state (live: changes as the session runs). */
  public ModelState state() {
    return state;
  }

  /** Tokens fed into the state so far. */
  public long position() {
    return state.position();
  }

  /** True before anything was fed or generated (or after {@link #reset}). */
  public boolean isEmpty() {
    return state.position() == 0 && pendingToken == NO_TOKEN;
  }

  /** The last generated token if it has not been fed yet. */
  public Optional<Integer> pendingToken() {
    return pendingToken == NO_TOKEN ? Optional.empty() : Optional.of(pendingToken);
  }

  /** The recent tokens the session keeps for the penalties (they see the last window of them), oldest first. */
  public int[] recentTokens() {
    return history.toArray();
  }

  /** Starts over from an empty state. The random generator keeps going. */
  public void reset() {
    state = model.newState();
    history.clear();
    pendingToken = NO_TOKEN;
  }

  /** Bytes of model state: constant for a model. */
  public long stateBytes() {
    return state.sizeBytes();
  }

  /**
   * Feeds {@code prompt} (after any pending token), then generates up to {@code
   * options.maxTokens()} tokens, streaming them to {@code listener}.
   */
  public GenerationResult generate(int[] prompt, GenerationOptions options, GenerationListener listener) {
    Objects.requireNonNull(prompt);
    Objects.requireNonNull(options);
    Objects.requireNonNull(listener);
    if (!options.stopStrings().isEmpty() && codec == null) {
      throw new IllegalArgumentException("stop strings need a tokenizer; this model has none");
    }
    if (options.json() && codec == null) {
      throw new IllegalArgumentException("JSON mode needs a tokenizer; this model has none");
    }
    widenHistory();
    int[] input = pendingToken == NO_TOKEN ? prompt : prepend(pendingToken, prompt);
    if (input.length == 0 && options.maxTokens() > 0) {
      throw new IllegalArgumentException(isEmpty()
          ? "the prompt is empty: nothing to generate from"
          : "the session's last answer ended with a stop token: give a prompt to continue");
    }

    if (options.maxTokens() == 0) {
      return prefillOnly(input, prompt);
    }

    long prefillStart = System.nanoTime();
    float[] logits = model.forward(state, input, 0, input.length, false, null);
    history.addAll(prompt);
    pendingToken = NO_TOKEN;
    long prefillNanos = System.nanoTime() - prefillStart;

    int[] generated = new int[Math.min(options.maxTokens(), 1024)];
    int count = 0;
    StringBuilder text = new StringBuilder();
    TextCodec.TextStream decoder = codec == null ? null : codec.newTextStream();
    StopStringFilter stops = new StopStringFilter(options.stopStrings());
    StopReason reason = StopReason.MAX_TOKENS;
    JsonConstraint json = options.json() ? new JsonConstraint(codec.tokenBytesTable(model.config().vocabSize()), stopTokens.keySet(), options.jsonSchema()) : null;
    int decodeSteps = 0;
    long decodeStart = System.nanoTime();
    while (count < options.maxTokens()) {
      if (listener.cancelled()) {
        reason = StopReason.CANCELLED;
        break;
      }
      if (pendingToken != NO_TOKEN) {
        logits = model.forward(state, new int[] {pendingToken}, 0, 1, false, null);
        pendingToken = NO_TOKEN;
        decodeSteps++;
      }
      listener.onLogits(logits);
      int token = json == null ? sampler.sample(logits, history) : json.sample(sampler, logits, history);
      if (token < 0) {
        break; // JSON mode: nothing continues the object (the vocabulary lacks JSON's pieces)
      }
      StopReason stop = options.ignoreStopTokens() ? null : stopTokens.get(token);
      if (stop != null) {
        reason = stop;
        break;
      }
      history.add(token);
      pendingToken = token;
      if (count == generated.length) {
        generated = Arrays.copyOf(generated, Math.min(options.maxTokens(), 2 * count));
      }
      generated[count++] = token;
      listener.onToken(token);
      if (decoder != null) {
        emit(stops.accept(decoder.accept(token)), text, listener);
        if (stops.matched()) {
          reason = StopReason.STOP_STRING;
          break;
        }
      }
    }
    if (decoder != null && !stops.matched()) {
      emit(stops.accept(decoder.flush()), text, listener);
      emit(stops.finish(), text, listener);
      if (stops.matched()) {
        reason = StopReason.STOP_STRING;
      }
    }
    long decodeNanos = System.nanoTime() - decodeStart;
    return new GenerationResult(reason, input.length, Arrays.copyOf(generated, count),
        text.toString(), prefillNanos, decodeSteps, decodeNanos, state.position());
  }

  /**
   * Feeds all but the last input token and keeps that one pending, so that a later call can
   * generate from its logits without a prompt.
   */
  private GenerationResult prefillOnly(int[] input, int[] prompt) {
    long start = System.nanoTime();
    int fed = Math.max(0, input.length - 1);
    if (fed > 0) {
      model.forward(state, input, 0, fed, false, null);
    }
    history.addAll(prompt);
    pendingToken = input.length == 0 ? pendingToken : input[input.length - 1];
    return new GenerationResult(StopReason.MAX_TOKENS, fed, new int[0], "", System.nanoTime() - start,
        0, 0, state.position());
  }

  private static void emit(String piece, StringBuilder text, GenerationListener listener) {
    if (!piece.isEmpty()) {
      text.append(piece);
      listener.onText(piece);
    }
  }

  private static int[] prepend(int first, int[] rest) {
    int[] out = new int[rest.length + 1];
    out[0] = first;
    System.arraycopy(rest, 0, out, 1, rest.length);
    return out;
  }

  /** Writes the whole session to {@code file} (see {@link SessionFile}). */
  public void save(Path file) throws IOException {
    SessionFile.write(file, new SessionFile.Contents(fingerprint(), state, pendingToken,
        history.toArray(), history.capacity(), sampler.rngState()));
  }

  /**
   * Replaces this session's state with the one saved in {@code file}, which must come from the
   * same model. The random generator continues from the saved state.
   */
  public void load(Path file) throws IOException {
    SessionFile.Contents saved = SessionFile.read(file, fingerprint(), model.config());
    state = saved.state();
    pendingToken = saved.pendingToken();
    // The saved history as it was, capacity included (the saved session's window may be wider or
    // narrower than this one's): continuing with the saved session's options then samples exactly
    // as the saved session would have.
    history = new TokenHistory(saved.historyCapacity());
    history.addAll(saved.recentTokens());
    sampler.setRngState(saved.rngState());
  }

  ModelFingerprint fingerprint() {
    if (fingerprint == null) {
      fingerprint = ModelFingerprint.of(model);
    }
    return fingerprint;
  }
}
