package dev.rgemma.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OpenAI-compatible HTTP server over one model: {@code POST /v1/chat/completions},
 * {@code POST /v1/completions}, {@code GET /v1/models}, {@code POST /tokenize},
 * {@code POST /detokenize}, {@code GET /health} and {@code GET /metrics}. The JDK's
 * {@link HttpServer}, one virtual thread per request; generation runs on the
 * {@link BatchScheduler}'s thread.
 */
public final class OpenAiServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = "/v1/chat/completions";
  private static final String COMPLETIONS = "/v1/completions";
  private static final String MODELS = "/v1/models";
  private static final long KEEP_ALIVE_SECONDS = 5;
  /** How the chat template's errors start: the refused message's place. */
  private static final java.util.regex.Pattern MESSAGE_PLACE = java.util.regex.Pattern.compile("messages\\[\\d+\\]");
  /**
   * At shutdown, how long the requests that were cut short have to send their 503 (or, for a
   * stream, its error event) before the connections close.
   */
  private static final int SHUTDOWN_GRACE_SECONDS = 2;
  /** How much of an oversized body is read (and dropped) before answering 413. */
  private static final long MAX_DRAIN_BYTES = 64L << 20;
  /** The JDK server's bound on the time to receive a request, in seconds. */
  static final String REQUEST_TIME_PROPERTY = "sun.net.httpserver.maxReqTime";
  static final int DEFAULT_REQUEST_SECONDS = 30;
  /** The JDK server's bound on open connections. */
  static final String MAX_CONNECTIONS_PROPERTY = "jdk.httpserver.maxConnections";
  static final int DEFAULT_MAX_CONNECTIONS = 1000;

  static {
    // Stream chunks are small writes: send each at once instead of waiting to fill a segment.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
    // A request must arrive whole (headers and body) within this many seconds, or its connection
    // is closed: without it, clients that send half a request and wait (by accident or to
    // exhaust the server) kept their connections open forever; thousands of them used up the
    // process's file descriptors. Generation starts only once the body is read, so long answers
    // are not affected. And at most this many connections are open at once; more are closed on
    // accept. -D on the command line overrides both (read once, when the JDK's server first loads).
    if (System.getProperty(REQUEST_TIME_PROPERTY) == null) {
      System.setProperty(REQUEST_TIME_PROPERTY, String.valueOf(DEFAULT_REQUEST_SECONDS));
    }
    if (System.getProperty(MAX_CONNECTIONS_PROPERTY) == null) {
      System.setProperty(MAX_CONNECTIONS_PROPERTY, String.valueOf(DEFAULT_MAX_CONNECTIONS));
    }
  }

  private final ServerOptions options;
  private final TextCodec codec;
  private final LogprobJson logprobJson;
  private final StateCache cache;
  private final Metrics metrics = new Metrics();
  private final BatchScheduler scheduler;
  private final HttpServer http;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final AtomicLong requestIds = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final long startedAt = System.currentTimeMillis() / 1000;

  private OpenAiServer(ServerOptions options, RecurrentGemmaModel model, TextCodec codec) throws IOException {
    this.options = options;
    this.codec = codec;
    this.logprobJson = new LogprobJson(codec);
    this.cache = new StateCache(options.cacheBytes());
    this.scheduler = new BatchScheduler(model, codec, cache, metrics, options.parallel(), options.queue(),
        options.prefillChunk());
    metrics.bind(scheduler, cache);
    try {
      this.http = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 128);
    } catch (IOException e) {
      scheduler.close();
      throw new IOException("cannot listen on " + options.host() + ":" + options.port() + ": " + e.getMessage(), e);
    }
    http.setExecutor(executor);
    http.createContext("/", this::handle);
  }

  /** Starts serving {@code model}; the caller keeps ownership of the model and closes it after the server. */
  public static OpenAiServer start(ServerOptions options, RecurrentGemmaModel model, TextCodec codec)
      throws IOException {
    OpenAiServer server = new OpenAiServer(options, model, codec);
    server.http.start();
    return server;
  }

  /** The port actually bound (useful with port 0). */
  public int port() {
    return http.getAddress().getPort();
  }

  /** {@code http://host:port}. */
  public URI baseUri() {
    return URI.create("http://" + options.host() + ":" + port());
  }

  public Metrics metrics() {
    return metrics;
  }

  public StateCache cache() {
    return cache;
  }

  public BatchScheduler scheduler() {
    return scheduler;
  }

  /**
   * Stops serving. The scheduler stops first, so that the requests under way end with a 503 "the
   * server is shutting down" (a stream: an error event and {@code [DONE]}), as do those that come
   * while the listener is closing; then the HTTP server gives them {@link #SHUTDOWN_GRACE_SECONDS}
   * to be written (it returns as soon as they are) and closes the connections.
   */
  @Override
  public void close() {
    if (closed.getAndSet(true)) {
      return;
    }
    scheduler.close();
    http.stop(SHUTDOWN_GRACE_SECONDS);
    executor.close();
  }

  /** The answer to a request that the shutdown cut short, or that came during it. */
  private static ApiException shuttingDown() {
    return new ApiException(503, "server_error", null, "server_shutting_down",
        "the server is shutting down; the request was not completed, send it again once the server is back");
  }

  /** {@link #shuttingDown()} as a whole answer, its connection closed after it. */
  private static ApiException shuttingDown(HttpExchange exchange) {
    exchange.getResponseHeaders().set("Connection", "close");
    return shuttingDown();
  }

  /** What the log line and metrics report about one request. */
  private static final class Call {
    final String id;
    final long start = System.nanoTime();
    String endpoint = "other";
    int status;
    boolean stream;
    int chunks; // text chunks streamed
    SequenceResult result;
    String note = "";

    Call(String id) {
      this.id = id;
    }
  }

  private void handle(HttpExchange exchange) {
    Call call = new Call("req-" + requestIds.incrementAndGet());
    String method = exchange.getRequestMethod();
    String path = exchange.getRequestURI().getPath();
    try {
      switch (path) {
        case "/health" -> {
          call.endpoint = path;
          requireMethod(exchange, "GET");
          sendJson(exchange, call, 200, JSON.createObjectNode().put("status", "ok"));
        }
        case "/metrics" -> {
          call.endpoint = path;
          requireMethod(exchange, "GET");
          send(exchange, call, 200, "text/plain; version=0.0.4; charset=utf-8",
              metrics.prometheusText().getBytes(StandardCharsets.UTF_8));
        }
        case MODELS -> {
          call.endpoint = path;
          requireMethod(exchange, "GET");
          ObjectNode list = JSON.createObjectNode().put("object", "list");
          list.putArray("data").add(modelObject());
          sendJson(exchange, call, 200, list);
        }
        case "/tokenize" -> {
          JsonNode body = postedBody(exchange, call, path);
          int[] tokens = codec.encode(RequestParser.textField(body, "prompt", "content"),
              RequestParser.addSpecialTokens(body));
          ObjectNode reply = JSON.createObjectNode().put("count", tokens.length);
          ArrayNode array = reply.putArray("tokens");
          for (int token : tokens) {
            array.add(token);
          }
          sendJson(exchange, call, 200, reply);
        }
        case "/detokenize" -> {
          JsonNode body = postedBody(exchange, call, path);
          int[] tokens = RequestParser.tokens(body, scheduler.vocabSize());
          String text = codec.decode(tokens);
          sendJson(exchange, call, 200, JSON.createObjectNode().put("prompt", text).put("content", text));
        }
        case CHAT, COMPLETIONS -> {
          call.endpoint = path;
          requireMethod(exchange, "POST");
          generate(exchange, call, path.equals(CHAT));
        }
        default -> {
          if (path.startsWith(MODELS + "/")) {
            call.endpoint = MODELS + "/{id}";
            requireMethod(exchange, "GET");
            requireModel(path.substring(MODELS.length() + 1));
            sendJson(exchange, call, 200, modelObject());
          } else {
            throw new ApiException(404, "invalid_request_error", null, "not_found",
                "no such endpoint: " + method + " " + path);
          }
        }
      }
    } catch (MethodsAllowed e) {
      try {
        call.status = 204;
        exchange.sendResponseHeaders(204, -1);
      } catch (IOException ignored) {
        call.note = "client gone";
      }
    } catch (ApiException e) {
      sendErrorQuietly(exchange, call, e);
    } catch (IOException e) {
      call.status = call.status == 0 ? 499 : call.status; // the client went away
      call.note = "client gone" + (call.stream ? " after " + call.chunks + " chunks" : "") + ": " + e.getMessage();
    } catch (RuntimeException e) {
      call.note = "internal error: " + e;
      sendErrorQuietly(exchange, call, new ApiException(500, "server_error", null, "internal_error",
          "internal error: " + e.getMessage()));
    } finally {
      exchange.close();
      metrics.request(call.endpoint, call.status);
      log(method, path, call);
    }
  }

  /** A POST endpoint's JSON body, for the served model (a request naming another is a 404). */
  private JsonNode postedBody(HttpExchange exchange, Call call, String path) throws IOException {
    call.endpoint = path;
    requireMethod(exchange, "POST");
    JsonNode body = readJson(exchange);
    requireModel(RequestParser.model(body));
    return body;
  }

  private void log(String method, String path, Call call) {
    StringBuilder line = new StringBuilder();
    line.append(call.id).append(' ').append(method).append(' ').append(path).append(" status=").append(call.status);
    if (call.result != null) {
      SequenceResult r = call.result;
      line.append(" stream=").append(call.stream)
          .append(" prompt_tokens=").append(r.promptTokens())
          .append(" cached_tokens=").append(r.cachedTokens())
          .append(" completion_tokens=").append(r.completionTokens())
          .append(" finish=").append(r.finishReason())
          .append(String.format(Locale.ROOT, " queue_ms=%.1f prefill_ms=%.1f decode_ms=%.1f",
              r.queueNanos() / 1e6, r.prefillNanos() / 1e6, r.decodeNanos() / 1e6));
    }
    line.append(String.format(Locale.ROOT, " total_ms=%.1f", (System.nanoTime() - call.start) / 1e6));
    if (!call.note.isEmpty()) {
      line.append(' ').append(call.note);
    }
    options.requestLog().accept(line.toString());
  }

  private ObjectNode modelObject() {
    return JSON.createObjectNode().put("id", options.modelId()).put("object", "model")
        .put("created", startedAt).put("owned_by", "rgemma");
  }

  private void requireModel(String model) {
    if (model != null && !model.equals(options.modelId())) {
      throw new ApiException(404, "invalid_request_error", "model", "model_not_found",
          "the model '" + model + "' does not exist; this server serves '" + options.modelId() + "'");
    }
  }

  /**
   * Lets the endpoint's method through, and HEAD where it is GET (answered as GET without a body,
   * as health probes expect); OPTIONS is answered 204 with the methods allowed; anything else 405.
   */
  private static void requireMethod(HttpExchange exchange, String allowed) {
    String method = exchange.getRequestMethod();
    boolean get = allowed.equals("GET");
    if (method.equals(allowed) || get && method.equals("HEAD")) {
      return;
    }
    String all = get ? "GET, HEAD, OPTIONS" : allowed + ", OPTIONS";
    exchange.getResponseHeaders().set("Allow", all);
    if (method.equals("OPTIONS")) {
      throw new MethodsAllowed();
    }
    throw new ApiException(405, "invalid_request_error", null, "method_not_allowed",
        method + " is not allowed on " + exchange.getRequestURI().getPath() + "; use " + allowed);
  }

  /** An OPTIONS request: answered 204 with its {@code Allow} header, which is already set. */
  private static final class MethodsAllowed extends RuntimeException {
    MethodsAllowed() {
      super(null, null, false, false);
    }
  }

  private void generate(HttpExchange exchange, Call call, boolean chat) throws IOException {
    JsonNode body = readJson(exchange);
    requireModel(RequestParser.model(body));
    RequestParser.Options opts =
        RequestParser.options(body, options.defaultMaxTokens(), options.maxTokensLimit(), chat);
    List<int[]> prompts = new ArrayList<>();
    List<String> texts = new ArrayList<>(); // each prompt's text; null for token ids (decoded once accepted)
    if (chat) {
      List<TextCodec.Message> messages = RequestParser.messages(body);
      String rendered;
      try {
        rendered = codec.renderChat(messages, true);
      } catch (IllegalArgumentException e) {
        // The template names the message it refuses first, as messages[i] (0-based): that is the param.
        java.util.regex.Matcher at = MESSAGE_PLACE.matcher(e.getMessage());
        throw ApiException.invalid(at.lookingAt() ? at.group() : "messages", e.getMessage());
      }
      prompts.add(codec.encode(rendered, true));
      texts.add("");
    } else {
      for (RequestParser.Prompt prompt : RequestParser.prompts(body)) {
        int[] tokens = prompt.tokens() != null ? prompt.tokens() : codec.encode(prompt.text(), true);
        prompts.add(tokens);
        texts.add(prompt.text());
      }
    }
    if (prompts.size() * opts.n() > RequestParser.MAX_CHOICES) {
      throw ApiException.invalid("n", "at most " + RequestParser.MAX_CHOICES + " choices per request (prompts x n), got "
          + prompts.size() + " x " + opts.n());
    }
    call.stream = opts.stream();
    Events events = new Events();
    List<BatchScheduler.Generation> generations = new ArrayList<>();
    try {
      try {
        // Choice p * n + k: prompt p, sampled with seed + k.
        for (int i = 0; i < prompts.size() * opts.n(); i++) {
          int[] prompt = prompts.get(i / opts.n());
          var sampling = opts.sampling().withSeed(opts.sampling().seed() + i % opts.n());
          generations.add(scheduler.submit(new GenerationRequest(prompt, opts.maxTokens(), sampling,
              opts.stop(), opts.logitBias(), opts.logprobs(), opts.echo() && opts.logprobs() >= 0, opts.json()),
              events.forChoice(i)));
        }
      } catch (QueueFullException e) {
        exchange.getResponseHeaders().set("Retry-After", "1");
        throw new ApiException(503, "server_error", null, "server_busy", e.getMessage());
      } catch (ShuttingDownException e) {
        throw shuttingDown(exchange);
      } catch (IllegalArgumentException e) {
        throw ApiException.invalid(e.getMessage().startsWith("logit bias") ? "logit_bias" : chat ? "messages" : "prompt",
            e.getMessage());
      }
      String id = (chat ? "chatcmpl-" : "cmpl-") + call.id.substring("req-".length());
      long created = System.currentTimeMillis() / 1000;
      // The echoed prompts: token ids are decoded here, once the scheduler has accepted them.
      List<String> echoes = new ArrayList<>();
      for (int p = 0; p < prompts.size(); p++) {
        echoes.add(!opts.echo() ? "" : texts.get(p) != null ? texts.get(p) : codec.decode(prompts.get(p)));
      }
      List<Choice> choices = new ArrayList<>();
      for (int i = 0; i < prompts.size() * opts.n(); i++) {
        choices.add(new Choice(echoes.get(i / opts.n()), i % opts.n() == 0));
      }
      if (opts.stream()) {
        stream(exchange, call, events, chat, id, created, opts, choices);
      } else {
        whole(exchange, call, events, chat, id, created, opts.logprobs() >= 0, choices);
      }
    } finally {
      for (BatchScheduler.Generation generation : generations) {
        generation.cancel(); // no-op when finished; frees the slot when the client went away
      }
    }
  }

  /** One choice of an answer as it is being put together. */
  private static final class Choice {
    final String echo; // the prompt when echoed, else ""
    final StringBuilder text = new StringBuilder(); // the echo and the generated text so far
    final List<TokenLogprob> prompt = new ArrayList<>();
    final List<TokenLogprob> generated = new ArrayList<>();
    SequenceResult result;
    /** The first of its prompt's n choices: the one whose prompt tokens the usage counts. */
    final boolean countsPrompt;

    Choice(String echo, boolean countsPrompt) {
      this.echo = echo;
      this.countsPrompt = countsPrompt;
      text.append(echo);
    }
  }

  private void whole(HttpExchange exchange, Call call, Events events, boolean chat, String id, long created,
      boolean logprobs, List<Choice> choices) throws IOException {
    for (int finished = 0; finished < choices.size(); ) {
      Events.Tagged event = events.take();
      Choice choice = choices.get(event.choice());
      switch (event.payload()) {
        case Output output -> {
          choice.text.append(output.text());
          choice.generated.addAll(output.logprobs());
        }
        case PromptLogprobs scored -> choice.prompt.addAll(scored.logprobs());
        case SequenceResult result -> {
          choice.result = result;
          metrics.usage(result);
          finished++;
        }
        case ShuttingDownException stopped -> throw shuttingDown(exchange);
        case RuntimeException error -> throw error;
        default -> throw new IllegalStateException("unexpected event " + event);
      }
    }
    call.result = combined(choices);
    ObjectNode response = envelope(id, chat ? "chat.completion" : "text_completion", created);
    ArrayNode array = response.putArray("choices");
    for (int i = 0; i < choices.size(); i++) {
      Choice choice = choices.get(i);
      ObjectNode node = array.addObject().put("index", i);
      if (chat) {
        node.putObject("message").put("role", "assistant").put("content", choice.text.toString());
      } else {
        node.put("text", choice.text.toString());
      }
      if (!logprobs) {
        node.putNull("logprobs");
      } else if (chat) {
        node.set("logprobs", logprobJson.chat(choice.generated));
      } else {
        node.set("logprobs", logprobJson.completion(choice.prompt, choice.generated, choice.text, choice.echo.length()));
      }
      node.put("finish_reason", choice.result.finishReason());
    }
    response.set("usage", usage(call.result));
    sendJson(exchange, call, 200, response);
  }

  /** The choices' results as one, for the usage and the request log: tokens summed, times the longest. */
  private static SequenceResult combined(List<Choice> choices) {
    if (choices.size() == 1) {
      return choices.getFirst().result;
    }
    java.util.LinkedHashSet<String> reasons = new java.util.LinkedHashSet<>();
    int prompt = 0;
    int cached = 0;
    int completion = 0;
    long queue = 0;
    long prefill = 0;
    long decode = 0;
    for (Choice choice : choices) {
      SequenceResult r = choice.result;
      reasons.add(r.finishReason());
      if (choice.countsPrompt) { // n choices of one prompt read it once, as OpenAI counts it
        prompt += r.promptTokens();
        cached += r.cachedTokens();
      }
      completion += r.completionTokens();
      queue = Math.max(queue, r.queueNanos());
      prefill = Math.max(prefill, r.prefillNanos());
      decode = Math.max(decode, r.decodeNanos());
    }
    return new SequenceResult(String.join(",", reasons), prompt, cached, completion, queue, prefill, decode);
  }

  private void stream(HttpExchange exchange, Call call, Events events, boolean chat, String id, long created,
      RequestParser.Options opts, List<Choice> choices) throws IOException {
    boolean includeUsage = opts.includeUsage();
    boolean logprobs = opts.logprobs() >= 0;
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    exchange.sendResponseHeaders(200, 0);
    call.status = 200;
    OutputStream out = exchange.getResponseBody();
    if (chat) {
      for (int i = 0; i < choices.size(); i++) {
        ObjectNode first = streamChunk(id, created, chat, includeUsage, i);
        ((ObjectNode) first.withArray("choices").get(0)).putObject("delta").put("role", "assistant").put("content", "");
        writeEvent(out, first);
      }
    } else if (opts.echo() && !logprobs) {
      // The echoed prompts go first; with log-probabilities they wait for the prompts' scores.
      for (int i = 0; i < choices.size(); i++) {
        ObjectNode chunk = streamChunk(id, created, chat, includeUsage, i);
        ((ObjectNode) chunk.withArray("choices").get(0)).put("text", choices.get(i).echo);
        writeEvent(out, chunk);
      }
    }
    for (int finished = 0; finished < choices.size(); ) {
      Events.Tagged event = events.poll(KEEP_ALIVE_SECONDS);
      if (event == null) {
        // An SSE comment: clients ignore it, and a write to a closed connection fails, which
        // frees the slot of a client that left while its prompt was being processed.
        out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
        continue;
      }
      Choice choice = choices.get(event.choice());
      ObjectNode chunk = streamChunk(id, created, chat, includeUsage, event.choice());
      ObjectNode node = (ObjectNode) chunk.withArray("choices").get(0);
      switch (event.payload()) {
        case PromptLogprobs scored -> {
          node.put("text", choice.echo);
          node.set("logprobs", logprobJson.completion(scored.logprobs(), List.of(), choice.text, 0));
          writeEvent(out, chunk);
        }
        case Output output -> {
          choice.text.append(output.text());
          if (chat) {
            node.putObject("delta").put("content", output.text());
          } else {
            node.put("text", output.text());
          }
          if (logprobs) {
            node.set("logprobs", chat ? logprobJson.chat(output.logprobs())
                : logprobJson.completion(List.of(), output.logprobs(), choice.text, choice.echo.length()));
          }
          writeEvent(out, chunk);
          call.chunks++;
        }
        case SequenceResult result -> {
          choice.result = result;
          metrics.usage(result);
          finished++;
          if (chat) {
            node.putObject("delta");
          } else {
            node.put("text", "");
          }
          node.put("finish_reason", result.finishReason());
          writeEvent(out, chunk);
        }
        case ShuttingDownException stopped -> {
          call.note = "cut short: the server is shutting down";
          writeEvent(out, errorBody(shuttingDown()));
          out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
          return;
        }
        case RuntimeException error -> {
          call.note = "generation failed: " + error;
          writeEvent(out, errorBody(new ApiException(500, "server_error", null, "internal_error",
              "generation failed: " + error.getMessage())));
          out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
          return;
        }
        default -> throw new IllegalStateException("unexpected event " + event);
      }
    }
    call.result = combined(choices);
    if (includeUsage) {
      ObjectNode usage = envelope(id, chat ? "chat.completion.chunk" : "text_completion", created);
      usage.putArray("choices");
      usage.set("usage", usage(call.result));
      writeEvent(out, usage);
    }
    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private ObjectNode streamChunk(String id, long created, boolean chat, boolean includeUsage, int index) {
    ObjectNode chunk = envelope(id, chat ? "chat.completion.chunk" : "text_completion", created);
    ArrayNode choices = chunk.putArray("choices");
    ObjectNode choice = choices.addObject().put("index", index);
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    if (includeUsage) {
      chunk.putNull("usage");
    }
    return chunk;
  }

  private ObjectNode envelope(String id, String object, long created) {
    return JSON.createObjectNode().put("id", id).put("object", object).put("created", created)
        .put("model", options.modelId());
  }

  private static ObjectNode usage(SequenceResult result) {
    ObjectNode usage = JSON.createObjectNode()
        .put("prompt_tokens", result.promptTokens())
        .put("completion_tokens", result.completionTokens())
        .put("total_tokens", result.promptTokens() + result.completionTokens());
    usage.putObject("prompt_tokens_details").put("cached_tokens", result.cachedTokens());
    return usage;
  }

  private static void writeEvent(OutputStream out, JsonNode data) throws IOException {
    out.write(("data: " + JSON.writeValueAsString(data) + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private JsonNode readJson(HttpExchange exchange) throws IOException {
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    long declared = -1;
    if (length != null) {
      try {
        declared = Long.parseLong(length.trim());
      } catch (NumberFormatException e) {
        throw ApiException.invalid(null, "bad Content-Length: " + length);
      }
    }
    if (declared > MAX_DRAIN_BYTES) {
      // Refused at once, before the body's stream is closed (closing it reads what is left, up to
      // 64 KiB, and the answer would wait for bytes a client that declared gigabytes may never
      // send): the 413 goes out first, and the connection closes after it.
      refuseTooLarge(exchange, InputStream.nullInputStream());
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (InputStream in = exchange.getRequestBody()) {
      if (declared > options.maxBodyBytes()) {
        refuseTooLarge(exchange, in);
      }
      byte[] buffer = new byte[8192];
      for (int n; (n = in.read(buffer)) > 0; ) {
        bytes.write(buffer, 0, n);
        if (bytes.size() > options.maxBodyBytes()) {
          refuseTooLarge(exchange, in);
        }
      }
    }
    JsonNode body;
    try {
      body = JSON.readTree(bytes.toByteArray());
    } catch (JsonProcessingException e) {
      throw new ApiException(400, "invalid_request_error", null, "invalid_json",
          "the body is not valid JSON: " + e.getOriginalMessage());
    }
    if (body == null || !body.isObject()) {
      throw new ApiException(400, "invalid_request_error", null, "invalid_json",
          "the body must be a JSON object");
    }
    return body;
  }

  /**
   * Answers 413. The rest of the body is read first (up to a bound) so that the client, still
   * sending, is not cut off by a reset before it reads the answer.
   */
  private void refuseTooLarge(HttpExchange exchange, InputStream in) throws IOException {
    long budget = MAX_DRAIN_BYTES;
    byte[] buffer = new byte[8192];
    for (int n; budget > 0 && (n = in.read(buffer)) > 0; ) {
      budget -= n;
    }
    exchange.getResponseHeaders().set("Connection", "close");
    throw new ApiException(413, "invalid_request_error", null, "request_too_large",
        "the request body is larger than " + options.maxBodyBytes() + " bytes");
  }

  private static ObjectNode errorBody(ApiException e) {
    ObjectNode body = JSON.createObjectNode();
    ObjectNode error = body.putObject("error").put("message", e.getMessage()).put("type", e.type());
    error.put("param", e.param());
    error.put("code", e.code());
    return body;
  }

  private void sendErrorQuietly(HttpExchange exchange, Call call, ApiException e) {
    if (call.status != 0) {
      return; // the response has started: too late for an error status
    }
    if (!e.getMessage().isEmpty() && call.note.isEmpty()) {
      call.note = "error: " + e.getMessage();
    }
    try {
      sendJson(exchange, call, e.status(), errorBody(e));
    } catch (IOException ignored) {
      call.status = e.status();
    }
  }

  private static void sendJson(HttpExchange exchange, Call call, int status, JsonNode body) throws IOException {
    send(exchange, call, status, "application/json", JSON.writeValueAsBytes(body));
  }

  private static void send(HttpExchange exchange, Call call, int status, String contentType, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    call.status = status;
    if (exchange.getRequestMethod().equals("HEAD")) {
      exchange.sendResponseHeaders(status, -1); // the headers GET would get, no body
      return;
    }
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** Text and the log-probabilities of the tokens that start in it, as the scheduler gave them. */
  private record Output(String text, List<TokenLogprob> logprobs) {}

  /** The scored prompt of an echo with log-probabilities. */
  private record PromptLogprobs(List<TokenLogprob> logprobs) {}

  /** Hands the output of a request's generations from the scheduler's thread to the request's thread. */
  private static final class Events {
    /** An event of choice {@code choice}: Output, PromptLogprobs, SequenceResult or RuntimeException. */
    record Tagged(int choice, Object payload) {}

    private final LinkedBlockingQueue<Tagged> queue = new LinkedBlockingQueue<>();

    /** The listener of choice {@code choice}'s generation. */
    SequenceListener forChoice(int choice) {
      return new SequenceListener() {
        @Override
        public void onText(String text, List<TokenLogprob> logprobs) {
          queue.add(new Tagged(choice, new Output(text, logprobs)));
        }

        @Override
        public void onPromptLogprobs(List<TokenLogprob> logprobs) {
          queue.add(new Tagged(choice, new PromptLogprobs(logprobs)));
        }

        @Override
        public void onFinish(SequenceResult result) {
          queue.add(new Tagged(choice, result));
        }

        @Override
        public void onError(RuntimeException error) {
          queue.add(new Tagged(choice, error));
        }
      };
    }

    Tagged take() {
      try {
        return queue.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the generation", e);
      }
    }

    Tagged poll(long seconds) {
      try {
        return queue.poll(seconds, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the generation", e);
      }
    }
  }
}
