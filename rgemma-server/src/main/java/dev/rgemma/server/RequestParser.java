package dev.rgemma.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.sampling.SamplerSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads and validates the bodies of {@code /v1/chat/completions} and {@code /v1/completions}.
 * Fields it does not know are ignored, as OpenAI clients expect; known fields of the wrong type or
 * out of range are a 400 naming the field.
 */
final class RequestParser {
  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");
  private static final int MAX_STOP_STRINGS = 4;
  /** Frequency and presence penalties look at this many of the latest prompt and generated tokens. */
  static final int PENALTY_WINDOW = 256;

  private RequestParser() {}

  /**
   * The generation options common to both endpoints.
   *
   * @param logprobs -1 for no log-probabilities, else how many alternatives each token lists
   * @param n choices per prompt (sampled independently: the k-th with seed {@code seed + k})
   */
  record Options(int maxTokens, SamplerSettings sampling, List<String> stop, boolean stream,
      boolean includeUsage, Map<Integer, Float> logitBias, int logprobs, boolean echo, int n,
      dev.rgemma.sampling.JsonSchema json) {}

  /**
   * Chat's {@code messages}. Every message needs a role; user and system (or developer) messages need
   * their content, a string or text parts, while an assistant message may leave it out or set it to
   * null (as OpenAI allows, for an answer that was all tool calls) and is then an empty answer.
   * Errors name the message 0-based, as {@code messages[i]} or {@code messages[i].content}.
   */
  static List<TextCodec.Message> messages(JsonNode body) {
    JsonNode messages = body.get("messages");
    if (messages == null || messages.isNull()) {
      throw ApiException.invalid("messages", "'messages' is required");
    }
    if (!messages.isArray() || messages.isEmpty()) {
      throw ApiException.invalid("messages", "'messages' must be a non-empty array of messages");
    }
    List<TextCodec.Message> out = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      JsonNode message = messages.get(i);
      String param = "messages[" + i + "]";
      if (!message.isObject()) {
        throw ApiException.invalid(param, param + " must be a message object ({\"role\": ..., \"content\": ...}), got "
            + abbreviated(message));
      }
      JsonNode role = message.get("role");
      if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
        throw ApiException.invalid(param + ".role", param + ".role must be one of system, developer, user, assistant, got "
            + (role == null ? "nothing" : abbreviated(role)));
      }
      String roleName = role.asText().equals("developer") ? "system" : role.asText();
      JsonNode content = message.get("content");
      if ((content == null || content.isNull()) && !roleName.equals("assistant")) {
        throw ApiException.invalid(param + ".content", param + ".content is required in a " + role.asText()
            + " message: a string or an array of text parts, got " + (content == null ? "nothing" : "null"));
      }
      out.add(new TextCodec.Message(roleName, content(content, param + ".content")));
    }
    return out;
  }

  /** A string, or an array of {@code {"type": "text", "text": ...}} parts; absent or null (an assistant's) is empty. */
  private static String content(JsonNode content, String param) {
    if (content == null || content.isNull()) {
      return "";
    }
    if (content.isTextual()) {
      return content.asText();
    }
    if (content.isArray()) {
      StringBuilder text = new StringBuilder();
      for (JsonNode part : content) {
        if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
          throw ApiException.invalid(param, param + " may only hold text parts ({\"type\": \"text\", \"text\": ...})");
        }
        text.append(part.get("text").asText());
      }
      return text.toString();
    }
    throw ApiException.invalid(param, param + " must be a string or an array of text parts, got " + content);
  }

  /** Most choices in one request: prompts times {@code n}. */
  static final int MAX_CHOICES = 64;

  /** One completions prompt: text (tokenized with BOS first) or token ids used as they are. */
  record Prompt(String text, int[] tokens) {}

  /**
   * Completions' {@code prompt}: a string, an array of token ids, or an array of either (one
   * choice each, at most {@link #MAX_CHOICES}).
   */
  static List<Prompt> prompts(JsonNode body) {
    JsonNode prompt = body.get("prompt");
    if (prompt == null || prompt.isNull()) {
      throw ApiException.invalid("prompt", "'prompt' is required");
    }
    if (prompt.isTextual()) {
      return List.of(new Prompt(prompt.asText(), null));
    }
    String expected = "'prompt' must be a string, an array of token ids, or an array of strings or of token-id arrays";
    if (!prompt.isArray() || prompt.isEmpty()) {
      throw ApiException.invalid("prompt", expected + ", got " + abbreviated(prompt));
    }
    if (prompt.get(0).isNumber()) {
      return List.of(new Prompt(null, tokenIds(prompt, "prompt")));
    }
    if (prompt.size() > MAX_CHOICES) {
      throw ApiException.invalid("prompt", "at most " + MAX_CHOICES + " prompts per request, got " + prompt.size());
    }
    List<Prompt> out = new ArrayList<>();
    for (int i = 0; i < prompt.size(); i++) {
      JsonNode item = prompt.get(i);
      if (item.isTextual()) {
        out.add(new Prompt(item.asText(), null));
      } else if (item.isArray() && !item.isEmpty()) {
        out.add(new Prompt(null, tokenIds(item, "prompt[" + i + "]")));
      } else {
        throw ApiException.invalid("prompt", expected + "; prompt[" + i + "] is " + abbreviated(item));
      }
    }
    return out;
  }

  private static int[] tokenIds(JsonNode array, String name) {
    int[] ids = new int[array.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode id = array.get(i);
      if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0) {
        throw ApiException.invalid("prompt", name + " must hold token ids (integers >= 0); item " + i + " is "
            + abbreviated(id));
      }
      ids[i] = id.asInt();
    }
    return ids;
  }

  private static String abbreviated(JsonNode node) {
    String text = node.toString();
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }

  /** {@code /tokenize}: the text under either name (vLLM's {@code prompt}, llama.cpp's {@code content}). */
  static String textField(JsonNode body, String name, String alias) {
    JsonNode text = body.has(name) ? body.get(name) : body.get(alias);
    if (text == null || !text.isTextual()) {
      throw ApiException.invalid(name, "'" + name + "' (or '" + alias + "') must be a string, got " + text);
    }
    return text.asText();
  }

  /** {@code /tokenize}: whether BOS is prepended ({@code add_special_tokens}, llama.cpp's {@code add_special}; default true). */
  static boolean addSpecialTokens(JsonNode body) {
    return body.has("add_special") && !body.has("add_special_tokens") ? bool(body, "add_special", true)
        : bool(body, "add_special_tokens", true);
  }

  /** {@code /detokenize}: the {@code tokens} array, each id below {@code vocabSize}. */
  static int[] tokens(JsonNode body, int vocabSize) {
    JsonNode tokens = body.get("tokens");
    if (tokens == null || !tokens.isArray()) {
      throw ApiException.invalid("tokens", "'tokens' must be an array of token ids, got " + tokens);
    }
    int[] ids = new int[tokens.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode id = tokens.get(i);
      if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0 || id.asInt() >= vocabSize) {
        throw ApiException.invalid("tokens", "'tokens' must hold token ids in [0, " + vocabSize + "); item " + i
            + " is " + id);
      }
      ids[i] = id.asInt();
    }
    return ids;
  }

  /** The model a request names; absent means the served model. */
  static String model(JsonNode body) {
    JsonNode model = body.get("model");
    if (model == null || model.isNull()) {
      return null;
    }
    if (!model.isTextual()) {
      throw ApiException.invalid("model", "'model' must be a string, got " + model);
    }
    return model.asText();
  }

  /**
   * @param defaultMaxTokens the generation limit of a request that sets none
   * @param maxTokensLimit the largest {@code max_tokens} / {@code max_completion_tokens} accepted
   */
  static Options options(JsonNode body, int defaultMaxTokens, int maxTokensLimit, boolean chat) {
    boolean echo = bool(body, "echo", false);
    if (echo && chat) {
      throw ApiException.invalid("echo", "'echo' belongs to /v1/completions; chat answers do not repeat the messages");
    }
    // max_tokens 0 scores an echoed prompt without generating (as evaluation harnesses ask).
    Integer maxTokens = maxTokens(body, "max_tokens", echo ? 0 : 1, maxTokensLimit);
    if (chat) {
      // OpenAI's newer name wins over the deprecated one when a client sends both (each is checked).
      Integer maxCompletionTokens = maxTokens(body, "max_completion_tokens", 1, maxTokensLimit);
      if (maxCompletionTokens != null) {
        maxTokens = maxCompletionTokens;
      }
    }
    Integer n = integer(body, "n", 1, MAX_CHOICES);
    unsupported(body);
    int logprobs = chat ? chatLogprobs(body) : completionLogprobs(body);
    double temperature = number(body, "temperature", 0, 2, 1);
    double topP = number(body, "top_p", 0, 1, 1);
    if (topP == 0) {
      throw ApiException.invalid("top_p", "'top_p' must be in (0, 1], got 0");
    }
    double frequencyPenalty = number(body, "frequency_penalty", -2, 2, 0);
    double presencePenalty = number(body, "presence_penalty", -2, 2, 0);
    Long seed = longValue(body, "seed");
    boolean stream = bool(body, "stream", false);
    boolean includeUsage = false;
    JsonNode streamOptions = body.get("stream_options");
    if (streamOptions != null && !streamOptions.isNull()) {
      if (!streamOptions.isObject()) {
        throw ApiException.invalid("stream_options", "'stream_options' must be an object, got " + streamOptions);
      }
      includeUsage = bool(streamOptions, "include_usage", false);
    }
    return new Options(maxTokens == null ? defaultMaxTokens : maxTokens,
        new SamplerSettings((float) temperature, 0, (float) topP, 0f, 1f, (float) frequencyPenalty,
            (float) presencePenalty, PENALTY_WINDOW, seed == null ? ThreadLocalRandom.current().nextLong() : seed),
        stop(body), stream, includeUsage, logitBias(body), logprobs, echo, n == null ? 1 : n, jsonMode(body));
  }

  /**
   * {@code response_format}: {@code {"type": "text"}} (the default: null), {@code {"type":
   * "json_object"}} (any one JSON object), or {@code {"type": "json_schema", "json_schema": {"name",
   * "schema", "strict"}}} (one object the schema accepts, in the subset {@link
   * dev.rgemma.sampling.JsonSchema} can enforce; anything else in the schema is a 400 naming it).
   */
  private static dev.rgemma.sampling.JsonSchema jsonMode(JsonNode body) {
    JsonNode format = body.get("response_format");
    if (format == null || format.isNull()) {
      return null;
    }
    String type = format.isObject() ? format.path("type").asText("") : "";
    switch (type) {
      case "text":
        return null;
      case "json_object":
        return dev.rgemma.sampling.JsonSchema.ANY_OBJECT;
      case "json_schema": {
        JsonNode schema = format.path("json_schema").get("schema");
        if (schema == null || !schema.isObject()) {
          throw ApiException.invalid("response_format",
              "'response_format.json_schema.schema' must be a JSON Schema object");
        }
        try {
          return dev.rgemma.sampling.JsonSchema.compile(schema);
        } catch (IllegalArgumentException e) {
          throw ApiException.invalid("response_format", "'response_format.json_schema.schema': " + e.getMessage());
        }
      }
      default:
        throw ApiException.invalid("response_format", "'response_format' must be {\"type\": \"text\"}, "
            + "{\"type\": \"json_object\"} or {\"type\": \"json_schema\", ...}, got " + format);
    }
  }

  /**
   * Chat: {@code logprobs} true asks for each token's log-probability, {@code top_logprobs} (0 to
   * 20, only with {@code logprobs}) for that many alternatives; -1 when not asked. A {@code
   * logprobs} of 0, as some clients send for "off", is read as false.
   */
  private static int chatLogprobs(JsonNode body) {
    JsonNode logprobs = body.get("logprobs");
    boolean on;
    if (logprobs == null || logprobs.isNull()) {
      on = false;
    } else if (logprobs.isBoolean()) {
      on = logprobs.asBoolean();
    } else if (logprobs.isIntegralNumber() && logprobs.asLong() == 0) {
      on = false;
    } else {
      throw ApiException.invalid("logprobs", "'logprobs' must be true or false, got " + logprobs);
    }
    Integer top = integer(body, "top_logprobs", 0, GenerationRequest.MAX_LOGPROBS);
    if (top != null && top > 0 && !on) {
      throw ApiException.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    }
    return on ? (top == null ? 0 : top) : -1;
  }

  /**
   * Completions: {@code logprobs} is how many alternatives each token lists (0 to 20: 0 gives the
   * chosen tokens' log-probabilities alone); null or false for none. {@code top_logprobs} belongs
   * to chat: only 0 is accepted here.
   */
  private static int completionLogprobs(JsonNode body) {
    Integer top = integer(body, "top_logprobs", 0, Integer.MAX_VALUE);
    if (top != null && top != 0) {
      throw ApiException.invalid("top_logprobs",
          "'top_logprobs' is a chat field; completions take the number of alternatives in 'logprobs'");
    }
    JsonNode logprobs = body.get("logprobs");
    if (logprobs == null || logprobs.isNull() || logprobs.isBoolean() && !logprobs.asBoolean()) {
      return -1;
    }
    if (!logprobs.isIntegralNumber()) {
      throw ApiException.invalid("logprobs", "'logprobs' must be an integer in [0, "
          + GenerationRequest.MAX_LOGPROBS + "] (alternatives per token), got " + logprobs);
    }
    return integer(body, "logprobs", 0, GenerationRequest.MAX_LOGPROBS);
  }

  /**
   * OpenAI's {@code logit_bias}: an object from token ids (as strings) to biases in [-100, 100],
   * added to those tokens' logits before each token is chosen.
   */
  private static Map<Integer, Float> logitBias(JsonNode body) {
    JsonNode bias = body.get("logit_bias");
    if (bias == null || bias.isNull()) {
      return Map.of();
    }
    if (!bias.isObject()) {
      throw ApiException.invalid("logit_bias", "'logit_bias' must be an object from token ids to biases, got " + bias);
    }
    Map<Integer, Float> out = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : bias.properties()) {
      int token;
      try {
        token = Integer.parseInt(entry.getKey());
      } catch (NumberFormatException e) {
        token = -1;
      }
      if (token < 0) {
        throw ApiException.invalid("logit_bias", "'logit_bias' keys must be token ids (integers >= 0), got \""
            + entry.getKey() + "\"");
      }
      JsonNode value = entry.getValue();
      if (!value.isNumber() || !(value.asDouble() >= -100 && value.asDouble() <= 100)) {
        throw ApiException.invalid("logit_bias", "'logit_bias' values must be numbers in [-100, 100], got " + value
            + " for token " + token);
      }
      out.put(token, (float) value.asDouble());
    }
    return out;
  }

  /**
   * Fields that would change what a client gets back and that this server does not implement: when
   * one of them asks for something (best-of candidates,
   * a suffix, tools), the request fails with a 400 naming it rather
   * than being answered as if the field were absent. Their neutral values (null everywhere; [] for
   * tools and functions, 1 for best_of, "" for suffix) are accepted, as OpenAI's clients send some
   * of them by default.
   */
  private static void unsupported(JsonNode body) {
    Integer bestOf = integer(body, "best_of", 1, Integer.MAX_VALUE);
    if (bestOf != null && bestOf != 1) {
      throw ApiException.invalid("best_of", "only best_of = 1 is supported, got " + bestOf);
    }
    JsonNode suffix = body.get("suffix");
    if (suffix != null && !suffix.isNull() && !(suffix.isTextual() && suffix.asText().isEmpty())) {
      throw ApiException.invalid("suffix", "'suffix' is not supported (only null or \"\"), got " + suffix);
    }
    for (String name : List.of("tools", "functions")) {
      JsonNode tools = body.get(name);
      if (tools != null && !tools.isNull() && !(tools.isArray() && tools.isEmpty())) {
        throw ApiException.invalid(name, "'" + name + "' (tool calls) is not supported");
      }
    }
  }

  private static List<String> stop(JsonNode body) {
    JsonNode stop = body.get("stop");
    if (stop == null || stop.isNull()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    if (stop.isTextual()) {
      out.add(stop.asText());
    } else if (stop.isArray() && stop.size() <= MAX_STOP_STRINGS) {
      for (JsonNode s : stop) {
        if (!s.isTextual()) {
          throw ApiException.invalid("stop", "'stop' must hold only strings, got " + s);
        }
        out.add(s.asText());
      }
    } else {
      throw ApiException.invalid("stop", "'stop' must be a string or an array of at most " + MAX_STOP_STRINGS
          + " strings, got " + stop);
    }
    if (out.stream().anyMatch(String::isEmpty)) {
      throw ApiException.invalid("stop", "stop strings must not be empty");
    }
    return out;
  }

  /**
   * A generation limit, at most the server's {@code --max-tokens-limit}: a larger one is refused
   * rather than lowered, so that the client learns its answer could not be that long. The limit is
   * what bounds an abandoned non-streaming request (its disconnection goes unnoticed until the
   * answer is written).
   */
  private static Integer maxTokens(JsonNode body, String name, int min, int limit) {
    Long value = longValue(body, name);
    if (value == null) {
      return null;
    }
    if (value > limit) {
      throw ApiException.invalid(name, "'" + name + "' is " + value + ", above this server's limit of " + limit
          + " tokens (rgemma serve --max-tokens-limit)");
    }
    return integer(body, name, min, limit);
  }

  private static Integer integer(JsonNode body, String name, int min, int max) {
    Long value = longValue(body, name);
    if (value == null) {
      return null;
    }
    if (value < min || value > max) {
      throw ApiException.invalid(name, "'" + name + "' must be in [" + min + ", " + max + "], got " + value);
    }
    return value.intValue();
  }

  private static Long longValue(JsonNode body, String name) {
    JsonNode node = body.get(name);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isIntegralNumber() || !node.canConvertToLong()) {
      throw ApiException.invalid(name, "'" + name + "' must be an integer, got " + node);
    }
    return node.asLong();
  }

  private static double number(JsonNode body, String name, double min, double max, double absent) {
    JsonNode node = body.get(name);
    if (node == null || node.isNull()) {
      return absent;
    }
    if (!node.isNumber()) {
      throw ApiException.invalid(name, "'" + name + "' must be a number, got " + node);
    }
    double value = node.asDouble();
    if (!(value >= min && value <= max)) {
      throw ApiException.invalid(name, "'" + name + "' must be in [" + min + ", " + max + "], got " + node);
    }
    return value;
  }

  private static boolean bool(JsonNode body, String name, boolean absent) {
    JsonNode node = body.get(name);
    if (node == null || node.isNull()) {
      return absent;
    }
    if (!node.isBoolean()) {
      throw ApiException.invalid(name, "'" + name + "' must be true or false, got " + node);
    }
    return node.asBoolean();
  }
}
