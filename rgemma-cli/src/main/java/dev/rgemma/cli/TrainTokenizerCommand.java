package dev.rgemma.cli;

import dev.rgemma.training.TokenizerTrainer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/** {@code rgemma train-tokenizer}: learns a Gemma-style BPE tokenizer from text files. */
@Command(
    name = "train-tokenizer",
    mixinStandardHelpOptions = true,
    description =
        "Learn a SentencePiece-style BPE tokenizer with byte fallback and Gemma's special "
        + "tokens (<pad> 0, <eos> 1, <bos> 2, <unk> 3, <start_of_turn> 4, <end_of_turn> 5, "
        + "<0x00>..<0xFF>) and write it as a Hugging Face tokenizer.json plus "
        + "tokenizer_config.json.")
final class TrainTokenizerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--input", required = true, split = ",", paramLabel = "FILE",
      description = "UTF-8 text files to learn from (repeat the option or separate with commas).")
  List<Path> inputs;

  @Option(names = "--vocab-size", required = true, paramLabel = "N",
      description = "Number of pieces, special and byte pieces included (at least 264).")
  int vocabSize;

  @Option(names = "--out", required = true, paramLabel = "DIR",
      description = "Directory to write tokenizer.json and tokenizer_config.json into.")
  Path out;

  @Override
  public Integer call() throws Exception {
    CliPaths.checkOutputDirectory("--out", out); // made when written, after the training's own checks
    long start = System.nanoTime();
    TokenizerTrainer.Vocabulary vocabulary = TokenizerTrainer.train(inputs, vocabSize);
    TokenizerTrainer.write(vocabulary, out);
    spec.commandLine().getOut().printf("wrote %s (%d pieces, %d merges) in %.1f s%n", out.resolve("tokenizer.json"),
        vocabulary.pieces().size(), vocabulary.merges().size(), (System.nanoTime() - start) / 1e9);
    return 0;
  }
}
