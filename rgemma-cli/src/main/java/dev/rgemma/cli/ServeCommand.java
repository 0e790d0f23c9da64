package dev.rgemma.cli;

import dev.rgemma.RgemmaException;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.server.OpenAiServer;
import dev.rgemma.server.ServerOptions;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rgemma serve}: the OpenAI-compatible HTTP server. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Serve a model over an OpenAI-compatible HTTP API until interrupted (Ctrl-C): "
          + "POST /v1/chat/completions, POST /v1/completions, GET /v1/models, POST /tokenize, POST /detokenize, "
          + "GET /health, GET /metrics.",
      "Up to --parallel sequences decode together in one pass over the weights; long prompts are fed "
          + "in chunks between decode steps. The state at the end of each request is kept (LRU, "
          + "--cache-mib), so a chat whose messages extend an earlier one processes only its new tokens.",
      "A client that leaves mid-stream cancels its generation; a non-streaming request runs to its end "
          + "even if its client has left, so --max-tokens-limit bounds it. At shutdown, requests under way "
          + "get 503.",
      "One log line per request goes to standard error."
    })
final class ServeCommand implements Callable<Integer> {

  @Mixin ModelOptions modelOptions;

  @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
      description = "Address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface).")
  String host;

  @Option(names = "--port", paramLabel = "N", defaultValue = "" + ServerOptions.DEFAULT_PORT,
      description = "TCP port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
  int port;

  @Option(names = "--parallel", paramLabel = "N", defaultValue = "" + ServerOptions.DEFAULT_PARALLEL,
      description = "Most sequences generated together (default: ${DEFAULT-VALUE}).")
  int parallel;

  @Option(names = "--queue", paramLabel = "N", defaultValue = "" + ServerOptions.DEFAULT_QUEUE,
      description = "Most requests waiting for a free slot; more get 503 with Retry-After (default: ${DEFAULT-VALUE}).")
  int queue;

  @Option(names = "--prefill-chunk", paramLabel = "N", defaultValue = "" + ServerOptions.DEFAULT_PREFILL_CHUNK,
      description = "Most prompt tokens fed per step, over all prompts being prefilled; decoding "
          + "sequences add one token each (default: ${DEFAULT-VALUE}).")
  int prefillChunk;

  @Option(names = "--max-tokens", paramLabel = "N",
      description = "Generation limit when a request sets neither max_tokens nor max_completion_tokens "
          + "(default: " + ServerOptions.DEFAULT_MAX_TOKENS + ", or --max-tokens-limit if that is lower).")
  Integer maxTokens;

  @Option(names = "--max-tokens-limit", paramLabel = "N", defaultValue = "" + ServerOptions.DEFAULT_MAX_TOKENS_LIMIT,
      description = "Largest max_tokens or max_completion_tokens a request may ask for; larger ones get 400. "
          + "It bounds a non-streaming request whose client left, which runs to its end (a stream "
          + "is cancelled when its client leaves) (default: ${DEFAULT-VALUE}).")
  int maxTokensLimit;

  @Option(names = "--max-body-bytes", paramLabel = "N", defaultValue = "" + ServerOptions.DEFAULT_MAX_BODY_BYTES,
      description = "Largest request body; larger ones get 413 (default: ${DEFAULT-VALUE}).")
  long maxBodyBytes;

  @Option(names = "--cache-mib", paramLabel = "N", defaultValue = "" + (ServerOptions.DEFAULT_CACHE_BYTES >> 20),
      description = "Memory for kept conversation states, in MiB; 0 turns state reuse off (default: ${DEFAULT-VALUE}).")
  long cacheMib;

  @Option(names = "--model-name", paramLabel = "NAME",
      description = "The model id that /v1/models lists and requests may name; not blank (default: the model "
          + "directory's name, or the GGUF file's without .gguf).")
  String modelName;

  @Override
  public Integer call() throws Exception {
    if (cacheMib < 0 || cacheMib > Long.MAX_VALUE >> 20) {
      throw new IllegalArgumentException("--cache-mib must be in [0, " + (Long.MAX_VALUE >> 20) + "], got " + cacheMib);
    }
    Path path = modelOptions.modelDirectory();
    Path fileName = path.toAbsolutePath().normalize().getFileName();
    if (modelName == null && fileName == null) {
      throw new IllegalArgumentException("--model " + path + " has no name to serve the model under: pass --model-name");
    }
    String name = modelName != null ? modelName : fileName.toString().replaceFirst("\\.gguf$", "");
    ServerOptions options = new ServerOptions(host, port, name, parallel, queue, prefillChunk, maxBodyBytes,
        cacheMib << 20, maxTokens != null ? maxTokens : Math.min(ServerOptions.DEFAULT_MAX_TOKENS, Math.max(1, maxTokensLimit)),
        maxTokensLimit, System.err::println);
    try (RecurrentGemmaModel loaded = modelOptions.load()) {
      TextCodec codec = modelOptions.loadTokenizer(loaded);
      if (codec == null) {
        throw new RgemmaException(path + ": no tokenizer (tokenizer.json or tokenizer.model beside the "
            + "weights, or one inside the GGUF file); the server needs one");
      }
      try (OpenAiServer server = OpenAiServer.start(options, loaded, codec)) {
        System.err.printf("rgemma: serving %s on %s/v1 (parallel %d, queue %d); Ctrl-C stops%n",
            name, server.baseUri(), parallel, queue);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          server.close();
          stopped.countDown();
        }));
        stopped.await();
      }
    }
    return 0;
  }
}
