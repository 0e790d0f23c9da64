package dev.rgemma.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import dev.rgemma.api.Completion;
import dev.rgemma.api.GenerateOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Translates LangChain4j requests into rgemma's chat messages and options, and results back. */
final class Requests {
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  private Requests() {}

  /** A chat request in rgemma's terms. */
  record Conversation(List<dev.rgemma.api.ChatMessage> messages, GenerateOptions options) {}

  static Conversation conversation(ChatRequest request, GenerateOptions defaults) {
    ChatRequestParameters parameters = request.parameters();
    if (parameters.toolSpecifications() != null && !parameters.toolSpecifications().isEmpty()) {
      throw new UnsupportedFeatureException("rgemma does not support tools (the request lists "
          + parameters.toolSpecifications().size() + ")");
    }
    boolean json = parameters.responseFormat() != null && parameters.responseFormat().type() == ResponseFormatType.JSON;
    GenerateOptions options = options(parameters, defaults);
    if (json && parameters.responseFormat().jsonSchema() != null) {
      // LangChain4j's own conversion of its schema elements to JSON Schema (as its OpenAI module does).
      Map<String, Object> schema = dev.langchain4j.internal.JsonSchemaElementJsonUtils.toMap(
          parameters.responseFormat().jsonSchema().rootElement());
      try {
        options = options.toBuilder().jsonSchema(JSON.writeValueAsString(schema)).build();
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException("the response format's schema could not be written as JSON", e);
      } catch (IllegalArgumentException e) {
        throw new UnsupportedFeatureException("rgemma cannot enforce this JSON schema: " + e.getMessage());
      }
    } else if (json) {
      options = options.toBuilder().jsonObject(true).build();
    }
    return new Conversation(messages(request.messages()), options);
  }

  static List<dev.rgemma.api.ChatMessage> messages(List<ChatMessage> messages) {
    List<dev.rgemma.api.ChatMessage> out = new ArrayList<>();
    for (ChatMessage message : messages) {
      out.add(message(message));
    }
    return out;
  }

  static dev.rgemma.api.ChatMessage message(ChatMessage message) {
    return switch (message) {
      case SystemMessage system -> dev.rgemma.api.ChatMessage.system(system.text());
      case UserMessage user -> {
        if (!user.hasSingleText()) {
          throw new UnsupportedFeatureException("rgemma reads text only; a user message has "
              + user.contents().size() + " parts or a part that is not text");
        }
        yield dev.rgemma.api.ChatMessage.user(user.singleText());
      }
      case AiMessage ai -> {
        if (ai.hasToolExecutionRequests()) {
          throw new UnsupportedFeatureException("rgemma does not support tools (an AI message requests a tool)");
        }
        yield dev.rgemma.api.ChatMessage.assistant(ai.text() == null ? "" : ai.text());
      }
      default -> throw new UnsupportedFeatureException(
          "rgemma does not support " + message.type() + " messages");
    };
  }

  /** The request's parameters over the model's defaults; unset (null) ones keep the defaults. */
  static GenerateOptions options(ChatRequestParameters parameters, GenerateOptions defaults) {
    GenerateOptions.Builder options = defaults.toBuilder();
    if (parameters.temperature() != null) {
      options.temperature(parameters.temperature());
    }
    if (parameters.topP() != null) {
      options.topP(parameters.topP());
    }
    if (parameters.topK() != null) {
      options.topK(parameters.topK());
    }
    if (parameters.frequencyPenalty() != null) {
      options.frequencyPenalty(parameters.frequencyPenalty());
    }
    if (parameters.presencePenalty() != null) {
      options.presencePenalty(parameters.presencePenalty());
    }
    if (parameters.maxOutputTokens() != null) {
      options.maxTokens(parameters.maxOutputTokens());
    }
    if (parameters.stopSequences() != null && !parameters.stopSequences().isEmpty()) {
      options.stopSequences(parameters.stopSequences());
    }
    return options.build();
  }

  static ChatRequestParameters parameters(GenerateOptions defaults, String modelName) {
    return ChatRequestParameters.builder()
        .modelName(modelName)
        .temperature(defaults.temperature())
        .topP(defaults.topP())
        .topK(defaults.topK())
        .frequencyPenalty(defaults.frequencyPenalty())
        .presencePenalty(defaults.presencePenalty())
        .maxOutputTokens(defaults.maxTokens())
        .stopSequences(defaults.stopSequences())
        .build();
  }

  static ChatResponse response(Completion completion, String modelName) {
    return ChatResponse.builder()
        .aiMessage(AiMessage.from(completion.text()))
        .modelName(modelName)
        .finishReason(finishReason(completion.finishReason()))
        .tokenUsage(new TokenUsage(completion.promptTokens(), completion.generatedTokens()))
        .build();
  }

  static FinishReason finishReason(dev.rgemma.api.FinishReason reason) {
    return switch (reason) {
      case END_OF_SEQUENCE, END_OF_TURN, STOP_SEQUENCE -> FinishReason.STOP;
      case MAX_TOKENS -> FinishReason.LENGTH;
      case CANCELLED -> FinishReason.OTHER;
    };
  }
}
