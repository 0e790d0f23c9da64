package dev.rgemma.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.rgemma.api.Completion;
import dev.rgemma.api.GenerateOptions;
import dev.rgemma.api.RgemmaModel;
import dev.rgemma.testing.TinyTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LangChain4j's interfaces over the tiny reference fixture with a hand-made tokenizer (a random
 * model: its answers are noise, so they are checked against rgemma's own API and against facts
 * that hold for any model, such as top-k 1 being greedy).
 */
class RgemmaLangChain4jTest {
  /** With this seed the fixture ends its turn after 8 sampled tokens (found by trying seeds 0-59). */
  private static final long SEED_THAT_ENDS_THE_TURN = 12;

  @TempDir static Path temp;
  private static RgemmaModel model;
  private static final List<ChatMessage> CHAT = List.of(SystemMessage.from("Be brief."), UserMessage.from("Who is there?"));
  private static final List<dev.rgemma.api.ChatMessage> SAME_CHAT = List.of(
      dev.rgemma.api.ChatMessage.system("Be brief."), dev.rgemma.api.ChatMessage.user("Who is there?"));

  @BeforeAll
  static void load() throws Exception {
    model = RgemmaModel.load(TinyTokenizer.fixtureModelWithTokenizer(temp.resolve("tiny")));
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static ChatModel chatModel() {
    return RgemmaChatModel.builder().model(model)
        .defaultOptions(GenerateOptions.builder().seed(SEED_THAT_ENDS_THE_TURN).build()).build();
  }

  private static StreamingChatModel streamingModel() {
    return RgemmaStreamingChatModel.builder().model(model)
        .defaultOptions(GenerateOptions.builder().seed(SEED_THAT_ENDS_THE_TURN).build()).build();
  }

  private static ChatRequest request(double temperature, int maxTokens) {
    return ChatRequest.builder().messages(CHAT).temperature(temperature).maxOutputTokens(maxTokens).build();
  }

  @Test
  void chatModelAnswersEndsItsTurnAndReportsUsage() {
    ChatResponse response = chatModel().chat(request(1.0, 24));
    Completion direct = model.newSession().chat(SAME_CHAT,
        GenerateOptions.builder().temperature(1.0).maxTokens(24).seed(SEED_THAT_ENDS_THE_TURN).build());

    assertEquals(direct.text(), response.aiMessage().text());
    assertEquals(FinishReason.STOP, response.finishReason());
    assertEquals(8, response.tokenUsage().outputTokenCount());
    assertEquals(model.countTokens(SAME_CHAT), response.tokenUsage().inputTokenCount());
    assertEquals(response.tokenUsage().inputTokenCount() + 8, response.tokenUsage().totalTokenCount());
    assertEquals("tiny", response.modelName());
  }

  @Test
  void theTokenLimitEndsWithLength() {
    ChatResponse response = chatModel().chat(request(0.0, 5));
    assertEquals(FinishReason.LENGTH, response.finishReason());
    assertEquals(5, response.tokenUsage().outputTokenCount());
    assertFalse(response.aiMessage().text().isEmpty());
  }

  @Test
  void samplingParametersReachTheSampler() {
    String greedy = chatModel().chat(request(0.0, 16)).aiMessage().text();
    String sampled = chatModel().chat(request(1.0, 16)).aiMessage().text();
    assertFalse(greedy.equals(sampled), "temperature 1 samples something else than greedy here");
    // keeping only the most likely token is greedy, whatever the temperature
    ChatRequest topK1 = ChatRequest.builder().messages(CHAT).temperature(1.0).topK(1).maxOutputTokens(16).build();
    assertEquals(greedy, chatModel().chat(topK1).aiMessage().text());
    ChatRequest tinyTopP = ChatRequest.builder().messages(CHAT).temperature(1.0).topP(1e-6).maxOutputTokens(16).build();
    assertEquals(greedy, chatModel().chat(tinyTopP).aiMessage().text());
  }

  @Test
  void aStopSequenceEndsTheAnswerBeforeIt() {
    String greedy = chatModel().chat(request(0.0, 16)).aiMessage().text();
    String stop = greedy.substring(6, 8);
    ChatRequest request = ChatRequest.builder().messages(CHAT).temperature(0.0).maxOutputTokens(16)
        .stopSequences(List.of(stop)).build();
    ChatResponse response = chatModel().chat(request);
    assertEquals(FinishReason.STOP, response.finishReason());
    assertEquals(greedy.substring(0, greedy.indexOf(stop)), response.aiMessage().text());
  }

  @Test
  void streamingSendsPartialsThenTheCompleteResponse() throws Exception {
    List<String> partials = new ArrayList<>();
    CompletableFuture<ChatResponse> done = new CompletableFuture<>();
    streamingModel().chat(request(1.0, 24), new StreamingChatResponseHandler() {
      @Override
      public void onPartialResponse(String partial) {
        partials.add(partial);
      }

      @Override
      public void onCompleteResponse(ChatResponse response) {
        done.complete(response);
      }

      @Override
      public void onError(Throwable error) {
        done.completeExceptionally(error);
      }
    });
    ChatResponse streamed = done.get(60, TimeUnit.SECONDS);
    ChatResponse blocking = chatModel().chat(request(1.0, 24));

    assertTrue(partials.size() > 1, "the answer comes in pieces: " + partials);
    assertEquals(blocking.aiMessage().text(), String.join("", partials));
    assertEquals(blocking.aiMessage().text(), streamed.aiMessage().text());
    assertEquals(FinishReason.STOP, streamed.finishReason());
    assertEquals(blocking.tokenUsage(), streamed.tokenUsage());
  }

  @Test
  void unsupportedRequestsFailClearly() throws Exception {
    ChatRequest withTool = ChatRequest.builder().messages(CHAT)
        .toolSpecifications(ToolSpecification.builder().name("weather").build()).build();
    UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class, () -> chatModel().chat(withTool));
    assertTrue(e.getMessage().contains("tools"), e.getMessage());

    CompletableFuture<Throwable> error = new CompletableFuture<>();
    streamingModel().chat(withTool, new StreamingChatResponseHandler() {
      @Override
      public void onCompleteResponse(ChatResponse response) {
        error.complete(null);
      }

      @Override
      public void onError(Throwable t) {
        error.complete(t);
      }
    });
    assertInstanceOf(UnsupportedFeatureException.class, error.get(60, TimeUnit.SECONDS));

    ChatRequest aiLast = ChatRequest.builder().messages(UserMessage.from("hi"), AiMessage.from("hello")).build();
    assertThrows(IllegalArgumentException.class, () -> chatModel().chat(aiLast));

    ChatRequest withAnyOf = ChatRequest.builder().messages(CHAT).responseFormat(schemaFormat(
        dev.langchain4j.model.chat.request.json.JsonObjectSchema.builder().addProperty("a",
            // two members that both start with a quote: the first byte cannot tell them apart
            dev.langchain4j.model.chat.request.json.JsonAnyOfSchema.builder().anyOf(
                new dev.langchain4j.model.chat.request.json.JsonStringSchema(),
                dev.langchain4j.model.chat.request.json.JsonEnumSchema.builder().enumValues("x", "y").build())
                .build()).build())).build();
    e = assertThrows(UnsupportedFeatureException.class, () -> chatModel().chat(withAnyOf));
    assertTrue(e.getMessage().contains("anyOf"), e.getMessage());
  }

  private static dev.langchain4j.model.chat.request.ResponseFormat schemaFormat(
      dev.langchain4j.model.chat.request.json.JsonObjectSchema root) {
    return dev.langchain4j.model.chat.request.ResponseFormat.builder()
        .type(dev.langchain4j.model.chat.request.ResponseFormatType.JSON)
        .jsonSchema(dev.langchain4j.model.chat.request.json.JsonSchema.builder().name("answer").rootElement(root).build())
        .build();
  }

  /** A JSON schema response format: the answer equals the API's with the same schema. */
  @Test
  void jsonSchemaResponseFormatFollowsTheSchema() {
    var root = dev.langchain4j.model.chat.request.json.JsonObjectSchema.builder()
        .addStringProperty("w").addBooleanProperty("ok").required("w", "ok").build();
    ChatRequest request = ChatRequest.builder().messages(CHAT).temperature(1.0).maxOutputTokens(40)
        .responseFormat(schemaFormat(root)).build();
    ChatResponse response = chatModel().chat(request);
    String schema = "{\"type\":\"object\",\"properties\":{\"w\":{\"type\":\"string\"},\"ok\":{\"type\":\"boolean\"}},"
        + "\"required\":[\"w\",\"ok\"]}";
    Completion direct = model.newSession().chat(SAME_CHAT, GenerateOptions.builder().temperature(1.0).maxTokens(40)
        .seed(SEED_THAT_ENDS_THE_TURN).jsonSchema(schema).build());
    assertEquals(direct.text(), response.aiMessage().text());
    assertTrue(response.aiMessage().text().stripLeading().startsWith("{"), response.aiMessage().text());
  }

  /** ResponseFormat.JSON (no schema) is JSON mode: the same answer as the API's jsonObject option. */
  @Test
  void jsonResponseFormatIsJsonMode() throws Exception {
    ChatRequest json = ChatRequest.builder().messages(CHAT).temperature(1.0).maxOutputTokens(40)
        .responseFormat(dev.langchain4j.model.chat.request.ResponseFormat.JSON).build();
    ChatResponse response = chatModel().chat(json);
    Completion direct = model.newSession().chat(SAME_CHAT, GenerateOptions.builder().temperature(1.0).maxTokens(40)
        .seed(SEED_THAT_ENDS_THE_TURN).jsonObject(true).build());
    assertEquals(direct.text(), response.aiMessage().text());
    assertTrue(response.aiMessage().text().stripLeading().startsWith("{"), response.aiMessage().text());
    if (response.finishReason() == FinishReason.STOP) {
      assertTrue(new com.fasterxml.jackson.databind.ObjectMapper().readTree(response.aiMessage().text()).isObject());
    }
  }

  @Test
  void tokenCountsComeFromTheModelsTokenizer() {
    RgemmaTokenCountEstimator estimator = new RgemmaTokenCountEstimator(model);
    // TinyTokenizer: spaces become "▁", and "▁t" + "he" merge into one piece "▁the"
    assertEquals(2, estimator.estimateTokenCountInText(" the the"));
    // <start_of_turn> u s e r \n h i <end_of_turn> \n
    assertEquals(10, estimator.estimateTokenCountInMessage(UserMessage.from("hi")));
    assertEquals(model.countTokens(SAME_CHAT), estimator.estimateTokenCountInMessages(CHAT));
    assertEquals(2 * 10, estimator.estimateTokenCountInMessages(List.of(UserMessage.from("hi"), UserMessage.from("hi"))));
  }
}
