package dev.rgemma.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.rgemma.api.Completion;
import dev.rgemma.api.GenerateOptions;
import dev.rgemma.api.RgemmaModel;
import java.util.Objects;

/**
 * A LangChain4j {@link ChatModel} that answers on this machine with an rgemma model.
 *
 * <pre>{@code
 * RgemmaModel model = RgemmaModel.load(Path.of("models/demo"));
 * ChatModel chat = RgemmaChatModel.builder().model(model).build();
 * String answer = chat.chat("Who is Ishmael?");
 * }</pre>
 *
 * <p>Request parameters map onto {@link GenerateOptions}: temperature, top-p, top-k, frequency and
 * presence penalties, max output tokens (to max tokens) and stop sequences; unset ones keep the
 * {@linkplain Builder#defaultOptions defaults}. The finish reason is {@code STOP} when the model
 * ends its turn or a stop sequence matches, {@code LENGTH} at the token limit; the token usage
 * counts the prompt tokens fed and the tokens generated. Tools, images and JSON response formats
 * are not supported ({@link dev.langchain4j.exception.UnsupportedFeatureException}).
 *
 * <p>Each request is answered in a fresh session (requests carry the whole conversation), so the
 * answer depends only on the request and, with a temperature above 0, on the seed of the default
 * options (0 if none is set: the same request gets the same answer). Thread-safe: concurrent
 * requests run in their own sessions over the shared model. The model is not closed by this class.
 */
public final class RgemmaChatModel implements ChatModel {
  private final RgemmaModel model;
  private final GenerateOptions defaults;
  private final String modelName;

  private RgemmaChatModel(Builder builder) {
    this.model = Objects.requireNonNull(builder.model, "model");
    this.defaults = builder.defaultOptions;
    this.modelName = builder.modelName != null ? builder.modelName : model.path().getFileName().toString();
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public ChatResponse doChat(ChatRequest request) {
    Requests.Conversation conversation = Requests.conversation(request, defaults);
    Completion answer = model.newSession().chat(conversation.messages(), conversation.options());
    return Requests.response(answer, modelName);
  }

  @Override
  public ChatRequestParameters defaultRequestParameters() {
    return Requests.parameters(defaults, modelName);
  }

  @Override
  public ModelProvider provider() {
    return ModelProvider.OTHER;
  }

  /** Builds an {@link RgemmaChatModel}; only the model is required. */
  public static final class Builder {
    private RgemmaModel model;
    private GenerateOptions defaultOptions = GenerateOptions.defaults();
    private String modelName;

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

    public RgemmaChatModel build() {
      return new RgemmaChatModel(this);
    }
  }
}
