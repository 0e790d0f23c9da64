package dev.rgemma.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.rgemma.api.Completion;
import dev.rgemma.api.GenerateOptions;
import dev.rgemma.api.RgemmaModel;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * A LangChain4j {@link StreamingChatModel} backed by an rgemma model: the answer arrives piece by
 * piece through {@link StreamingChatResponseHandler#onPartialResponse(String)}, then {@link
 * StreamingChatResponseHandler#onCompleteResponse} brings the whole answer, its finish reason and
 * token usage; a failure goes to {@link StreamingChatResponseHandler#onError}. {@code chat} returns
 * at once: the answer is generated on the {@linkplain Builder#executor executor} (a new daemon
 * thread per request by default). Parameters, sessions and thread safety as in {@link
 * RgemmaChatModel}.
 */
public final class RgemmaStreamingChatModel implements StreamingChatModel {
  private final RgemmaModel model;
  private final GenerateOptions defaults;
  private final String modelName;
  private final Executor executor;

  private RgemmaStreamingChatModel(Builder builder) {
    this.model = Objects.requireNonNull(builder.model, "model");
    this.defaults = builder.defaultOptions;
    this.modelName = builder.modelName != null ? builder.modelName : model.path().getFileName().toString();
    this.executor = builder.executor != null ? builder.executor
        : task -> Thread.ofPlatform().daemon().name("rgemma-langchain4j").start(task);
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
    Objects.requireNonNull(handler, "handler");
    Requests.Conversation conversation;
    try {
      conversation = Requests.conversation(request, defaults);
    } catch (RuntimeException e) {
      handler.onError(e);
      return;
    }
    executor.execute(() -> {
      Completion answer;
      try {
        answer = model.newSession().chat(conversation.messages(), conversation.options(),
            handler::onPartialResponse);
      } catch (RuntimeException | Error e) {
        handler.onError(e);
        return;
      }
      handler.onCompleteResponse(Requests.response(answer, modelName));
    });
  }

  @Override
  public ChatRequestParameters defaultRequestParameters() {
    return Requests.parameters(defaults, modelName);
  }

  @Override
  public ModelProvider provider() {
    return ModelProvider.OTHER;
  }

  /** Builds an {@link RgemmaStreamingChatModel}; only the model is required. */
  public static final class Builder {
    private RgemmaModel model;
    private GenerateOptions defaultOptions = GenerateOptions.defaults();
    private String modelName;
    private Executor executor;

    private Builder() {}

    /** The loaded model to answer with (shared; not closed by the chat model). */
    public Builder model(RgemmaModel value) {
      model = value;
      return this;
    }

    /** Options for what a request leaves unset, including the seed ({@link GenerateOptions#defaults()}). */
    public Builder defaultOptions(GenerateOptions value) {
      defaultOptions = Objects.requireNonNull(value);
      return this;
    }

    /** The name reported in responses (the model directory's name). */
    public Builder modelName(String value) {
      modelName = value;
      return this;
    }

    /** Where answers are generated (a new daemon thread per request). */
    public Builder executor(Executor value) {
      executor = value;
      return this;
    }

    public RgemmaStreamingChatModel build() {
      return new RgemmaStreamingChatModel(this);
    }
  }
}
