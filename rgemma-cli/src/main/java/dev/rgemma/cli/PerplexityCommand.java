package dev.rgemma.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import dev.rgemma.engine.TokenizerCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.LogSoftmax;
import dev.rgemma.tokenizer.Tokenizer;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/** {@code rgemma perplexity}: mean NLL, perplexity and bits per byte of a model on a text file. */
@Command(
    name = "perplexity",
    mixinStandardHelpOptions = true,
    description =
        "Score a UTF-8 text file with a model and print one JSON line: tokens, mean negative "
        + "log-likelihood (nats per token), perplexity and bits per byte. The text is cut into "
        + "consecutive windows of --context tokens, each scored from a fresh state after <bos> "
        + "(the inference model and its tokenizer: tokenizer.json or tokenizer.model beside the "
        + "weights, or the one in a GGUF file).")
final class PerplexityCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ModelOptions modelOptions;

  @Option(names = "--file", required = true, paramLabel = "TEXT", description = "UTF-8 text file to score.")
  Path file;

  @Option(names = "--context", defaultValue = "256", paramLabel = "N",
      description = "Tokens per scored window. Default: ${DEFAULT-VALUE}.")
  int context;

  @Override
  public Integer call() throws Exception {
    if (context < 1) {
      throw new IllegalArgumentException("--context must be >= 1, got " + context);
    }
    CliPaths.checkInputFile("--file", file);
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (MalformedInputException e) {
      throw new RgemmaException(file + ": not valid UTF-8 text", e);
    }
    int tokenCount;
    double nll = 0;
    try (RecurrentGemmaModel m = modelOptions.load()) {
      Path source = modelOptions.modelDirectory();
      if (!(modelOptions.loadTokenizer(m) instanceof TokenizerCodec codec)) {
        throw new RgemmaException(source + ": no tokenizer (tokenizer.json or tokenizer.model beside the weights, "
            + "or one in the GGUF file's metadata)");
      }
      Tokenizer tokenizer = codec.tokenizer();
      int[] tokens = tokenizer.encode(text, false);
      if (tokens.length == 0) {
        throw new RgemmaException(file + ": no text to score");
      }
      int bos = tokenizer.bosId();
      if (bos < 0) {
        throw new RgemmaException(source + ": the tokenizer has no <bos> token");
      }
      tokenCount = tokens.length;
      int vocab = m.config().vocabSize();
      for (int start = 0; start < tokens.length; start += context) {
        int n = Math.min(context, tokens.length - start);
        int[] inputs = new int[n];
        inputs[0] = bos;
        System.arraycopy(tokens, start, inputs, 1, n - 1);
        float[] logits = m.forwardAll(m.newState(), inputs); // [n, vocab]
        for (int t = 0; t < n; t++) {
          nll += negativeLogLikelihood(logits, t * vocab, vocab, tokens[start + t]);
        }
      }
    }
    long bytes = text.getBytes(StandardCharsets.UTF_8).length;
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("file", file.toString());
    result.put("tokens", tokenCount);
    result.put("bytes", bytes);
    result.put("context", context);
    result.put("mean_nll", nll / tokenCount);
    result.put("perplexity", Math.exp(nll / tokenCount));
    result.put("bits_per_byte", nll / Math.log(2) / bytes);
    spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(result));
    return 0;
  }

  /** {@code -log softmax(logits[off .. off + vocab))[target]}, by {@link LogSoftmax#logSumExp} (summed in double). */
  static double negativeLogLikelihood(float[] logits, int off, int vocab, int target) {
    return LogSoftmax.logSumExp(logits, off, off + vocab) - logits[off + target];
  }
}
