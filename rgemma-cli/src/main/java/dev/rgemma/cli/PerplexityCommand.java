package dev.rgemma.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import dev.rgemma.training.BpeEncoder;
import dev.rgemma.training.Checkpoint;
import dev.rgemma.training.Gemm;
import dev.rgemma.training.ModelParameters;
import dev.rgemma.training.TrainingModel;
import dev.rgemma.training.WorkerPool;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rgemma perplexity}: mean NLL, perplexity and bits per byte of a model on a text file. */
@Command(
    name = "perplexity",
    mixinStandardHelpOptions = true,
    description = {
      "Score a UTF-8 text file with a model and print one JSON line: tokens, mean negative",
      "log-likelihood (nats per token), perplexity and bits per byte. The text is cut into",
      "consecutive windows of --context tokens, each scored after <bos>."
    })
final class PerplexityCommand implements Callable<Integer> {
  @Option(names = "--model", paramLabel = "DIR",
      description = "Checkpoint directory (config.json, model.safetensors, tokenizer.json). Default: the demo model, models/demo.")
  Path model;

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
    Path dir = model != null ? model : DemoModel.locate();
    Path tokenizerJson = dir.resolve(Checkpoint.TOKENIZER);
    if (!Files.isRegularFile(tokenizerJson)) {
      throw new RgemmaException(tokenizerJson + ": not found (a model directory needs a tokenizer.json)");
    }
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (MalformedInputException e) {
      throw new RgemmaException(file + ": not valid UTF-8 text", e);
    }
    BpeEncoder encoder = BpeEncoder.load(tokenizerJson);
    int[] tokens = encoder.encode(text);
    if (tokens.length == 0) {
      throw new RgemmaException(file + ": no text to score");
    }
    ModelParameters params = Checkpoint.load(dir);
    double nll = 0;
    try (WorkerPool pool = new WorkerPool(Runtime.getRuntime().availableProcessors())) {
      TrainingModel m = new TrainingModel(params, new Gemm(pool, Gemm.Precision.FLOAT32));
      for (int start = 0; start < tokens.length; start += context) {
        int n = Math.min(context, tokens.length - start);
        int[] inputs = new int[n];
        int[] targets = new int[n];
        inputs[0] = 2; // <bos>
        System.arraycopy(tokens, start, inputs, 1, n - 1);
        System.arraycopy(tokens, start, targets, 0, n);
        nll += m.loss(new int[][] {inputs}, new int[][] {targets}) * n;
      }
    }
    long bytes = text.getBytes(StandardCharsets.UTF_8).length;
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("file", file.toString());
    result.put("tokens", tokens.length);
    result.put("bytes", bytes);
    result.put("context", context);
    result.put("mean_nll", nll / tokens.length);
    result.put("perplexity", Math.exp(nll / tokens.length));
    result.put("bits_per_byte", nll / Math.log(2) / bytes);
    System.out.println(new ObjectMapper().writeValueAsString(result));
    return 0;
  }
}
