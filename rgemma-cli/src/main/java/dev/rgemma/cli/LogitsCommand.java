package dev.rgemma.cli;

import dev.rgemma.io.Npy;
import dev.rgemma.model.ModelState;
import dev.rgemma.model.RecurrentGemmaModel;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rgemma logits}: raw logits of a token sequence, to verify a converted or quantized model. */
@Command(
    name = "logits",
    mixinStandardHelpOptions = true,
    description = {
      "Feed token ids from a fresh state and write the float32 logits [T, vocab] as a NumPy .npy file.",
      "Use it to check a converted or quantized model against reference outputs."
    })
final class LogitsCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, paramLabel = "DIR|FILE.gguf",
      description = "Checkpoint directory (config.json + *.safetensors) or a GGUF file from rgemma quantize.")
  Path model;

  @Option(names = "--ids", required = true, paramLabel = "2,17,5,...",
      description = "Comma-separated token ids.")
  String ids;

  @Option(names = "--chunk", paramLabel = "N",
      description = "Feed the ids in chunks of N tokens (default: all at once; 1 = token by token).")
  Integer chunk;

  @Option(names = "--out", required = true, paramLabel = "FILE.npy", description = "Output file.")
  Path out;

  @Override
  public Integer call() throws Exception {
    int[] tokens = TokenIds.parse("--ids", ids);
    if (chunk != null && chunk < 1) {
      throw new IllegalArgumentException("--chunk must be >= 1, got " + chunk);
    }
    int step = chunk == null ? tokens.length : chunk;
    CliPaths.checkOutputFile("--out", out);
    try (RecurrentGemmaModel m = RecurrentGemmaModel.load(model)) {
      int vocab = m.config().vocabSize();
      float[] logits = new float[tokens.length * vocab];
      ModelState state = m.newState();
      for (int start = 0; start < tokens.length; start += step) {
        int length = Math.min(step, tokens.length - start);
        float[] part = m.forward(state, tokens, start, length, true, null);
        System.arraycopy(part, 0, logits, start * vocab, part.length);
      }
      Npy.writeFloat32(out, logits, tokens.length, vocab);
      System.err.printf("rgemma: wrote logits [%d, %d] to %s%n", tokens.length, vocab, out);
    }
    return 0;
  }
}
