package dev.rgemma.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * 32 concurrent streaming clients on loopback, a quarter of which leave mid-stream, plus malformed
 * requests: every finished stream is whole and well formed (greedy ones equal to each sequence
 * run alone), and afterwards no slot is held and the server still answers. Bounded in time.
 */
class ServerLoadTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int CLIENTS = 32;
  static final String MODEL = "tiny-a";

  record Outcome(int client, String text, String finish, int completionTokens) {}

  @Test
  void manyStreamingClientsSomeLeavingPlusMalformedRequests() throws Exception {
    CharCodec codec = new CharCodec();
    List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (RecurrentGemmaModel model = Reference.tinyModel();
        OpenAiServer server = OpenAiServer.start(new ServerOptions("127.0.0.1", 0, MODEL, 8, 64, 16, 1 << 16,
            1 << 24, 16, 1_000_000, log::add), model, codec); // the leaving clients ask for 1 000 000
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10)).build();
      URI chat = URI.create(server.baseUri() + "/v1/chat/completions");
      SplittableRandom random = new SplittableRandom(32);
      List<Future<Outcome>> streams = new ArrayList<>();
      List<ObjectNode> bodies = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        boolean leaves = i % 4 == 0;
        boolean greedy = i % 2 == 1;
        ObjectNode body = JSON.createObjectNode().put("model", MODEL).put("stream", true)
            .put("max_tokens", leaves ? 1_000_000 : 4 + random.nextInt(30))
            .put("temperature", greedy ? 0 : 0.9).put("seed", i);
        body.putObject("stream_options").put("include_usage", true);
        body.putArray("messages").addObject().put("role", "user").put("content", "client " + i + " "
            + "x".repeat(random.nextInt(60)));
        bodies.add(body);
        int client = i;
        streams.add(clients.submit(() -> stream(http, chat, client, body, leaves)));
      }
      List<Future<Integer>> malformed = new ArrayList<>();
      List<String> bad = List.of("{", "{\"messages\": 5}", "{\"messages\": [{\"role\": \"user\"}], \"seed\": 1.5}",
          "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": -1}", "null",
          "{\"messages\": [{\"role\": \"user\", \"content\": \"" + "y".repeat(70_000) + "\"}]}");
      for (String body : bad) {
        malformed.add(clients.submit(() -> http.send(HttpRequest.newBuilder(chat)
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString())
            .statusCode()));
      }
      malformed.add(clients.submit(() -> http.send(HttpRequest.newBuilder(chat).DELETE().build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()));

      for (Future<Integer> status : malformed) {
        int code = status.get(60, TimeUnit.SECONDS);
        assertTrue(code == 400 || code == 405 || code == 413, "malformed request answered " + code);
      }
      for (int i = 0; i < CLIENTS; i++) {
        Outcome outcome = streams.get(i).get(60, TimeUnit.SECONDS);
        if (i % 4 == 0) {
          continue;
        }
        int maxTokens = bodies.get(i).get("max_tokens").asInt();
        assertTrue(outcome.completionTokens <= maxTokens, "client " + i);
        assertEquals(outcome.completionTokens == maxTokens ? "length" : "stop", outcome.finish, "client " + i);
        assertEquals(outcome.completionTokens, codec.encode(outcome.text, false).length,
            "client " + i + ": the text holds every generated token");
        if (i % 2 == 1) {
          List<TextCodec.Message> messages = List.of(new TextCodec.Message("user",
              bodies.get(i).at("/messages/0/content").asText()));
          String alone = Reference.greedy(model, codec, Reference.chatPrompt(codec, messages), maxTokens,
              List.of()).text();
          assertEquals(alone, outcome.text, "client " + i + " (greedy) differs from its sequence run alone");
        }
      }
      BatchSchedulerTest.awaitTrue(() -> server.scheduler().active() == 0 && server.scheduler().queued() == 0);
      // Greedy, so that the answer is known: a sampled one may end after its first token.
      HttpResponse<String> after = http.send(HttpRequest.newBuilder(chat).POST(HttpRequest.BodyPublishers.ofString(
          "{\"messages\": [{\"role\": \"user\", \"content\": \"still there?\"}], \"max_tokens\": 3,"
              + " \"temperature\": 0}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, after.statusCode());
      String expected = Reference.greedy(model, codec, Reference.chatPrompt(codec,
          List.of(new TextCodec.Message("user", "still there?"))), 3, List.of()).text();
      JsonNode reply = JSON.readTree(after.body());
      assertEquals(expected, reply.at("/choices/0/message/content").asText());
      assertEquals(codec.encode(expected, false).length, reply.at("/usage/completion_tokens").asInt());
      // Every request is counted once it is closed, the streams that were left included.
      BatchSchedulerTest.awaitTrue(() -> server.metrics().requestCount("/v1/chat/completions", 200) == CLIENTS + 1);
      // One log line per request; the clients that left are logged as such.
      BatchSchedulerTest.awaitTrue(() -> log.size() == CLIENTS + 1 + bad.size() + 1);
      assertEquals(CLIENTS / 4, log.stream().filter(line -> line.contains("client gone after")).count(),
          String.join("\n", log));
    }
  }

  /** Reads one SSE stream and checks its shape; a leaving client closes it after two events. */
  private static Outcome stream(HttpClient http, URI chat, int client, ObjectNode body, boolean leaves)
      throws Exception {
    HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(chat)
        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode(), "client " + client);
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    List<String> events = new ArrayList<>();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      for (String line; (line = reader.readLine()) != null; ) {
        if (line.startsWith("data: ")) {
          events.add(line.substring(6));
          if (leaves && events.size() == 2) {
            return new Outcome(client, "", "left", 0); // closing the reader drops the connection
          }
        } else {
          assertTrue(line.isEmpty() || line.startsWith(":"), "client " + client + ": not SSE: " + line);
        }
      }
    }
    assertEquals("[DONE]", events.getLast(), "client " + client);
    String id = null;
    StringBuilder text = new StringBuilder();
    String finish = null;
    JsonNode usage = null;
    for (int e = 0; e < events.size() - 1; e++) {
      JsonNode chunk = JSON.readTree(events.get(e));
      assertEquals("chat.completion.chunk", chunk.get("object").asText());
      id = id == null ? chunk.get("id").asText() : id;
      assertEquals(id, chunk.get("id").asText(), "one id per stream");
      if (chunk.get("choices").isEmpty()) {
        assertTrue(finish != null && e == events.size() - 2, "usage comes last, after the finish reason");
        usage = chunk.get("usage");
        continue;
      }
      assertTrue(finish == null, "nothing after the finish reason but usage");
      JsonNode choice = chunk.at("/choices/0");
      if (e == 0) {
        assertEquals("assistant", choice.at("/delta/role").asText());
      }
      text.append(choice.at("/delta/content").asText(""));
      if (!choice.get("finish_reason").isNull()) {
        finish = choice.get("finish_reason").asText();
      }
    }
    assertTrue(usage != null && finish != null, "client " + client + ": incomplete stream " + events);
    assertEquals(usage.get("prompt_tokens").asInt() + usage.get("completion_tokens").asInt(),
        usage.get("total_tokens").asInt());
    return new Outcome(client, text.toString(), finish, usage.get("completion_tokens").asInt());
  }
}
