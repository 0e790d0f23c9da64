package dev.rgemma.engine;

import dev.rgemma.RgemmaException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A chat on top of a {@link Session}. The first turn is the chat template applied to the system
 * prompt and the user's message; every later turn feeds only what the template adds after the
 * previous answer (the end of the model's turn, the new user turn, the start of the model's
 * turn), so the history is never read again: it lives in the session's state.
 */
public final class Chat {
  /** Stands for "the previous answer" when the template is asked what follows an answer. */
  private static final String ANSWER_MARK = "RGEMMA_PREVIOUS_ANSWER_MARK";

  private final Session session;
  private final TextCodec codec;
  private final String systemPrompt; // null: none

  /** @param systemPrompt null or empty for none */
  public Chat(Session session, String systemPrompt) {
    this.session = Objects.requireNonNull(session);
    this.codec = session.codec().orElseThrow(
        () -> new IllegalArgumentException("chat needs a tokenizer; this model has none"));
    this.systemPrompt = systemPrompt == null || systemPrompt.isEmpty() ? null : systemPrompt;
  }

  public Session session() {
    return session;
  }

  /** Sends one user message and generates the answer. */
  public GenerationResult send(String userMessage, GenerationOptions options, GenerationListener listener) {
    return session.generate(promptFor(userMessage), options, listener);
  }

  /** The tokens that a message adds to the session: the whole first turn, or the delta after it. */
  public int[] promptFor(String userMessage) {
    Objects.requireNonNull(userMessage);
    if (session.isEmpty()) {
      List<TextCodec.Message> messages = new ArrayList<>();
      if (systemPrompt != null) {
        messages.add(new TextCodec.Message("system", systemPrompt));
      }
      messages.add(new TextCodec.Message("user", userMessage));
      return codec.encode(codec.renderChat(messages, true), true);
    }
    return codec.encode(continuation(userMessage), false);
  }

  /** What the template writes after a model answer when the user sends {@code userMessage}. */
  String continuation(String userMessage) {
    String rendered = codec.renderChat(List.of(
        new TextCodec.Message("user", "Hi"),
        new TextCodec.Message("assistant", ANSWER_MARK),
        new TextCodec.Message("user", userMessage)), true);
    int at = rendered.indexOf(ANSWER_MARK); // the first one: the user message may contain it too
    if (at < 0) {
      throw new RgemmaException("the chat template does not write the model's answers back; "
          + "cannot continue a conversation with it");
    }
    return rendered.substring(at + ANSWER_MARK.length());
  }
}
