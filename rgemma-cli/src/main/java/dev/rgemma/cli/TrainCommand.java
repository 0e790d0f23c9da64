package dev.rgemma.cli;

import dev.rgemma.RgemmaException;
import dev.rgemma.tensor.DType;
import dev.rgemma.training.BpeEncoder;
import dev.rgemma.training.Checkpoint;
import dev.rgemma.training.Gemm;
import dev.rgemma.training.ModelParameters;
import dev.rgemma.training.ModelShape;
import dev.rgemma.training.TokenCorpus;
import dev.rgemma.training.Trainer;
import dev.rgemma.training.WorkerPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/** {@code rgemma train}: trains a RecurrentGemma-architecture model on text files, on the CPU. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description =
        "Train a RecurrentGemma (Griffin) model from scratch, or continue from a checkpoint, "
        + "on text files. Writes a Hugging Face-layout checkpoint (config.json, "
        + "model.safetensors, tokenizer.json) plus optimizer.safetensors and trainer_state.json "
        + "for --resume.")
final class TrainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--input", required = true, split = ",", paramLabel = "FILE",
      description = "Training text files (UTF-8). Each batch row picks a file uniformly, then a random window.")
  List<Path> inputs;

  @Option(names = "--eval", split = ",", paramLabel = "FILE",
      description = "Held-out text files, evaluated every --eval-every steps (loss and bits per byte per file).")
  List<Path> evalFiles = List.of();

  @Option(names = "--tokenizer", paramLabel = "DIR",
      description = "Directory with the tokenizer.json to encode the text with (from train-tokenizer). "
          + "Default: the --init/--resume checkpoint's.")
  Path tokenizer;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Checkpoint directory to write.")
  Path out;

  @Option(names = "--init", paramLabel = "DIR",
      description = "Start from this checkpoint's weights (fresh optimizer and schedule).")
  Path init;

  @Option(names = "--resume", paramLabel = "DIR",
      description = "Continue an interrupted run: weights, optimizer state and step from a train --out directory.")
  Path resume;

  @Option(names = "--width", defaultValue = "256", description = "Model width (hidden_size). Default: ${DEFAULT-VALUE}.")
  int width;

  @Option(names = "--layers", defaultValue = "6",
      description = "Layers, cycled (recurrent, recurrent, attention). Default: ${DEFAULT-VALUE}.")
  int layers;

  @Option(names = "--heads", defaultValue = "4", description = "Attention heads (also RG-LRU gate blocks). Default: ${DEFAULT-VALUE}.")
  int heads;

  @Option(names = "--mlp-width", description = "Width of each MLP branch. Default: 3 x width.")
  Integer mlpWidth;

  @Option(names = "--lru-width", description = "RG-LRU width. Default: width.")
  Integer lruWidth;

  @Option(names = "--window", defaultValue = "128", description = "Attention window. Default: ${DEFAULT-VALUE}.")
  int window;

  @Option(names = "--steps", defaultValue = "1000", description = "Total optimizer steps. Default: ${DEFAULT-VALUE}.")
  int steps;

  @Option(names = "--batch", defaultValue = "16", description = "Sequences per step. Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--seq-len", defaultValue = "128", description = "Tokens per sequence. Default: ${DEFAULT-VALUE}.")
  int seqLen;

  @Option(names = "--lr", defaultValue = "3e-3", description = "Peak learning rate. Default: ${DEFAULT-VALUE}.")
  double learningRate;

  @Option(names = "--warmup", defaultValue = "100", description = "Linear warm-up steps. Default: ${DEFAULT-VALUE}.")
  int warmup;

  @Option(names = "--min-lr-ratio", defaultValue = "0.1",
      description = "Cosine decay ends at lr x this. Default: ${DEFAULT-VALUE}.")
  double minLrRatio;

  @Option(names = "--weight-decay", defaultValue = "0.1",
      description = "AdamW decoupled weight decay (matrices only). Default: ${DEFAULT-VALUE}.")
  double weightDecay;

  @Option(names = "--clip", defaultValue = "1.0", description = "Gradient-norm clip (0: off). Default: ${DEFAULT-VALUE}.")
  double clip;

  @Option(names = "--seed", defaultValue = "1", description = "Seed for initialization and data order. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--eval-every", defaultValue = "200", description = "Evaluate every N steps (0: never). Default: ${DEFAULT-VALUE}.")
  int evalEvery;

  @Option(names = "--eval-windows", defaultValue = "64",
      description = "Held-out windows per file per evaluation (0: all). Default: ${DEFAULT-VALUE}.")
  int evalWindows;

  @Option(names = "--save-every", defaultValue = "500", description = "Checkpoint every N steps (and at the end). Default: ${DEFAULT-VALUE}.")
  int saveEvery;

  @Option(names = "--log-every", defaultValue = "50", description = "Keep a progress line every N steps. Default: ${DEFAULT-VALUE}.")
  int logEvery;

  @Option(names = "--dtype", defaultValue = "F32", description = "Weight dtype in model.safetensors: F32 or BF16. Default: ${DEFAULT-VALUE}.")
  DType dtype;

  @Option(names = "--threads", description = "Worker threads. Default: available processors.")
  Integer threads;

  @Override
  public Integer call() throws Exception {
    if (init != null && resume != null) {
      throw new IllegalArgumentException("--init and --resume cannot be combined");
    }
    if (dtype != DType.F32 && dtype != DType.BF16) {
      throw new IllegalArgumentException("--dtype: expected F32 or BF16, got " + dtype);
    }
    CliPaths.checkOutputDirectory("--out", out);
    Path from = resume != null ? resume : init;
    Path tokenizerDir = tokenizer != null ? tokenizer : from;
    if (tokenizerDir == null || !Files.isRegularFile(tokenizerDir.resolve(Checkpoint.TOKENIZER))) {
      throw new RgemmaException((tokenizerDir == null ? "no --tokenizer given"
          : tokenizerDir.resolve(Checkpoint.TOKENIZER) + ": not found")
          + " (create one with: rgemma train-tokenizer --input FILES --vocab-size N --out DIR)");
    }
    BpeEncoder encoder = BpeEncoder.load(tokenizerDir.resolve(Checkpoint.TOKENIZER));
    ModelParameters params;
    if (from != null) {
      params = Checkpoint.load(from);
    } else {
      ModelShape shape = new ModelShape(encoder.vocabSize(), width,
          mlpWidth != null ? mlpWidth : 3 * width, heads, width / heads,
          lruWidth != null ? lruWidth : width, layers, window, 30.0,
          List.of(ModelShape.RECURRENT, ModelShape.RECURRENT, ModelShape.ATTENTION));
      if (width % heads != 0) {
        throw new IllegalArgumentException("--width " + width + " must be a multiple of --heads " + heads);
      }
      params = new ModelParameters(shape);
      params.initialize(seed);
    }
    CliPaths.prepareOutputDirectory("--out", out); // after the checks above: a mistake leaves no directory
    Trainer.Options options = new Trainer.Options(steps, batch, seqLen, learningRate, warmup,
        minLrRatio, weightDecay, clip, seed, evalEvery, evalWindows, saveEvery, logEvery, dtype);
    TokenCorpus trainCorpus = TokenCorpus.encode(inputs, encoder);
    TokenCorpus heldOut = evalFiles.isEmpty() ? null : TokenCorpus.encode(evalFiles, encoder);
    int threadCount = threads != null ? threads : Runtime.getRuntime().availableProcessors();
    try (WorkerPool pool = new WorkerPool(threadCount)) {
      Trainer trainer = new Trainer(params, new Gemm(pool, Gemm.Precision.FLOAT32), options,
          trainCorpus, heldOut, encoder, spec.commandLine().getErr(), System.console() != null);
      if (resume != null) {
        trainer.resume(resume);
      }
      trainer.run(out, tokenizerDir);
    }
    spec.commandLine().getOut().println("wrote " + out);
    return 0;
  }
}
