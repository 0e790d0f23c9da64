package dev.rgemma.server;

import java.util.Objects;

/**
 * One message of a chat request.
 *
 * @param role {@code system}, {@code user} or {@code assistant}
 * @param content the message's text
 */
public record ChatMessage(String role, String content) {
  public ChatMessage {
    Objects.requireNonNull(role);
    Objects.requireNonNull(content);
  }
}
