package dev.rgemma.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.ModelNotFoundException;
import dev.langchain4j.model.catalog.ModelDescription;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiLanguageModel;
import dev.langchain4j.model.openai.OpenAiModelCatalog;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.openai.OpenAiTokenUsage;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.Response;
import dev.rgemma.engine.StopReason;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Drives the server with LangChain4j's OpenAI client (chat, streamed chat, completions, models,
 * stop strings, max tokens, errors) and with raw HTTP where a client cannot send the mistake.
 * Expected answers come from the engine's {@link dev.rgemma.engine.Session}, one sequence alone.
 */
class OpenAiServerTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final CharCodec CODEC = new CharCodec();
  static final String MODEL = "tiny-a";
  static final int DEFAULT_MAX_TOKENS = 10;
  static final int MAX_TOKENS_LIMIT = 1000;
  static RecurrentGemmaModel model;
  static OpenAiServer server;
  static String base;
  static final List<String> log = new CopyOnWriteArrayList<>();
  static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  static void start() throws Exception {
    model = Reference.tinyModel();
    ServerOptions options = new ServerOptions("127.0.0.1", 0, MODEL, 4, 16, 8, 4096, 1 << 24,
        DEFAULT_MAX_TOKENS, MAX_TOKENS_LIMIT, log::add);
    server = OpenAiServer.start(options, model, CODEC);
    base = server.baseUri().toString();
  }

  @AfterAll
  static void stop() {
    server.close();
    model.close();
  }

  static OpenAiChatModel.OpenAiChatModelBuilder chatModel() {
    return OpenAiChatModel.builder().baseUrl(base + "/v1").apiKey("none").modelName(MODEL).maxRetries(0)
        .timeout(Duration.ofSeconds(60));
  }

  static String expectedChat(List<TextCodec.Message> messages, int maxTokens, List<String> stop) {
    return Reference.greedy(model, CODEC, Reference.chatPrompt(CODEC, messages), maxTokens, stop).text();
  }

  @Test
  void chatAnswersWithUsageAndFinishReasonLength() {
    ChatResponse response = chatModel().temperature(0.0).maxTokens(6).build()
        .chat(ChatRequest.builder().messages(SystemMessage.from("Be brief."), UserMessage.from("Hello there")).build());
    List<TextCodec.Message> messages = List.of(
        new TextCodec.Message("system", "Be brief."), new TextCodec.Message("user", "Hello there"));
    dev.rgemma.engine.GenerationResult alone =
        Reference.greedy(model, CODEC, Reference.chatPrompt(CODEC, messages), 6, List.of());
    assertEquals(StopReason.MAX_TOKENS, alone.stopReason(), "the fixture model should use all 6 tokens");
    assertEquals(alone.text(), response.aiMessage().text());
    assertEquals(FinishReason.LENGTH, response.finishReason());
    assertEquals(6, response.tokenUsage().outputTokenCount());
    assertEquals(Reference.chatPrompt(CODEC, messages).length, response.tokenUsage().inputTokenCount());
    assertEquals(MODEL, response.modelName());
  }

  @Test
  void maxCompletionTokensAndTheServerDefaultLimitTheAnswer() throws Exception {
    ChatResponse limited = chatModel().temperature(0.0).maxCompletionTokens(3).build().chat(UserMessage.from("Hi"));
    assertEquals(3, limited.tokenUsage().outputTokenCount());
    JsonNode unlimited = postJson("/v1/chat/completions",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"temperature\": 0}").body;
    assertEquals(DEFAULT_MAX_TOKENS, unlimited.at("/usage/completion_tokens").asInt());
    assertEquals("length", unlimited.at("/choices/0/finish_reason").asText());
  }

  /**
   * A max_tokens or max_completion_tokens above --max-tokens-limit is a 400 naming the field, the
   * value and the limit (an abandoned non-streaming request would otherwise hold its slot that long);
   * streamed requests are refused alike. Given both, max_completion_tokens is the one that counts.
   */
  @Test
  void maxTokensAboveTheServerLimitAreRefused() throws Exception {
    String chat = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], ";
    Reply tooMany = postJson("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 2147483647}");
    assertError(tooMany, 400, "invalid_value", "max_tokens");
    String message = tooMany.body.at("/error/message").asText();
    assertTrue(message.contains("2147483647") && message.contains("" + MAX_TOKENS_LIMIT)
        && message.contains("--max-tokens-limit"), message);
    assertError(postJson("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 1000000000000}"), 400, "invalid_value",
        "max_tokens");
    assertError(postJson("/v1/completions", "{\"prompt\": \"x\", \"stream\": true, \"max_tokens\": "
        + (MAX_TOKENS_LIMIT + 1) + "}"), 400, "invalid_value", "max_tokens");
    assertError(postJson("/v1/chat/completions", chat + "\"max_completion_tokens\": 5000000000}"), 400,
        "invalid_value", "max_completion_tokens");
    assertError(postJson("/v1/chat/completions", chat + "\"max_completion_tokens\": " + (MAX_TOKENS_LIMIT + 1) + "}"),
        400, "invalid_value", "max_completion_tokens");
    Reply both = postJson("/v1/chat/completions", chat + "\"temperature\": 0, \"max_tokens\": 5, \"max_completion_tokens\": 2}");
    assertEquals(200, both.status, both.body.toString());
    assertEquals(2, both.body.at("/usage/completion_tokens").asInt());
  }

  @Test
  void streamedChatSendsTheSameTextInChunks() throws Exception {
    List<String> partials = new CopyOnWriteArrayList<>();
    CompletableFuture<ChatResponse> done = new CompletableFuture<>();
    OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(base + "/v1").apiKey("none")
        .modelName(MODEL).temperature(0.0).maxTokens(8).timeout(Duration.ofSeconds(60)).build();
    streaming.chat(List.of(UserMessage.from("Stream me a line")), new StreamingChatResponseHandler() {
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
    ChatResponse response = done.get(60, TimeUnit.SECONDS);
    String expected = expectedChat(List.of(new TextCodec.Message("user", "Stream me a line")), 8, List.of());
    assertEquals(expected, String.join("", partials));
    assertEquals(expected, response.aiMessage().text());
    assertTrue(partials.size() > 1, "the text should come in several chunks, got " + partials);
    assertEquals(FinishReason.LENGTH, response.finishReason());
  }

  @Test
  void stopStringsCutTheAnswer() {
    List<TextCodec.Message> messages = List.of(new TextCodec.Message("user", "Count"));
    String full = expectedChat(messages, 10, List.of());
    assertTrue(full.length() >= 6, "need some greedy text, got '" + full + "'");
    String stop = full.substring(2, 5);
    ChatResponse response = chatModel().temperature(0.0).maxTokens(10).stop(List.of(stop, "never-said")).build()
        .chat(UserMessage.from("Count"));
    assertEquals(full.substring(0, full.indexOf(stop)), response.aiMessage().text());
    assertEquals(FinishReason.STOP, response.finishReason());
  }

  @Test
  void completionsContinueAPlainPrompt() {
    Response<String> response = OpenAiLanguageModel.builder().baseUrl(base + "/v1").apiKey("none").modelName(MODEL)
        .temperature(0.0).maxRetries(0).build().generate("Once upon a time");
    dev.rgemma.engine.GenerationResult alone =
        Reference.greedy(model, CODEC, CODEC.encode("Once upon a time", true), DEFAULT_MAX_TOKENS, List.of());
    assertEquals(alone.text(), response.content());
    assertEquals(CODEC.encode("Once upon a time", true).length, response.tokenUsage().inputTokenCount());
    assertEquals(alone.stopReason() == StopReason.MAX_TOKENS ? FinishReason.LENGTH : FinishReason.STOP,
        response.finishReason());
  }

  @Test
  void streamedCompletionsEndWithDoneAndUsage() throws Exception {
    Sse sse = postStream("/v1/completions",
        "{\"prompt\": \"abc\", \"max_tokens\": 4, \"temperature\": 0, \"stream\": true, "
            + "\"stream_options\": {\"include_usage\": true}}");
    assertEquals(200, sse.status);
    assertEquals("[DONE]", sse.events.getLast());
    StringBuilder text = new StringBuilder();
    JsonNode usage = null;
    String finish = null;
    for (String event : sse.events.subList(0, sse.events.size() - 1)) {
      JsonNode chunk = JSON.readTree(event);
      assertEquals("text_completion", chunk.get("object").asText());
      if (chunk.get("choices").isEmpty()) {
        usage = chunk.get("usage");
      } else {
        text.append(chunk.at("/choices/0/text").asText());
        if (!chunk.at("/choices/0/finish_reason").isNull()) {
          finish = chunk.at("/choices/0/finish_reason").asText();
        }
      }
    }
    assertEquals(Reference.greedy(model, CODEC, CODEC.encode("abc", true), 4, List.of()).text(), text.toString());
    assertEquals("length", finish);
    assertEquals(4, usage.get("completion_tokens").asInt());
    assertEquals(4, usage.get("prompt_tokens").asInt());
  }

  @Test
  void aSeedMakesSamplingReproducible() throws Exception {
    String body = "{\"prompt\": \"seeded\", \"max_tokens\": 12, \"temperature\": 1.2, \"top_p\": 0.9, "
        + "\"frequency_penalty\": 0.5, \"presence_penalty\": 0.3, \"seed\": 1234}";
    Reply first = postJson("/v1/completions", body);
    Reply second = postJson("/v1/completions", body);
    assertEquals(200, first.status, first.body.toString());
    assertEquals(first.body.at("/choices/0/text").asText(), second.body.at("/choices/0/text").asText());
    assertEquals(first.body.at("/usage/completion_tokens").asInt(), second.body.at("/usage/completion_tokens").asInt());
  }

  @Test
  void modelsListTheServedModel() throws Exception {
    List<ModelDescription> models = OpenAiModelCatalog.builder().baseUrl(base + "/v1").apiKey("none").build()
        .listModels();
    assertEquals(List.of(MODEL), models.stream().map(ModelDescription::name).toList());
    assertEquals(200, get("/v1/models/" + MODEL).status);
    assertEquals("ok", get("/health").body.get("status").asText());
  }

  @Test
  void aSecondTurnProcessesOnlyItsNewTokens() throws Exception {
    String user1 = "Tell me about rivers";
    Reply turn1 = postJson("/v1/chat/completions", chatBody(List.of(new TextCodec.Message("user", user1)), 6));
    String answer = turn1.body.at("/choices/0/message/content").asText();
    assertEquals("length", turn1.body.at("/choices/0/finish_reason").asText());
    assertEquals(answer.strip(), answer, "the template trims answers; this test needs one without outer spaces");
    int prompt1 = turn1.body.at("/usage/prompt_tokens").asInt();
    assertEquals(0, turn1.body.at("/usage/prompt_tokens_details/cached_tokens").asInt());

    List<TextCodec.Message> conversation = List.of(new TextCodec.Message("user", user1),
        new TextCodec.Message("assistant", answer), new TextCodec.Message("user", "And lakes?"));
    long fedBefore = metric("rgemma_batch_tokens_total");
    Reply turn2 = postJson("/v1/chat/completions", chatBody(conversation, 4));
    long fed = metric("rgemma_batch_tokens_total") - fedBefore;
    int prompt2 = turn2.body.at("/usage/prompt_tokens").asInt();
    int cached = turn2.body.at("/usage/prompt_tokens_details/cached_tokens").asInt();
    assertEquals(Reference.chatPrompt(CODEC, conversation).length, prompt2);
    // Turn 1's state holds its prompt and its answer but the answer's last token (never fed).
    assertEquals(prompt1 + 6 - 1, cached);
    // Fed: the uncached prompt tokens, then 3 of the 4 generated tokens.
    assertEquals(prompt2 - cached + 3, fed);
    String expected = expectedChat(conversation, 4, List.of());
    assertEquals(expected, turn2.body.at("/choices/0/message/content").asText());
  }

  @Test
  void errorsComeInOpenAiShapeThroughTheClient() {
    assertInstanceOf(ModelNotFoundException.class, assertThrows(RuntimeException.class,
        () -> chatModel().modelName("gpt-4o").build().chat(UserMessage.from("Hi"))));
    assertInstanceOf(InvalidRequestException.class, assertThrows(RuntimeException.class,
        () -> chatModel().temperature(5.0).build().chat(UserMessage.from("Hi"))));
    assertInstanceOf(InvalidRequestException.class, assertThrows(RuntimeException.class,
        () -> chatModel().build().chat(AiMessage.from("no user turn first"))));
  }

  @Test
  void errorsComeInOpenAiShapeOverRawHttp() throws Exception {
    assertError(postJson("/v1/chat/completions", "{\"messages\": [}"), 400, "invalid_json", null);
    assertError(postJson("/v1/chat/completions", "[1, 2]"), 400, "invalid_json", null);
    assertError(postJson("/v1/chat/completions", "{\"messages\": \"hi\"}"), 400, "invalid_value", "messages");
    assertError(postJson("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], "
        + "\"max_tokens\": \"ten\"}"), 400, "invalid_value", "max_tokens");
    assertError(postJson("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], "
        + "\"max_tokens\": 0}"), 400, "invalid_value", "max_tokens");
    assertError(postJson("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], "
        + "\"top_p\": 1.5}"), 400, "invalid_value", "top_p");
    assertError(postJson("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], "
        + "\"n\": 65}"), 400, "invalid_value", "n");
    assertError(postJson("/v1/completions", "{\"prompt\": [\"a\", \"b\", \"c\"], \"n\": 22}"), 400, "invalid_value", "n");
    assertError(postJson("/v1/chat/completions", "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}"),
        400, "invalid_value", "messages[0].role");
    assertError(postJson("/v1/completions", "{\"prompt\": 5}"), 400, "invalid_value", "prompt");
    assertError(postJson("/v1/completions", "{\"prompt\": \"x\", \"stop\": [\"a\", 3]}"), 400, "invalid_value", "stop");
    assertError(postJson("/v1/completions", "{\"prompt\": \"x\", \"model\": \"other\"}"), 404, "model_not_found", "model");
    assertError(postJson("/v1/embeddings", "{}"), 404, "not_found", null);
    assertError(get("/v1/models/other"), 404, "model_not_found", "model");
    Reply wrongMethod = get("/v1/chat/completions");
    assertError(wrongMethod, 405, "method_not_allowed", null);
    assertEquals("POST, OPTIONS", wrongMethod.headers.firstValue("Allow").orElse(""));
    // HEAD where GET is allowed (no body), OPTIONS anywhere (204 with the methods).
    for (String path : List.of("/health", "/metrics", "/v1/models", "/v1/models/" + MODEL)) {
      HttpResponse<String> head = http.send(HttpRequest.newBuilder(URI.create(base + path))
          .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, head.statusCode(), path);
      assertEquals("", head.body(), path);
    }
    HttpResponse<String> options = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(204, options.statusCode());
    assertEquals("POST, OPTIONS", options.headers().firstValue("Allow").orElse(""));
    HttpResponse<String> healthOptions = http.send(HttpRequest.newBuilder(URI.create(base + "/health"))
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals("GET, HEAD, OPTIONS", healthOptions.headers().firstValue("Allow").orElse(""));
    String big = "{\"prompt\": \"" + "a".repeat(5000) + "\"}";
    assertError(postJson("/v1/completions", big), 413, "request_too_large", null);
    // Unknown fields are ignored.
    Reply extra = postJson("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 2, \"logit_bias\": {}, "
        + "\"user\": \"u\", \"future_field\": [1]}");
    assertEquals(200, extra.status);
    assertTrue(log.stream().anyMatch(line -> line.contains("/v1/completions status=413")), String.join("\n", log));
  }

  /**
   * A declared Content-Length far over the limit is answered 413 at once, without waiting for a
   * body that may never come (it waited for the first 64 MB); the JDK server's request-time
   * bound is set for slower tricks of the same kind.
   */
  @Test
  void aHugeDeclaredBodyIsRefusedAtOnce() throws Exception {
    URI uri = URI.create(base);
    try (java.net.Socket socket = new java.net.Socket(uri.getHost(), uri.getPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Content-Length: 99999999999\r\n\r\n{\"prompt\": \"x\"").getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      String status = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
          StandardCharsets.US_ASCII)).readLine();
      assertEquals("HTTP/1.1 413 Request Entity Too Large", status);
    }
    assertEquals(String.valueOf(OpenAiServer.DEFAULT_REQUEST_SECONDS), System.getProperty(OpenAiServer.REQUEST_TIME_PROPERTY));
    assertEquals(String.valueOf(OpenAiServer.DEFAULT_MAX_CONNECTIONS), System.getProperty(OpenAiServer.MAX_CONNECTIONS_PROPERTY));
  }

  /**
   * Message errors name the message 0-based as messages[i] (also the template's role-order errors);
   * a user or system message needs its content, an assistant message may leave it out or null.
   */
  @Test
  void messageErrorsNameTheMessageAndUserContentIsRequired() throws Exception {
    String[][] refused = {
      {"[{\"role\": \"user\"}]", "messages[0].content", "required in a user message"},
      {"[{\"role\": \"user\", \"content\": null}]", "messages[0].content", "required in a user message"},
      {"[{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"developer\"}]", "messages[1].content",
          "required in a developer message"},
      {"[{\"role\": \"user\", \"content\": 5}]", "messages[0].content", "string or an array of text parts"},
      {"[null]", "messages[0]", "must be a message object"},
      {"[\"hi\"]", "messages[0]", "must be a message object"},
      {"[{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": \"b\"}]", "messages[1]",
          "messages[1] has role \"user\""},
      {"[{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"assistant\", \"content\": \"a\"}]",
          "messages[1]", "messages[1] has role \"assistant\""},
      {"[{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"system\", \"content\": \"s\"}]", "messages[1]",
          "messages[1]: a system message is only allowed first"},
    };
    for (String[] r : refused) {
      Reply reply = postJson("/v1/chat/completions", "{\"max_tokens\": 2, \"messages\": " + r[0] + "}");
      assertError(reply, 400, "invalid_value", r[1]);
      String message = reply.body.at("/error/message").asText();
      assertTrue(message.contains(r[2]), r[0] + ": " + message);
      assertFalse(message.contains("'role' and 'content'") || message.matches(".*message \\d.*"), message);
    }
    for (String assistant : List.of("{\"role\": \"assistant\"}", "{\"role\": \"assistant\", \"content\": null}")) {
      Reply reply = postJson("/v1/chat/completions", "{\"max_tokens\": 2, \"messages\": [{\"role\": \"user\", "
          + "\"content\": \"a\"}, " + assistant + ", {\"role\": \"user\", \"content\": \"b\"}]}");
      assertEquals(200, reply.status, reply.body.toString());
    }
  }

  /** logit_bias: +100 forces a token, -100 bans the one greedy decoding would pick. */
  @Test
  void logitBiasForcesAndBansTokens() throws Exception {
    String request = "{\"prompt\": \"abc\", \"max_tokens\": 4, \"temperature\": 0";
    String plain = postJson("/v1/completions", request + "}").body.at("/choices/0/text").asText();
    assertEquals(4, plain.length(), plain);
    int forced = CharCodec.id('Q');
    String forcedText = postJson("/v1/completions", request + ", \"logit_bias\": {\"" + forced + "\": 100}}")
        .body.at("/choices/0/text").asText();
    assertEquals("QQQQ", forcedText);
    int first = CharCodec.id(plain.charAt(0));
    String banned = postJson("/v1/completions", request + ", \"logit_bias\": {\"" + first + "\": -100}}")
        .body.at("/choices/0/text").asText();
    assertEquals(4, banned.length(), banned);
    assertTrue(banned.indexOf(plain.charAt(0)) < 0, plain + " / " + banned);
  }

  /**
   * Chat log-probabilities: one entry per generated token, in OpenAI's shape, the greedy token
   * first among its alternatives; streamed, the same entries arrive with the chunks of their text.
   */
  @Test
  void chatLogprobsComeWholeAndStreamed() throws Exception {
    String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi there\"}], \"max_tokens\": 6, "
        + "\"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 2";
    Reply reply = postJson("/v1/chat/completions", body + "}");
    assertEquals(200, reply.status, reply.body.toString());
    String content = reply.body.at("/choices/0/message/content").asText();
    JsonNode entries = reply.body.at("/choices/0/logprobs/content");
    assertEquals(reply.body.at("/usage/completion_tokens").asInt(), entries.size(), reply.body.toString());
    StringBuilder joined = new StringBuilder();
    for (JsonNode entry : entries) {
      String token = entry.get("token").asText();
      joined.append(token);
      assertTrue(entry.get("logprob").asDouble() <= 0);
      StringBuilder fromBytes = new StringBuilder();
      for (JsonNode b : entry.get("bytes")) {
        fromBytes.append((char) b.asInt()); // the fixture's characters are all below U+0100
      }
      assertEquals(new String(token.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1),
          fromBytes.toString());
      JsonNode top = entry.get("top_logprobs");
      assertEquals(2, top.size());
      assertEquals(token, top.get(0).get("token").asText());
      assertEquals(entry.get("logprob").asDouble(), top.get(0).get("logprob").asDouble());
      assertTrue(top.get(0).get("logprob").asDouble() >= top.get(1).get("logprob").asDouble());
    }
    assertEquals(content, joined.toString());

    Sse sse = postStream("/v1/chat/completions", body + ", \"stream\": true}");
    assertEquals(200, sse.status);
    List<JsonNode> streamed = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    for (String event : sse.events.subList(0, sse.events.size() - 1)) {
      JsonNode choice = JSON.readTree(event).at("/choices/0");
      text.append(choice.at("/delta/content").asText(""));
      JsonNode logprobs = choice.get("logprobs");
      if (logprobs != null && !logprobs.isNull()) {
        logprobs.get("content").forEach(streamed::add);
      }
    }
    assertEquals(content, text.toString());
    assertEquals(List.copyOf(entries.valueStream().toList()), streamed);
  }

  /** Completions log-probabilities: tokens, their log-probabilities, alternatives and text offsets. */
  @Test
  void completionLogprobsListTokensAlternativesAndOffsets() throws Exception {
    Reply reply = postJson("/v1/completions",
        "{\"prompt\": \"abc\", \"max_tokens\": 5, \"temperature\": 0, \"logprobs\": 3}");
    assertEquals(200, reply.status, reply.body.toString());
    String text = reply.body.at("/choices/0/text").asText();
    JsonNode logprobs = reply.body.at("/choices/0/logprobs");
    assertEquals(5, logprobs.get("tokens").size());
    for (int i = 0; i < 5; i++) {
      String token = logprobs.get("tokens").get(i).asText();
      assertEquals(String.valueOf(text.charAt(i)), token);
      assertEquals(i, logprobs.get("text_offset").get(i).asInt());
      JsonNode top = logprobs.get("top_logprobs").get(i);
      assertTrue(top.size() >= 3 && top.size() <= 4, top.toString());
      assertEquals(logprobs.get("token_logprobs").get(i).asDouble(), top.get(token).asDouble());
      for (JsonNode alternative : top) {
        assertTrue(alternative.asDouble() <= logprobs.get("token_logprobs").get(i).asDouble(), "greedy: " + top);
      }
    }
    Reply none = postJson("/v1/completions", "{\"prompt\": \"abc\", \"max_tokens\": 5, \"temperature\": 0}");
    assertTrue(none.body.at("/choices/0/logprobs").isNull());
    assertEquals(text, none.body.at("/choices/0/text").asText());
  }

  /**
   * Scoring a prompt as evaluation harnesses do: token ids in, echo, max_tokens 0, logprobs; each
   * prompt token after the first gets its log-probability given the ones before it (checked
   * against the model's logits for the whole prompt).
   */
  @Test
  void echoWithLogprobsScoresAPromptOfTokenIds() throws Exception {
    // No BOS: the test codec spells special tokens out, a real tokenizer writes nothing for them.
    int[] prompt = {CharCodec.id('a'), CharCodec.id('b'), CharCodec.id('c'), CharCodec.id('a')};
    Reply reply = postJson("/v1/completions", "{\"prompt\": " + java.util.Arrays.toString(prompt)
        + ", \"max_tokens\": 0, \"echo\": true, \"logprobs\": 1, \"temperature\": 0}");
    assertEquals(200, reply.status, reply.body.toString());
    assertEquals("abca", reply.body.at("/choices/0/text").asText());
    assertEquals("length", reply.body.at("/choices/0/finish_reason").asText());
    assertEquals(0, reply.body.at("/usage/completion_tokens").asInt());
    assertEquals(prompt.length, reply.body.at("/usage/prompt_tokens").asInt());
    JsonNode logprobs = reply.body.at("/choices/0/logprobs");
    assertEquals(prompt.length, logprobs.get("tokens").size());
    assertTrue(logprobs.get("token_logprobs").get(0).isNull());
    assertTrue(logprobs.get("top_logprobs").get(0).isNull());
    assertEquals("[0,1,2,3]", logprobs.get("text_offset").toString());
    float[] all = model.forwardAll(model.newState(), prompt);
    int vocab = model.config().vocabSize();
    for (int i = 1; i < prompt.length; i++) {
      double expected = Reference.logprob(all, (i - 1) * vocab, vocab, prompt[i]);
      assertEquals(expected, logprobs.get("token_logprobs").get(i).asDouble(), 1e-4, "prompt token " + i);
      JsonNode top = logprobs.get("top_logprobs").get(i);
      assertEquals(expected, top.get(logprobs.get("tokens").get(i).asText()).asDouble(), 1e-4);
      assertTrue(top.size() <= 2, top.toString());
    }
  }

  /** Echo with generation: the prompt's text, then the answer; the scored prompt tokens, then the generated ones. */
  @Test
  void echoPutsThePromptBeforeTheAnswerWholeAndStreamed() throws Exception {
    int[] prompt = {CharCodec.id('a'), CharCodec.id('b'), CharCodec.id('c')}; // no BOS: see above
    String body = "{\"prompt\": " + java.util.Arrays.toString(prompt)
        + ", \"max_tokens\": 3, \"echo\": true, \"logprobs\": 0, \"temperature\": 0";
    String answer = Reference.greedy(model, CODEC, prompt, 3, List.of()).text();
    Reply reply = postJson("/v1/completions", body + "}");
    assertEquals(200, reply.status, reply.body.toString());
    assertEquals("abc" + answer, reply.body.at("/choices/0/text").asText());
    JsonNode logprobs = reply.body.at("/choices/0/logprobs");
    assertEquals(3 + 3, logprobs.get("tokens").size(), logprobs.toString());
    assertEquals("[0,1,2,3,4,5]", logprobs.get("text_offset").toString());

    Sse sse = postStream("/v1/completions", body + ", \"stream\": true}");
    StringBuilder text = new StringBuilder();
    List<JsonNode> offsets = new ArrayList<>();
    for (String event : sse.events.subList(0, sse.events.size() - 1)) {
      JsonNode choice = JSON.readTree(event).at("/choices/0");
      text.append(choice.get("text").asText());
      if (!choice.get("logprobs").isNull()) {
        choice.at("/logprobs/text_offset").forEach(offsets::add);
      }
    }
    assertEquals("abc" + answer, text.toString());
    assertEquals(logprobs.get("text_offset").toString(), offsets.toString().replace(" ", ""));
    // Without logprobs, the echo comes at once.
    Reply plain = postJson("/v1/completions", "{\"prompt\": \"abc\", \"max_tokens\": 0, \"echo\": true}");
    assertEquals("abc", plain.body.at("/choices/0/text").asText());
    assertTrue(plain.body.at("/choices/0/logprobs").isNull());
  }

  /** Several prompts in one request: one choice each, in order, whole and streamed; usage adds up. */
  @Test
  void severalPromptsGiveOneChoiceEach() throws Exception {
    List<String> prompts = List.of("abc", "xyz", "hello");
    String body = "{\"prompt\": [\"abc\", \"xyz\", \"hello\"], \"max_tokens\": 4, \"temperature\": 0";
    Reply reply = postJson("/v1/completions", body + "}");
    assertEquals(200, reply.status, reply.body.toString());
    int promptTokens = 0;
    for (int i = 0; i < prompts.size(); i++) {
      int[] tokens = CODEC.encode(prompts.get(i), true);
      promptTokens += tokens.length;
      assertEquals(i, reply.body.at("/choices/" + i + "/index").asInt());
      assertEquals(Reference.greedy(model, CODEC, tokens, 4, List.of()).text(),
          reply.body.at("/choices/" + i + "/text").asText(), "choice " + i);
    }
    assertEquals(promptTokens, reply.body.at("/usage/prompt_tokens").asInt());

    Sse sse = postStream("/v1/completions", body + ", \"stream\": true}");
    StringBuilder[] texts = {new StringBuilder(), new StringBuilder(), new StringBuilder()};
    int finished = 0;
    for (String event : sse.events.subList(0, sse.events.size() - 1)) {
      JsonNode choice = JSON.readTree(event).at("/choices/0");
      texts[choice.get("index").asInt()].append(choice.get("text").asText());
      finished += choice.get("finish_reason").isNull() ? 0 : 1;
    }
    assertEquals(3, finished);
    for (int i = 0; i < prompts.size(); i++) {
      assertEquals(reply.body.at("/choices/" + i + "/text").asText(), texts[i].toString());
    }
  }

  /**
   * n: several choices per prompt, sampled independently (choice k with seed + k, so a request
   * with a seed repeats), indexed prompt by prompt; greedy ones are all alike; streamed choices
   * arrive under their index.
   */
  @Test
  void nGivesSeveralIndependentChoices() throws Exception {
    String chat = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 8, \"n\": 3, "
        + "\"temperature\": 1.5, \"seed\": 77";
    Reply first = postJson("/v1/chat/completions", chat + "}");
    assertEquals(200, first.status, first.body.toString());
    assertEquals(3, first.body.get("choices").size());
    java.util.Set<String> answers = new java.util.HashSet<>();
    for (int i = 0; i < 3; i++) {
      assertEquals(i, first.body.at("/choices/" + i + "/index").asInt());
      answers.add(first.body.at("/choices/" + i + "/message/content").asText());
    }
    assertTrue(answers.size() > 1, "three samples at temperature 1.5 should not all agree: " + answers);
    assertEquals(first.body.get("choices"), postJson("/v1/chat/completions", chat + "}").body.get("choices"));
    int completion = 0;
    for (JsonNode choice : first.body.get("choices")) {
      completion += CODEC.encode(choice.at("/message/content").asText(), false).length;
    }
    assertTrue(first.body.at("/usage/completion_tokens").asInt() >= completion);
    // The prompt is counted once, however many choices are drawn from it (as OpenAI counts it).
    int promptTokens = postJson("/v1/chat/completions", chat.replace("\"n\": 3", "\"n\": 1") + "}")
        .body.at("/usage/prompt_tokens").asInt();
    assertEquals(promptTokens, first.body.at("/usage/prompt_tokens").asInt(), first.body.toString());

    Sse sse = postStream("/v1/chat/completions", chat + ", \"stream\": true}");
    StringBuilder[] texts = {new StringBuilder(), new StringBuilder(), new StringBuilder()};
    for (String event : sse.events.subList(0, sse.events.size() - 1)) {
      JsonNode choice = JSON.readTree(event).at("/choices/0");
      texts[choice.get("index").asInt()].append(choice.at("/delta/content").asText(""));
    }
    for (int i = 0; i < 3; i++) {
      assertEquals(first.body.at("/choices/" + i + "/message/content").asText(), texts[i].toString());
    }

    Reply greedy = postJson("/v1/completions", "{\"prompt\": [\"ab\", \"cd\"], \"max_tokens\": 3, \"n\": 2, \"temperature\": 0}");
    assertEquals(4, greedy.body.get("choices").size());
    assertEquals(greedy.body.at("/choices/0/text"), greedy.body.at("/choices/1/text"));
    assertEquals(greedy.body.at("/choices/2/text"), greedy.body.at("/choices/3/text"));
    assertEquals(CODEC.encode("ab", true).length + CODEC.encode("cd", true).length,
        greedy.body.at("/usage/prompt_tokens").asInt(), "two prompts, each counted once");
    assertEquals(Reference.greedy(model, CODEC, CODEC.encode("cd", true), 3, List.of()).text(),
        greedy.body.at("/choices/3/text").asText());
  }

  /**
   * response_format json_object: whatever the (random) model prefers, every answer that ends with
   * "stop" is one JSON object, and one that runs out of tokens is a prefix of one (it never holds a
   * byte JSON forbids there). The bias on '}' and '"' only makes endings likelier.
   */
  @Test
  void jsonModeAnswersParseAsObjects() throws Exception {
    String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Give JSON\"}], \"max_tokens\": 120, "
        + "\"n\": 6, \"temperature\": 1, \"seed\": 5, \"response_format\": {\"type\": \"json_object\"}, "
        + "\"logit_bias\": {\"" + CharCodec.id('}') + "\": 4, \"" + CharCodec.id('"') + "\": 2}}";
    Reply reply = postJson("/v1/chat/completions", body);
    assertEquals(200, reply.status, reply.body.toString());
    int stopped = 0;
    for (JsonNode choice : reply.body.get("choices")) {
      String content = choice.at("/message/content").asText();
      assertTrue(content.stripLeading().startsWith("{"), content);
      if (choice.get("finish_reason").asText().equals("stop")) {
        assertTrue(JSON.readTree(content).isObject(), content);
        stopped++;
      } else {
        assertEquals("length", choice.get("finish_reason").asText());
      }
    }
    assertTrue(stopped >= 1, "no answer closed its object: " + reply.body);
    Reply plain = postJson("/v1/chat/completions", body.replace("json_object", "text"));
    assertEquals(200, plain.status);
    assertNotEquals(reply.body.get("choices"), plain.body.get("choices"));
  }

  /**
   * response_format json_schema: answers that end by themselves are objects the schema accepts
   * (required properties in order, types, enums), checked with the test's own validator.
   */
  @Test
  void jsonSchemaAnswersFollowTheSchema() throws Exception {
    String schema = "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}, "
        + "\"n\": {\"type\": \"integer\"}, \"kind\": {\"enum\": [\"a\", \"b\"]}}, \"required\": [\"name\", \"kind\"]}";
    String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Give JSON\"}], \"max_tokens\": 60, "
        + "\"n\": 6, \"temperature\": 1, \"seed\": 9, \"response_format\": {\"type\": \"json_schema\", "
        + "\"json_schema\": {\"name\": \"thing\", \"strict\": true, \"schema\": " + schema + "}}, "
        + "\"logit_bias\": {\"" + CharCodec.id('"') + "\": 6, \"" + CharCodec.id('}') + "\": 3}}";
    Reply reply = postJson("/v1/chat/completions", body);
    assertEquals(200, reply.status, reply.body.toString());
    int stopped = 0;
    for (JsonNode choice : reply.body.get("choices")) {
      String content = choice.at("/message/content").asText();
      if (choice.get("finish_reason").asText().equals("stop")) {
        JsonNode value = JSON.readTree(content);
        assertTrue(value.has("name") && value.get("name").isTextual(), content);
        assertTrue(value.get("kind").asText().matches("a|b"), content);
        assertTrue(!value.has("n") || value.get("n").isIntegralNumber(), content);
        value.fieldNames().forEachRemaining(name -> assertTrue(name.matches("name|n|kind"), content));
        stopped++;
      }
    }
    assertTrue(stopped >= 1, "no answer closed its object: " + reply.body);
  }

  /**
   * A schema nested deeper than JSON mode can open (JsonConstraint.MAX_DEPTH) is a 400 naming the
   * limit, up front, rather than answers cut at that depth with finish_reason "length".
   */
  @Test
  void jsonSchemaNestedBeyondTheDepthLimitIsRefused() throws Exception {
    int levels = dev.rgemma.sampling.JsonConstraint.MAX_DEPTH + 1;
    String schema = "{\"type\": \"object\", \"properties\": {\"a\": ".repeat(levels) + "{\"type\": \"string\"}"
        + "}}".repeat(levels);
    Reply reply = postJson("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], "
        + "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"deep\", \"schema\": "
        + schema + "}}}");
    assertError(reply, 400, "invalid_value", "response_format");
    String message = reply.body.at("/error/message").asText();
    assertTrue(message.contains("at most " + dev.rgemma.sampling.JsonConstraint.MAX_DEPTH + " levels"), message);
  }

  /** /tokenize and /detokenize, in vLLM's and llama.cpp's field names. */
  @Test
  void tokenizeAndDetokenize() throws Exception {
    Reply tokens = postJson("/tokenize", "{\"prompt\": \"abc\"}");
    assertEquals(200, tokens.status, tokens.body.toString());
    assertEquals(java.util.Arrays.toString(CODEC.encode("abc", true)).replace(" ", ""), tokens.body.get("tokens").toString());
    assertEquals(4, tokens.body.get("count").asInt());
    Reply plain = postJson("/tokenize", "{\"content\": \"abc\", \"add_special\": false}");
    assertEquals(java.util.Arrays.toString(CODEC.encode("abc", false)).replace(" ", ""), plain.body.get("tokens").toString());
    Reply text = postJson("/detokenize", "{\"tokens\": " + plain.body.get("tokens") + "}");
    assertEquals("abc", text.body.get("prompt").asText());
    assertEquals("abc", text.body.get("content").asText());
    assertError(postJson("/tokenize", "{\"prompt\": 5}"), 400, "invalid_value", "prompt");
    assertError(postJson("/detokenize", "{\"tokens\": [1, 320]}"), 400, "invalid_value", "tokens");
    assertError(postJson("/detokenize", "{\"tokens\": \"x\"}"), 400, "invalid_value", "tokens");
    assertError(get("/tokenize"), 405, "method_not_allowed", null);
  }

  /** Fields that would change the answer and are not implemented fail by name; their neutral values pass. */
  @Test
  void unsupportedFeaturesAreRefusedNotIgnored() throws Exception {
    String chat = "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 2, ";
    String completion = "{\"prompt\": \"x\", \"max_tokens\": 2, ";
    String[][] refused = {
      {chat, "\"logprobs\": 2}", "logprobs"},
      {chat, "\"top_logprobs\": 3}", "top_logprobs"},
      {chat, "\"logprobs\": true, \"top_logprobs\": 21}", "top_logprobs"},
      {chat, "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {}}}", "response_format"},
      {chat, "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"schema\": {\"type\": \"object\", "
          + "\"properties\": {\"a\": {\"type\": \"string\", \"pattern\": \"x\"}}}}}}", "response_format"},
      {chat, "\"response_format\": \"json\"}", "response_format"},
      {chat, "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]}", "tools"},
      {chat, "\"functions\": [{\"name\": \"f\"}]}", "functions"},
      {completion, "\"logprobs\": 21}", "logprobs"},
      {completion, "\"logprobs\": true}", "logprobs"},
      {completion, "\"top_logprobs\": 2}", "top_logprobs"},
      {chat, "\"echo\": true}", "echo"},
      {completion, "\"max_tokens\": 0}", "max_tokens"},
      {completion.replace("\"x\"", "[]"), "\"echo\": true}", "prompt"},
      {completion.replace("\"x\"", "[[2, \"a\"]]"), "\"echo\": true}", "prompt"},
      {completion.replace("\"x\"", "[2, -1]"), "\"echo\": true}", "prompt"},
      {completion.replace("\"x\"", "[2, 320]"), "\"echo\": true}", "prompt"},
      {completion.replace("\"x\"", "[{}]"), "\"echo\": true}", "prompt"},
      {completion, "\"best_of\": 3}", "best_of"},
      {completion, "\"suffix\": \"end\"}", "suffix"},
      {completion, "\"logit_bias\": [1]}", "logit_bias"},
      {completion, "\"logit_bias\": {\"a\": 5}}", "logit_bias"},
      {completion, "\"logit_bias\": {\"-1\": 5}}", "logit_bias"},
      {completion, "\"logit_bias\": {\"9\": 101}}", "logit_bias"},
      {completion, "\"logit_bias\": {\"9\": \"x\"}}", "logit_bias"},
      {completion, "\"logit_bias\": {\"320\": 1}}", "logit_bias"},
    };
    for (String[] r : refused) {
      String path = r[0].startsWith("{\"messages\"") ? "/v1/chat/completions" : "/v1/completions";
      assertError(postJson(path, r[0] + r[1]), 400, "invalid_value", r[2]);
    }
    String neutral = "\"logit_bias\": {}, \"logprobs\": false, \"top_logprobs\": 0, \"echo\": false, "
        + "\"best_of\": 1, \"suffix\": null, \"response_format\": {\"type\": \"text\"}, \"tools\": [], "
        + "\"functions\": null}";
    assertEquals(200, postJson("/v1/chat/completions", chat + neutral).status);
    assertEquals(200, postJson("/v1/completions", completion + "\"logprobs\": 0, " + neutral).status);
  }

  @Test
  void aFullQueueAnswers503AndADisconnectedStreamFreesItsSlot() throws Exception {
    ServerOptions options = new ServerOptions("127.0.0.1", 0, MODEL, 1, 0, 8, 1 << 20, 0, 10, 100000000, line -> {});
    try (OpenAiServer small = OpenAiServer.start(options, model, CODEC)) {
      String url = small.baseUri() + "/v1/chat/completions";
      HttpRequest endless = HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(
          "{\"messages\": [{\"role\": \"user\", \"content\": \"go\"}], \"stream\": true, \"max_tokens\": 100000000, "
              + noStopTokens() + "}"))
          .header("Content-Type", "application/json").build();
      HttpResponse<InputStream> stream = http.send(endless, HttpResponse.BodyHandlers.ofInputStream());
      assertEquals(200, stream.statusCode());
      InputStream body = stream.body();
      body.readNBytes(200); // generation is under way
      HttpResponse<String> busy = http.send(HttpRequest.newBuilder(URI.create(url)).POST(
          HttpRequest.BodyPublishers.ofString("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(503, busy.statusCode());
      assertEquals("1", busy.headers().firstValue("Retry-After").orElse(""));
      assertEquals("server_busy", JSON.readTree(busy.body()).at("/error/code").asText());
      body.close(); // the client leaves mid-stream
      BatchSchedulerTest.awaitTrue(() -> small.scheduler().active() == 0);
      HttpResponse<String> after = http.send(HttpRequest.newBuilder(URI.create(url)).POST(
          HttpRequest.BodyPublishers.ofString("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, after.statusCode());
    }
  }

  /**
   * Requests under way when the server closes end with 503 "server_shutting_down" (a stream: an
   * error event of that code, then [DONE]), logged as such, not as a 500 internal error.
   */
  @Test
  void requestsInFlightAtShutdownGet503() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    ServerOptions options = new ServerOptions("127.0.0.1", 0, MODEL, 1, 4, 8, 1 << 20, 0, 10, 100000000, lines::add);
    OpenAiServer closing = OpenAiServer.start(options, model, CODEC);
    String url = closing.baseUri() + "/v1/completions";
    CompletableFuture<HttpResponse<String>> whole = http.sendAsync(HttpRequest.newBuilder(URI.create(url))
        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"go\", \"max_tokens\": 100000000, " + noStopTokens() + "}"))
        .build(),
        HttpResponse.BodyHandlers.ofString());
    BatchSchedulerTest.awaitTrue(() -> closing.scheduler().active() == 1);
    CompletableFuture<HttpResponse<String>> streamed = http.sendAsync(HttpRequest.newBuilder(URI.create(url))
        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"go\", \"stream\": true}")).build(),
        HttpResponse.BodyHandlers.ofString());
    BatchSchedulerTest.awaitTrue(() -> closing.scheduler().queued() == 1);
    closing.close();
    HttpResponse<String> answer = whole.get(30, TimeUnit.SECONDS);
    assertEquals(503, answer.statusCode(), answer.body());
    JsonNode error = JSON.readTree(answer.body()).get("error");
    assertEquals("server_shutting_down", error.get("code").asText());
    assertTrue(error.get("message").asText().contains("shutting down"), answer.body());
    HttpResponse<String> stream = streamed.get(30, TimeUnit.SECONDS);
    assertEquals(200, stream.statusCode());
    assertTrue(stream.body().contains("\"code\":\"server_shutting_down\"") && stream.body().endsWith("data: [DONE]\n\n"),
        stream.body());
    BatchSchedulerTest.awaitTrue(() -> lines.size() == 2);
    assertTrue(lines.stream().anyMatch(line -> line.contains("status=503") && line.contains("shutting down")),
        String.join("\n", lines));
    assertTrue(lines.stream().noneMatch(line -> line.contains("status=500") || line.contains("Exception")),
        String.join("\n", lines));
  }

  @Test
  void metricsAreInPrometheusTextFormat() throws Exception {
    postJson("/v1/completions", "{\"prompt\": \"m\", \"max_tokens\": 2}");
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
    for (String line : response.body().split("\n")) {
      assertTrue(line.startsWith("# HELP ") || line.startsWith("# TYPE ")
          || line.matches("rgemma_[a-z_]+(\\{([a-z_]+=\"[^\"]*\",?)+})? -?[0-9.eE+-]+"), "not a Prometheus line: " + line);
    }
    assertTrue(response.body().contains("rgemma_requests_total{endpoint=\"/v1/completions\",status=\"200\"}"));
    assertTrue(metric("rgemma_completion_tokens_total") >= 2);
    assertTrue(response.body().contains("\nrgemma_queue_depth 0\n"));
  }

  /**
   * A {@code logit_bias} member that keeps the stop tokens from being sampled, so that a request
   * meant to run until it is cancelled cannot end early by drawing one.
   */
  private String noStopTokens() {
    java.util.List<String> entries = new java.util.ArrayList<>();
    if (model.config().eosTokenId() >= 0) {
      entries.add("\"" + model.config().eosTokenId() + "\": -100");
    }
    CODEC.specialToken("<end_of_turn>").ifPresent(id -> entries.add("\"" + id + "\": -100"));
    return "\"logit_bias\": {" + String.join(", ", entries) + "}";
  }

  // --- raw HTTP helpers ---

  record Reply(int status, JsonNode body, java.net.http.HttpHeaders headers) {}

  record Sse(int status, List<String> events) {}

  static String chatBody(List<TextCodec.Message> messages, int maxTokens) throws Exception {
    var body = JSON.createObjectNode().put("model", MODEL).put("temperature", 0).put("max_tokens", maxTokens);
    var array = body.putArray("messages");
    for (TextCodec.Message m : messages) {
      array.addObject().put("role", m.role()).put("content", m.content());
    }
    return JSON.writeValueAsString(body);
  }

  static Reply postJson(String path, String body) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + path))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    return new Reply(response.statusCode(), JSON.readTree(response.body()), response.headers());
  }

  static Reply get(String path) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
        HttpResponse.BodyHandlers.ofString());
    return new Reply(response.statusCode(), JSON.readTree(response.body()), response.headers());
  }

  static Sse postStream(String path, String body) throws Exception {
    HttpResponse<java.util.stream.Stream<String>> response = http.send(
        HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofLines());
    List<String> events = new ArrayList<>();
    response.body().filter(line -> line.startsWith("data: ")).forEach(line -> events.add(line.substring(6)));
    return new Sse(response.statusCode(), events);
  }

  static long metric(String name) throws Exception {
    String text = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    for (String line : text.split("\n")) {
      if (line.startsWith(name + " ")) {
        return (long) Double.parseDouble(line.substring(name.length() + 1));
      }
    }
    throw new AssertionError("no metric " + name + " in\n" + text);
  }

  static void assertError(Reply reply, int status, String code, String param) {
    assertEquals(status, reply.status, reply.body.toString());
    JsonNode error = reply.body.get("error");
    assertTrue(error != null && error.isObject(), "OpenAI error shape expected: " + reply.body);
    assertFalse(error.get("message").asText().isEmpty());
    assertTrue(error.get("type").isTextual());
    assertEquals(code, error.get("code").asText());
    if (param == null) {
      assertTrue(error.get("param").isNull(), reply.body.toString());
    } else {
      assertEquals(param, error.get("param").asText());
    }
  }
}
