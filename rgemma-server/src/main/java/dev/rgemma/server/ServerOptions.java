package dev.rgemma.server;

import java.util.function.Consumer;

/**
 * How the server runs (runtime options, apart from the model's hyperparameters). Each check names
 * the {@code rgemma serve} flag that sets the value, since that is where a wrong value comes from.
 *
 * @param host address to bind, e.g. 127.0.0.1
 * @param port TCP port; 0 picks a free one
 * @param modelId the name {@code /v1/models} lists and requests may name; not blank
 * @param parallel most sequences decoded together
 * @param queue most requests waiting for a slot; beyond that, 503
 * @param prefillChunk most prompt tokens fed per step, over all sequences being prefilled
 * @param maxBodyBytes largest request body; beyond that, 413
 * @param cacheBytes bound of the conversation state cache; 0 disables it
 * @param defaultMaxTokens generation limit when a request gives none
 * @param maxTokensLimit largest {@code max_tokens} / {@code max_completion_tokens} a request may
 *     ask for; beyond that, 400. It bounds what an abandoned non-streaming request costs: the
 *     JDK's HTTP server cannot tell that its client left until the answer is written, so such a
 *     request holds its slot until it ends.
 * @param requestLog receives one line per request
 */
public record ServerOptions(String host, int port, String modelId, int parallel, int queue,
    int prefillChunk, long maxBodyBytes, long cacheBytes, int defaultMaxTokens, int maxTokensLimit,
    Consumer<String> requestLog) {

  public static final int DEFAULT_PORT = 8080;
  public static final int DEFAULT_PARALLEL = 4;
  public static final int DEFAULT_QUEUE = 64;
  public static final int DEFAULT_PREFILL_CHUNK = 128;
  public static final long DEFAULT_MAX_BODY_BYTES = 1 << 20;
  public static final long DEFAULT_CACHE_BYTES = 1L << 30;
  public static final int DEFAULT_MAX_TOKENS = 512;
  public static final int DEFAULT_MAX_TOKENS_LIMIT = 32768;

  public ServerOptions {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--port must be in [0, 65535], got " + port);
    }
    if (modelId == null || modelId.isBlank()) {
      throw new IllegalArgumentException("--model-name must not be blank (it is the model id clients send), got "
          + (modelId == null ? "nothing" : "\"" + modelId + "\""));
    }
    if (parallel < 1) {
      throw new IllegalArgumentException("--parallel must be >= 1, got " + parallel);
    }
    if (queue < 0) {
      throw new IllegalArgumentException("--queue must be >= 0, got " + queue);
    }
    if (prefillChunk < 1) {
      throw new IllegalArgumentException("--prefill-chunk must be >= 1, got " + prefillChunk);
    }
    if (maxBodyBytes < 1) {
      throw new IllegalArgumentException("--max-body-bytes must be >= 1, got " + maxBodyBytes);
    }
    if (cacheBytes < 0) {
      throw new IllegalArgumentException("--cache-mib must be >= 0, got " + cacheBytes + " bytes");
    }
    if (defaultMaxTokens < 1) {
      throw new IllegalArgumentException("--max-tokens must be >= 1, got " + defaultMaxTokens);
    }
    if (maxTokensLimit < 1) {
      throw new IllegalArgumentException("--max-tokens-limit must be >= 1, got " + maxTokensLimit);
    }
    if (defaultMaxTokens > maxTokensLimit) {
      throw new IllegalArgumentException("--max-tokens (" + defaultMaxTokens + ") must not exceed --max-tokens-limit ("
          + maxTokensLimit + "): the default a request gets must be one it may ask for");
    }
  }
}
