package dev.rgemma.api;

import dev.rgemma.RgemmaException;
import dev.rgemma.engine.GenerationListener;
import dev.rgemma.engine.GenerationResult;
import dev.rgemma.engine.Session;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.sampling.SamplerSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * One conversation or document with a model: the model's state after everything fed so far, the
 * recent tokens the penalties see, and the random generator. Each generation continues from where
 * the previous one stopped, so only new text is ever fed. The state has a fixed size, whatever the
 * length of the conversation; {@link #save(Path)} stores it and {@link #restore(Path)} continues
 * from it exactly (bit-identical to a session that never stopped).
 *
 * <p>Text in, text out: {@link #generate(String, GenerateOptions)} continues the text as is (the
 * first prompt of a session gets the beginning-of-sequence token); {@link #chat(List,
 * GenerateOptions)} applies the model's chat template. Each comes blocking, with a callback for
 * the text as it is produced, or as a {@link TextStream} ({@link java.util.Iterator}, {@link Stream}).
 *
 * <p><b>Thread safety.</b> A session is one conversation and is used by one thread at a time; a
 * call while another generation of the same session is running (on another thread, or an unclosed
 * {@link TextStream}) throws {@link IllegalStateException}. Open one session per conversation:
 * many sessions may share one {@link RgemmaModel}.
 *
 * <p><b>Cancelling.</b> Blocking calls stop with {@link FinishReason#CANCELLED} when their thread is
 * interrupted (the interrupt flag stays set); a {@link TextStream} stops when closed.
 */
public final class RgemmaSession {
  /** Stands for the previous answer when the template is asked what follows an answer. */
  private static final String ANSWER_MARK = "RGEMMA_PREVIOUS_ANSWER_MARK_";

  private final RgemmaModel model;
  private final Session session;
  private final AtomicBoolean busy = new AtomicBoolean();
  private SamplerSettings sampling = SamplerSettings.defaults();
  /** The chat the state holds, ending with the model's answer; null if it holds something else. */
  private List<ChatMessage> transcript;

  RgemmaSession(RgemmaModel model) {
    this.model = model;
    this.session = new Session(model.engineModel(), model.codecOrNull(), sampling);
  }

  /** The model this session runs on. */
  public RgemmaModel model() {
    return model;
  }

  /** Tokens fed into the state so far. */
  public long position() {
    return session.position();
  }

  /** True before anything was fed or generated, and after {@link #reset()}. */
  public boolean isEmpty() {
    return session.isEmpty();
  }

  // ---- text completion ----

  /** Continues {@code prompt} with the {@linkplain GenerateOptions#defaults() default options}. */
  public Completion generate(String prompt) {
    return generate(prompt, GenerateOptions.defaults());
  }

  /**
   * Feeds {@code prompt} (with the beginning-of-sequence token if the session is empty) and
   * generates its continuation.
   *
   * @throws RgemmaException if the model has no tokenizer
   */
  public Completion generate(String prompt, GenerateOptions options) {
    return generate(prompt, options, text -> {});
  }

  /**
   * Like {@link #generate(String, GenerateOptions)}, passing the text to {@code onText} as it is
   * generated (pieces that are final: never part of a stop sequence), on the calling thread.
   */
  public Completion generate(String prompt, GenerateOptions options, Consumer<String> onText) {
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(onText, "onText");
    return exclusively(() -> run(textPrompt(prompt), options, onText, token -> {}, interrupted()));
  }

  /**
   * Generates from token ids, for models without a tokenizer or prompts made elsewhere. The ids
   * are fed as given: include the beginning-of-sequence id (2 for Gemma) at the start of a session.
   */
  public Completion generate(int[] promptIds, GenerateOptions options) {
    return generate(promptIds, options, token -> {});
  }

  /** Like {@link #generate(int[], GenerateOptions)}, passing each generated id to {@code onToken}. */
  public Completion generate(int[] promptIds, GenerateOptions options, IntConsumer onToken) {
    Objects.requireNonNull(promptIds, "promptIds");
    Objects.requireNonNull(onToken, "onToken");
    int[] prompt = promptIds.clone();
    model.checkIds(prompt);
    return exclusively(() -> run(() -> prompt, options, text -> {}, onToken, interrupted()));
  }

  /**
   * Continues {@code prompt} on a background thread; read the text from the returned stream, and
   * close it (try-with-resources) to stop early.
   */
  public TextStream stream(String prompt, GenerateOptions options) {
    Objects.requireNonNull(prompt, "prompt");
    return inBackground((onText, cancelled) -> run(textPrompt(prompt), options, onText, t -> {}, cancelled));
  }

  // ---- chat ----

  /**
   * Answers a chat: the model's chat template applied to {@code messages} (an optional system
   * message, then user and assistant messages alternating, ending with a user message).
   *
   * <p>When {@code messages} continues the chat this session last answered (the same messages,
   * then this session's answer as an assistant message, then new ones), only the new messages are
   * fed; otherwise the session starts over and feeds them all. So a conversation costs the same
   * per turn however long it gets, as long as its messages come back unchanged.
   *
   * @throws IllegalArgumentException if the roles do not alternate or the last message is not the user's
   * @throws RgemmaException if the model has no tokenizer
   */
  public Completion chat(List<ChatMessage> messages, GenerateOptions options) {
    return chat(messages, options, text -> {});
  }

  /** Like {@link #chat(List, GenerateOptions)}, passing the answer to {@code onText} as it comes. */
  public Completion chat(List<ChatMessage> messages, GenerateOptions options, Consumer<String> onText) {
    List<ChatMessage> chat = checkChat(messages);
    Objects.requireNonNull(onText, "onText");
    return exclusively(() -> runChat(chat, options, onText, interrupted()));
  }

  /** Like {@link #chat(List, GenerateOptions)}, streaming the answer from a background thread. */
  public TextStream streamChat(List<ChatMessage> messages, GenerateOptions options) {
    List<ChatMessage> chat = checkChat(messages);
    return inBackground((onText, cancelled) -> runChat(chat, options, onText, cancelled));
  }

  // ---- state ----

  /**
   * Writes the whole session (model state, pending token, recent tokens, random state) to {@code
   * file}, replacing it atomically, creating missing parent directories. Its size is the model's
   * state plus a few kilobytes (the recent tokens of the widest penalty window used, the model's
   * description), whatever the number of tokens seen.
   */
  public void save(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    exclusivelyIo(() -> {
      model.ensureOpen();
      session.save(file);
      return null;
    });
  }

  /**
   * Replaces this session with the one saved in {@code file} by the same model; the next
   * generation continues exactly where the saved one stopped. Without a seed in its options, the
   * random generator continues from the saved state. The file holds no chat transcript: after a
   * restore, {@link #chat} starts over and feeds the whole conversation it is given (the same
   * answer, a longer prompt), where an uninterrupted session feeds only the new turn.
   *
   * @throws RgemmaException if the file is damaged, from another model, or from a newer rgemma
   */
  public void restore(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    exclusivelyIo(() -> {
      model.ensureOpen();
      session.load(file); // a file that fails to load leaves the session, its chat included, as it was
      transcript = null;
      return null;
    });
  }

  /** Starts over from an empty state (the random generator keeps going). */
  public void reset() {
    exclusively(() -> {
      model.ensureOpen();
      transcript = null;
      session.reset();
      return null;
    });
  }

  // ---- internals ----

  private Supplier<int[]> textPrompt(String prompt) {
    return () -> {
      transcript = null;
      return model.codec().encode(prompt, session.isEmpty());
    };
  }

  private static List<ChatMessage> checkChat(List<ChatMessage> messages) {
    Objects.requireNonNull(messages, "messages");
    List<ChatMessage> chat = List.copyOf(messages);
    if (chat.isEmpty() || chat.getLast().role() != ChatMessage.Role.USER) {
      throw new IllegalArgumentException("a chat to answer must end with a user message, got "
          + (chat.isEmpty() ? "no messages" : "a last message from " + chat.getLast().role()));
    }
    return chat;
  }

  private Completion runChat(List<ChatMessage> chat, GenerateOptions options, Consumer<String> onText,
      BooleanSupplier cancelled) {
    Completion answer = run(() -> chatPrompt(chat), options, onText, t -> {}, cancelled);
    if (answer.finishReason() == FinishReason.END_OF_TURN || answer.finishReason() == FinishReason.END_OF_SEQUENCE
        || answer.finishReason() == FinishReason.MAX_TOKENS) {
      List<ChatMessage> held = new ArrayList<>(chat);
      held.add(ChatMessage.assistant(answer.text()));
      transcript = List.copyOf(held);
    }
    // after a stop sequence or a cancel the state holds text the answer does not: start over next time
    return answer;
  }

  /** The whole chat for a fresh state, or only what follows this session's last answer. */
  private int[] chatPrompt(List<ChatMessage> chat) {
    TextCodec codec = model.codec();
    List<ChatMessage> previous = transcript;
    transcript = null;
    if (previous != null && chat.size() > previous.size()
        && chat.subList(0, previous.size()).equals(previous)) {
      String mark = markNotIn(chat);
      List<ChatMessage> marked = new ArrayList<>(chat);
      marked.set(previous.size() - 1, ChatMessage.assistant(mark));
      String rendered = codec.renderChat(RgemmaModel.toTemplate(marked), true);
      int at = rendered.indexOf(mark);
      if (at >= 0) {
        return codec.encode(rendered.substring(at + mark.length()), false);
      }
    }
    int[] whole = model.chatPrompt(chat); // renders (and checks) before the state is dropped
    session.reset();
    return whole;
  }

  /** A mark that no message contains, so that it is found exactly where the answer goes. */
  private static String markNotIn(List<ChatMessage> chat) {
    for (int n = 0; ; n++) {
      String mark = ANSWER_MARK + n;
      if (chat.stream().noneMatch(m -> m.content().contains(mark))) {
        return mark;
      }
    }
  }

  private Completion run(Supplier<int[]> prompt, GenerateOptions options, Consumer<String> onText,
      IntConsumer onToken, BooleanSupplier cancelled) {
    Objects.requireNonNull(options, "options");
    model.ensureOpen();
    applySampling(options);
    int[] input = prompt.get();
    GenerationResult result = session.generate(input, options.engineOptions(), new GenerationListener() {
      @Override
      public void onToken(int tokenId) {
        onToken.accept(tokenId);
      }

      @Override
      public void onText(String text) {
        onText.accept(text);
      }

      @Override
      public boolean cancelled() {
        return cancelled.getAsBoolean();
      }
    });
    return new Completion(result.text(), result.tokens(), finishReason(result), result.promptTokens(),
        result.position(), result.prefillTokensPerSecond(), result.decodeTokensPerSecond());
  }

  private static FinishReason finishReason(GenerationResult result) {
    return switch (result.stopReason()) {
      case END_OF_SEQUENCE -> FinishReason.END_OF_SEQUENCE;
      case END_OF_TURN -> FinishReason.END_OF_TURN;
      case STOP_STRING -> FinishReason.STOP_SEQUENCE;
      case MAX_TOKENS -> FinishReason.MAX_TOKENS;
      case CANCELLED -> FinishReason.CANCELLED;
    };
  }

  /** A seed restarts the random generator; otherwise it continues under the new settings. */
  private void applySampling(GenerateOptions options) {
    SamplerSettings wanted = options.samplerSettings();
    if (options.seeded()) {
      session.setSamplerSettings(wanted, true);
      sampling = wanted;
    } else {
      SamplerSettings continued = wanted.withSeed(sampling.seed());
      if (!continued.equals(sampling)) {
        session.setSamplerSettings(continued, false);
        sampling = continued;
      }
    }
  }

  private static BooleanSupplier interrupted() {
    Thread caller = Thread.currentThread();
    return caller::isInterrupted;
  }

  private TextStream inBackground(TextStream.Generation generation) {
    model.ensureOpen();
    acquire();
    try {
      return new TextStream(generation, () -> busy.set(false));
    } catch (RuntimeException | Error e) {
      busy.set(false);
      throw e;
    }
  }

  private <T> T exclusively(Supplier<T> action) {
    acquire();
    try {
      return action.get();
    } finally {
      busy.set(false);
    }
  }

  private interface IoAction<T> {
    T run() throws IOException;
  }

  private <T> T exclusivelyIo(IoAction<T> action) throws IOException {
    try {
      return exclusively(() -> {
        try {
          return action.run();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private void acquire() {
    if (!busy.compareAndSet(false, true)) {
      throw new IllegalStateException("this session is already generating (on another thread, or "
          + "from a TextStream that is still open); a session is one conversation, used by one "
          + "thread at a time");
    }
  }
}
