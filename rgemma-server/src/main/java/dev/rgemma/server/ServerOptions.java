package dev.rgemma.server;

import java.util.function.Consumer;

/**
 * How the server runs (runtime options, apart from the model's hyperparameters).
 *
 * @param host address to bind, e.g. 127.0.0.1
 * @param port TCP port; 0 picks a free one
 * @param modelId the name {@code /v1/models} lists and requests may name
 * @param parallel most sequences decoded together
 * @param queue most requests waiting for a slot; beyond that, 503
 * @param prefillChunk most prompt tokens fed per step, over all sequences being prefilled
 * @param maxBodyBytes largest request body; beyond that, 413
 * @param cacheBytes bound of the conversation state cache; 0 disables it
 * @param defaultMaxTokens generation limit when a request gives none
 * @param requestLog receives one line per request
 */
public record ServerOptions(String host, int port, String modelId, int parallel, int queue,
    int prefillChunk, long maxBodyBytes, long cacheBytes, int defaultMaxTokens, Consumer<String> requestLog) {

  public static final int DEFAULT_PORT = 8080;
  public static final int DEFAULT_PARALLEL = 4;
  public static final int DEFAULT_QUEUE = 64;
  public static final int DEFAULT_PREFILL_CHUNK = 128;
  public static final long DEFAULT_MAX_BODY_BYTES = 1 << 20;
  public static final long DEFAULT_CACHE_BYTES = 1L << 30;
  public static final int DEFAULT_MAX_TOKENS = 512;

  public ServerOptions {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--port must be in [0, 65535], got " + port);
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
      throw new IllegalArgumentException("--max-body must be >= 1 byte, got " + maxBodyBytes);
    }
    if (cacheBytes < 0) {
      throw new IllegalArgumentException("--cache must be >= 0 bytes, got " + cacheBytes);
    }
    if (defaultMaxTokens < 1) {
      throw new IllegalArgumentException("--max-tokens must be >= 1, got " + defaultMaxTokens);
    }
  }
}
