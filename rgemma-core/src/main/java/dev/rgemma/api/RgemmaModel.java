package dev.rgemma.api;

import dev.rgemma.RgemmaException;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.engine.TokenizerCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A loaded RecurrentGemma model: its weights (memory-mapped, not copied onto the heap) and its
 * tokenizer. Open {@linkplain #newSession() sessions} on it to generate text.
 *
 * <pre>{@code
 * try (RgemmaModel model = RgemmaModel.load(Path.of("models/demo"))) {
 *   RgemmaSession session = model.newSession();
 *   Completion c = session.generate("Call me Ishmael.", GenerateOptions.greedy(50));
 *   System.out.println(c.text());
 * }
 * }</pre>
 *
 * <p><b>Thread safety.</b> A model is safe to share: any number of sessions, on any threads, may
 * use it at once (the weights are read-only; each session has its own state). The compute kernels
 * parallelise each step over a shared pool of threads, so concurrent sessions take turns for those
 * steps rather than adding throughput. {@link #close()} releases the mapped files; close a model only
 * after its sessions are done, later calls on them throw {@link IllegalStateException}.
 */
public final class RgemmaModel implements AutoCloseable {
  /** Where a repository or installation keeps the demo model. */
  public static final String DEMO_MODEL_DIRECTORY = "models/demo";
  /** System property naming the demo model's directory, checked first by {@link #loadDemo()}. */
  public static final String DEMO_MODEL_PROPERTY = "rgemma.demo.model";

  private final Path path;
  private final RecurrentGemmaModel model;
  private final TextCodec codec; // null: the model runs on token ids only
  private final AtomicBoolean closed = new AtomicBoolean();

  private RgemmaModel(Path path, RecurrentGemmaModel model, TextCodec codec) {
    this.path = path;
    this.model = model;
    this.codec = codec;
  }

  /**
   * Loads a model: a Hugging Face checkpoint directory ({@code config.json}, {@code
   * model.safetensors} or its shards, and {@code tokenizer.json} or {@code tokenizer.model}), or a
   * GGUF file written by {@code rgemma quantize} (F32, BF16, F16, Q8_0 or Q4_0 weights, the
   * tokenizer in its metadata). Without a tokenizer the model still runs on token ids.
   *
   * @throws IOException if a file cannot be read
   * @throws RgemmaException if a file is not what it should be; the message names the file, the
   *     field or tensor, and what was expected
   * @throws IllegalArgumentException if {@code -Drgemma.kernels} or {@code -Drgemma.touchAhead}
   *     has a value the kernels do not know
   */
  public static RgemmaModel load(Path path) throws IOException {
    Objects.requireNonNull(path, "path");
    dev.rgemma.kernels.KernelSettings.validate();
    if (!Files.exists(path)) {
      throw new java.nio.file.NoSuchFileException(path.toString(), null,
          "no model here: expected a checkpoint directory or a .gguf file");
    }
    RecurrentGemmaModel model = RecurrentGemmaModel.load(path);
    try {
      TextCodec codec = TokenizerCodec.forModel(model, path).orElse(null);
      return new RgemmaModel(path, model, codec);
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  /**
   * Loads the small demo model that ships with rgemma ({@value #DEMO_MODEL_DIRECTORY}): see
   * {@link #demoModelPath()} for where it is looked for.
   */
  public static RgemmaModel loadDemo() throws IOException {
    return load(demoModelPath());
  }

  /**
   * Where the demo model is: the directory named by the system property {@value
   * #DEMO_MODEL_PROPERTY}; else {@value #DEMO_MODEL_DIRECTORY} under the directory of the system
   * property {@code rgemma.home} (set by the {@code rgemma} launcher), under the working directory,
   * or under any directory above the jar or classes directory rgemma was loaded from (a build
   * inside the repository).
   *
   * @throws RgemmaException if it is in none of these places; the message lists them
   */
  public static Path demoModelPath() {
    String explicit = System.getProperty(DEMO_MODEL_PROPERTY);
    if (explicit != null && !explicit.isBlank()) {
      Path demo = Path.of(explicit);
      if (!Files.isDirectory(demo)) {
        throw new RgemmaException("the demo model directory " + demo + " (system property "
            + DEMO_MODEL_PROPERTY + ") does not exist");
      }
      return demo;
    }
    List<Path> tried = new java.util.ArrayList<>();
    String home = System.getProperty("rgemma.home");
    if (home != null && !home.isBlank()) {
      tried.add(Path.of(home).resolve(DEMO_MODEL_DIRECTORY));
    }
    tried.add(Path.of("").toAbsolutePath().resolve(DEMO_MODEL_DIRECTORY));
    try {
      Path code = Path.of(RgemmaModel.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      for (Path p = code.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
        tried.add(p.resolve(DEMO_MODEL_DIRECTORY));
      }
    } catch (java.net.URISyntaxException | RuntimeException e) {
      // no code location (e.g. a custom class loader): the other places were still tried
    }
    for (Path candidate : tried) {
      if (Files.isRegularFile(candidate.resolve("config.json"))) {
        return candidate;
      }
    }
    throw new RgemmaException("the demo model (" + DEMO_MODEL_DIRECTORY + ") was not found; looked in "
        + tried.stream().distinct().map(Path::toString).toList()
        + ". Set -D" + DEMO_MODEL_PROPERTY + "=DIR or load a model directory with RgemmaModel.load");
  }

  /** The directory or file the model was loaded from. */
  public Path path() {
    return path;
  }

  /** Number of token ids the model knows. */
  public int vocabularySize() {
    return model.config().vocabSize();
  }

  /** Whether text methods work: the model came with a tokenizer. Without one, use token ids. */
  public boolean hasTokenizer() {
    return codec != null;
  }

  /** Whether the vocabulary has Gemma's turn markers, as instruction-tuned models' do. */
  public boolean isChatModel() {
    return codec != null && codec.isChatModel();
  }

  /** Bytes of state one session holds; fixed for a model, whatever the length of the text. */
  public long sessionStateBytes() {
    ensureOpen();
    return model.newState().sizeBytes();
  }

  /** A new, empty session. Sessions are cheap: their state has a fixed, small size. */
  public RgemmaSession newSession() {
    ensureOpen();
    return new RgemmaSession(this);
  }

  /**
   * A session that continues a conversation saved by {@link RgemmaSession#save(Path)} with this
   * same model.
   *
   * @throws RgemmaException if the file is damaged or was saved with another model
   */
  public RgemmaSession restoreSession(Path file) throws IOException {
    RgemmaSession session = newSession();
    session.restore(file);
    return session;
  }

  /** Token ids of {@code text}, without the beginning-of-sequence token. */
  public int[] encode(String text) {
    Objects.requireNonNull(text, "text");
    return codec().encode(text, false);
  }

  /** The text of token ids; special tokens such as {@code <bos>} decode to nothing. */
  public String decode(int[] tokenIds) {
    Objects.requireNonNull(tokenIds, "tokenIds");
    TextCodec c = codec();
    checkIds(tokenIds);
    return c.decode(tokenIds);
  }

  /** How many tokens {@code text} takes (without the beginning-of-sequence token). */
  public int countTokens(String text) {
    return encode(text).length;
  }

  /**
   * How many tokens a chat prompt takes when a fresh session answers {@code messages}: the chat
   * template applied to them (beginning-of-sequence token included), ending with the start of the
   * model's turn.
   */
  public int countTokens(List<ChatMessage> messages) {
    return chatPrompt(messages).length;
  }

  /** Rows of logits a {@link #score} call computes at once (1 MiB each for a 256 000-token vocabulary). */
  private static final int SCORE_CHUNK = 32;

  /**
   * How likely the model finds {@code continuation} right after {@code context}: each
   * continuation token's log-probability given everything before it, from a fresh state (no
   * session is touched; any number of threads may score at once). The context is tokenized with
   * the beginning-of-sequence token first, the continuation on its own, and their ids are joined:
   * a continuation usually starts with its space ({@code " Paris"}), as in evaluation harnesses.
   *
   * @throws IllegalArgumentException if the continuation has no tokens
   */
  public Score score(String context, String continuation) {
    Objects.requireNonNull(context, "context");
    Objects.requireNonNull(continuation, "continuation");
    TextCodec c = codec();
    return score(c.encode(context, true), c.encode(continuation, false));
  }

  /**
   * {@link #score(String, String)} on token ids: the log-probability of each {@code continuation}
   * id after {@code context} (which should start with the beginning-of-sequence id, as a text
   * context does) and the continuation ids before it.
   *
   * @throws IllegalArgumentException if either is empty or holds an id outside the vocabulary
   */
  public Score score(int[] context, int[] continuation) {
    Objects.requireNonNull(context, "context");
    Objects.requireNonNull(continuation, "continuation");
    if (context.length == 0 || continuation.length == 0) {
      throw new IllegalArgumentException("scoring needs a context and a continuation of at least one token each, got "
          + context.length + " and " + continuation.length);
    }
    checkIds(context);
    checkIds(continuation);
    RecurrentGemmaModel m = engineModel();
    dev.rgemma.model.ModelState state = m.newState();
    if (context.length > 1) {
      m.forward(state, context, 0, context.length - 1, false, null);
    }
    // Row j of the logits of [last context token, continuation[0 .. n-2]] predicts continuation[j].
    int[] fed = new int[continuation.length];
    fed[0] = context[context.length - 1];
    System.arraycopy(continuation, 0, fed, 1, continuation.length - 1);
    int vocab = vocabularySize();
    float[] logprobs = new float[continuation.length];
    boolean greedy = true;
    for (int done = 0; done < fed.length; done += SCORE_CHUNK) {
      int rows = Math.min(SCORE_CHUNK, fed.length - done);
      float[] logits = m.forward(state, fed, done, rows, true, null);
      for (int j = 0; j < rows; j++) {
        int target = continuation[done + j];
        int from = j * vocab;
        double logSum = dev.rgemma.sampling.LogSoftmax.logSumExp(logits, from, from + vocab);
        logprobs[done + j] = (float) (logits[from + target] - logSum);
        greedy &= logits[from + dev.rgemma.sampling.Sampler.argmax(logits, from, from + vocab)] == logits[from + target];
      }
    }
    return new Score(continuation, logprobs, greedy);
  }

  /** Releases the memory-mapped weight files. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      model.close();
    }
  }

  @Override
  public String toString() {
    return "RgemmaModel[" + path + "]";
  }

  int[] chatPrompt(List<ChatMessage> messages) {
    TextCodec c = codec();
    return c.encode(c.renderChat(toTemplate(messages), true), true);
  }

  static List<TextCodec.Message> toTemplate(List<ChatMessage> messages) {
    return messages.stream().map(m -> new TextCodec.Message(m.role().templateName(), m.content())).toList();
  }

  RecurrentGemmaModel engineModel() {
    ensureOpen();
    return model;
  }

  TextCodec codecOrNull() {
    return codec;
  }

  TextCodec codec() {
    ensureOpen();
    if (codec == null) {
      throw new RgemmaException(path + " has no tokenizer (tokenizer.json or tokenizer.model): "
          + "text needs one; this model can only generate from token ids");
    }
    return codec;
  }

  /** @throws IllegalArgumentException naming the first id outside the vocabulary */
  void checkIds(int[] ids) {
    for (int id : ids) {
      if (id < 0 || id >= vocabularySize()) {
        throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, "
            + vocabularySize() + ")");
      }
    }
  }

  void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the model " + path + " is closed");
    }
  }
}
