package dev.rgemma.langchain4j;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.model.TokenCountEstimator;
import dev.rgemma.api.RgemmaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Counts tokens with the model's own tokenizer: text exactly (without the beginning-of-sequence
 * token); a list of messages exactly as the chat prompt a fresh session is fed for it (template,
 * turn markers and the start of the model's answer included); a single message as its text plus
 * the turn markers around it (an estimate: Gemma puts a system message into the first user turn).
 */
public final class RgemmaTokenCountEstimator implements TokenCountEstimator {
  private final RgemmaModel model;
  private final int turnMarkers;

  public RgemmaTokenCountEstimator(RgemmaModel model) {
    this.model = Objects.requireNonNull(model, "model");
    // "<start_of_turn>user\n" + "<end_of_turn>\n" around an empty message
    this.turnMarkers = model.countTokens(List.of(dev.rgemma.api.ChatMessage.user("")))
        - model.countTokens(List.of());
  }

  @Override
  public int estimateTokenCountInText(String text) {
    return model.countTokens(text);
  }

  @Override
  public int estimateTokenCountInMessage(ChatMessage message) {
    return model.countTokens(Requests.message(message).content()) + turnMarkers;
  }

  @Override
  public int estimateTokenCountInMessages(Iterable<ChatMessage> messages) {
    List<ChatMessage> list = new ArrayList<>();
    messages.forEach(list::add);
    try {
      return model.countTokens(Requests.messages(list));
    } catch (IllegalArgumentException e) {
      // not a well-formed chat (e.g. roles do not alternate): count message by message
      int total = 0;
      for (ChatMessage message : list) {
        total += estimateTokenCountInMessage(message);
      }
      return total;
    }
  }
}
