package dev.rgemma.cli;

import dev.rgemma.model.Checkpoints;
import dev.rgemma.model.ModelQuantizer;
import dev.rgemma.model.TensorSource;
import dev.rgemma.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rgemma quantize}: a checkpoint to one GGUF file of the chosen weight type. */
@Command(
    name = "quantize",
    mixinStandardHelpOptions = true,
    description = {
      "Convert a model to a GGUF v3 file with the chosen weight type.",
      "The file is memory-mapped when loaded. Only the matrices of linear layers and",
      "the embedding take the type; norms, biases, conv and RG-LRU parameters stay",
      "f32, as do matrices whose width is not a multiple of 32 for q8_0/q4_0. The",
      "config and, if the directory has tokenizer.json / tokenizer.model, the",
      "tokenizer go into the metadata. From a GGUF file, all its metadata (tokenizer,",
      "tokenizer_config.json, name) is kept; only the weight type changes.",
      "Every command that takes --model accepts the resulting file."
    })
final class QuantizeCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR|FILE.gguf",
      description = "Checkpoint directory (config.json + *.safetensors) or a GGUF file.")
  Path model;

  @Option(names = "--type", required = true, paramLabel = "TYPE",
      description = "Weight type: q8_0, q4_0, bf16, f16 or f32.")
  String type;

  @Option(names = "--out", required = true, paramLabel = "FILE.gguf", description = "Output file (not a directory; its directory must exist). Written under a "
          + "temporary name beside it and renamed when complete.")
  Path out;

  static DType parseType(String option, String value) {
    try {
      return DType.valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + " must be one of q8_0, q4_0, bf16, f16, f32, got '" + value + "'");
    }
  }

  @Override
  public Integer call() throws Exception {
    DType target = parseType("--type", type);
    // Before the conversion (which can take minutes), not at its final rename.
    CliPaths.checkOutputFile("--out", out);
    ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), "quantize " + target.toString().toLowerCase(Locale.ROOT));
    long start = System.nanoTime();
    try (TensorSource source = Checkpoints.open(model)) {
      Path tokenizer = Files.isDirectory(model) ? model : null;
      String name = model.toAbsolutePath().normalize().getFileName().toString();
      ModelQuantizer.quantize(source, target, out, tokenizer, name, bar::update);
    } finally {
      bar.finish();
    }
    spec.commandLine().getErr().printf(Locale.ROOT, "rgemma: wrote %s (%s) in %.1f s%n", out,
        ProgressBar.size(Files.size(out)), (System.nanoTime() - start) / 1e9);
    return 0;
  }
}
