package dev.rgemma.tokenizer;

import java.util.List;
import java.util.Objects;

/**
 * Gemma's chat format, rendered exactly as Hugging Face renders Google's Gemma chat template:
 * {@code <bos>}, then one {@code <start_of_turn>role\n...<end_of_turn>\n} per message with the
 * content trimmed, "assistant" written as "model", a leading system message prepended (untrimmed,
 * plus a blank line) to the first user turn, and {@code <start_of_turn>model\n} to ask for a reply.
 */
public final class ChatTemplate {
  private ChatTemplate() {}

  /** One chat message; {@code role} is system, user, assistant or model. */
  public record Message(String role, String content) {
    public Message {
      Objects.requireNonNull(role, "role");
      Objects.requireNonNull(content, "content");
    }
  }

  /**
   * The prompt text for {@code messages}: starts with "<bos>", which {@link Tokenizer#encode}
   * turns into the BOS id, so encode it with {@code addSpecialTokens = false}.
   *
   * @throws IllegalArgumentException if the roles do not alternate user, model, user, ... (after an
   *     optional first system message) or a role is unknown; the message starts with the offending
   *     message's place in the list, 0-based, as {@code messages[i]} (the name clients of an
   *     OpenAI-style API give the same message)
   */
  public static String render(List<Message> messages, boolean addGenerationPrompt) {
    StringBuilder out = new StringBuilder("<bos>");
    String firstUserPrefix = "";
    List<Message> turns = messages;
    if (!messages.isEmpty() && messages.getFirst().role().equals("system")) {
      firstUserPrefix = messages.getFirst().content() + "\n\n";
      turns = messages.subList(1, messages.size());
    }
    for (int i = 0; i < turns.size(); i++) {
      Message message = turns.get(i);
      String at = "messages[" + (i + messages.size() - turns.size()) + "]";
      String role =
          switch (message.role()) {
            case "user" -> "user";
            case "assistant", "model" -> "model";
            case "system" ->
                throw new IllegalArgumentException(at + ": a system message is only allowed first");
            default ->
                throw new IllegalArgumentException(
                    at + ".role \"" + message.role() + "\" is unknown; expected system, user, assistant or model");
          };
      if (role.equals("user") != (i % 2 == 0)) {
        throw new IllegalArgumentException(
            at + " has role \"" + message.role() + "\", but conversation roles must alternate "
                + "user/assistant/user/assistant/... after an optional first system message");
      }
      out.append("<start_of_turn>").append(role).append('\n');
      if (i == 0) out.append(firstUserPrefix);
      out.append(trim(message.content())).append("<end_of_turn>\n");
    }
    if (addGenerationPrompt) out.append("<start_of_turn>model\n");
    return out.toString();
  }

  /** Jinja's {@code trim}: Python's str.strip(), which removes Unicode whitespace at both ends. */
  static String trim(String text) {
    int start = 0;
    int end = text.length();
    while (start < end && isPythonSpace(text.charAt(start))) start++;
    while (end > start && isPythonSpace(text.charAt(end - 1))) end--;
    return text.substring(start, end);
  }

  private static boolean isPythonSpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
  }
}
