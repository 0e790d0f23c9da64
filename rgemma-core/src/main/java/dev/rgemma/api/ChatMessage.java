package dev.rgemma.api;

import java.util.Objects;

/**
 * One message of a chat: who wrote it and what it says.
 *
 * @param role who wrote it
 * @param content the text (the chat template trims surrounding whitespace, as Gemma's does)
 */
public record ChatMessage(Role role, String content) {

  /** Who wrote a message. A system message may only come first. */
  public enum Role {
    /** Instructions for the whole chat; Gemma prepends them to the first user turn. */
    SYSTEM,
    /** The person talking to the model. */
    USER,
    /** The model's answers (Gemma's "model" turns). */
    ASSISTANT;

    String templateName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
  }

  public static ChatMessage system(String content) {
    return new ChatMessage(Role.SYSTEM, content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage(Role.USER, content);
  }

  public static ChatMessage assistant(String content) {
    return new ChatMessage(Role.ASSISTANT, content);
  }
}
