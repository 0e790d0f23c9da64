package dev.rgemma.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.tensor.DType;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Short seeded training runs on a tiny model: the loss goes down, checkpoints resume. */
class TrainerTest {
  private static final String TEXT = """
      Call me Ishmael. Some years ago, never mind how long precisely, having little or no money
      in my purse, and nothing particular to interest me on shore, I thought I would sail about
      a little and see the watery part of the world. It is a way I have of driving off the spleen
      and regulating the circulation.
      """.repeat(8);
  private static WorkerPool pool;

  @BeforeAll
  static void startPool() {
    pool = new WorkerPool(1); // one thread: bit-for-bit reproducible sums
  }

  @AfterAll
  static void stopPool() {
    pool.close();
  }

  private static Trainer.Options options(int steps) {
    return new Trainer.Options(steps, 4, 16, 1e-2, 2, 0.1, 0.01, 1.0, 7, 0, 0, 0, 1000, DType.F32);
  }

  private record Setup(BpeEncoder encoder, TokenCorpus corpus, Path tokenizerDir) {}

  private static Setup setup(Path dir) throws Exception {
    Path text = dir.resolve("text.txt");
    Files.writeString(text, TEXT);
    TokenizerTrainer.Vocabulary v = TokenizerTrainer.train(List.of(text), 300);
    Path tokenizerDir = dir.resolve("tokenizer");
    TokenizerTrainer.write(v, tokenizerDir);
    BpeEncoder encoder = BpeEncoder.load(tokenizerDir.resolve(Checkpoint.TOKENIZER));
    return new Setup(encoder, TokenCorpus.encode(List.of(text), encoder), tokenizerDir);
  }

  private static ModelShape tinyShape(int vocab) {
    return new ModelShape(vocab, 16, 48, 2, 8, 16, 3, 4, 30.0,
        List.of(ModelShape.RECURRENT, ModelShape.RECURRENT, ModelShape.ATTENTION));
  }

  private static Trainer trainer(ModelParameters params, Trainer.Options options, Setup s) {
    return new Trainer(params, new Gemm(pool, Gemm.Precision.FLOAT32), options, s.corpus(),
        s.corpus(), s.encoder(), new PrintWriter(new StringWriter()), false);
  }

  @Test
  void aFewStepsFromACheckpointLowerTheLoss(@TempDir Path dir) throws Exception {
    Setup s = setup(dir);
    ModelParameters initial = new ModelParameters(tinyShape(s.encoder().vocabSize()));
    initial.initialize(3);
    Path checkpoint = dir.resolve("start");
    Checkpoint.save(checkpoint, initial, DType.F32, s.tokenizerDir());
    assertTrue(Files.isRegularFile(checkpoint.resolve(Checkpoint.TOKENIZER)));

    ModelParameters params = Checkpoint.load(checkpoint);
    Trainer trainer = trainer(params, options(12), s);
    double before = trainer.evaluate(s.corpus(), 8).get(0).meanLoss();
    trainer.run(null, null);
    double after = trainer.evaluate(s.corpus(), 8).get(0).meanLoss();
    assertTrue(after < before - 0.5, "loss went from " + before + " to " + after);
  }

  @Test
  void resumingAnInterruptedRunContinuesIt(@TempDir Path dir) throws Exception {
    Setup s = setup(dir);
    ModelShape shape = tinyShape(s.encoder().vocabSize());
    ModelParameters straight = new ModelParameters(shape);
    straight.initialize(5);
    trainer(straight, options(6), s).run(null, null);

    // Stop after step 3 by running a 6-step schedule's first 3 steps: save at 3, then resume.
    Path out = dir.resolve("run");
    ModelParameters partial = new ModelParameters(shape);
    partial.initialize(5);
    Trainer.Options six = new Trainer.Options(6, 4, 16, 1e-2, 2, 0.1, 0.01, 1.0, 7, 0, 0, 3, 1000,
        DType.F32);
    Trainer interrupted = new Trainer(partial, new Gemm(pool, Gemm.Precision.FLOAT32), six,
        s.corpus(), null, s.encoder(), new PrintWriter(new StringWriter()), false);
    interrupted.runUntil(3, out, s.tokenizerDir());
    assertEquals(3, new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(out.resolve(Trainer.TRAINER_STATE).toFile()).get("step").asInt());

    ModelParameters resumed = Checkpoint.load(out);
    Trainer continued = new Trainer(resumed, new Gemm(pool, Gemm.Precision.FLOAT32), six,
        s.corpus(), null, s.encoder(), new PrintWriter(new StringWriter()), false);
    continued.resume(out);
    assertEquals(3, continued.startStep());
    continued.run(null, null);
    double maxDiff = 0;
    for (int i = 0; i < straight.all().size(); i++) {
      double[] a = straight.all().get(i).values();
      double[] b = resumed.all().get(i).values();
      for (int k = 0; k < a.length; k++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
      }
    }
    // Weights are saved as float32, so the resumed run differs by rounding only.
    assertTrue(maxDiff < 1e-4, "resumed run differs from the uninterrupted one by " + maxDiff);
  }
}
