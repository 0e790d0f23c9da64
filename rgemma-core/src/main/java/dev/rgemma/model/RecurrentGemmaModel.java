package dev.rgemma.model;

import dev.rgemma.RgemmaException;
import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A loaded RecurrentGemma model: weights (memory-mapped) and the forward pass. Stateless itself;
 * all per-sequence state lives in a {@link ModelState}, so one model serves many sequences.
 */
public final class RecurrentGemmaModel implements AutoCloseable {
  /** Longest sub-chunk processed at once; bounds scratch memory. Results do not depend on it. */
  private static final int MAX_CHUNK = 256;

  private final ModelConfig config;
  private final TensorSource source;
  private final Weights weights;
  private final PackedMatrix embedding; // [vocab, hidden]
  private final PackedMatrix output; // [vocab, hidden], usually the embedding itself
  private final List<ResidualBlock> blocks;
  private final float[] finalNorm; // [hidden]
  private final float embeddingScale;

  private RecurrentGemmaModel(TensorSource source, Weights weights) {
    this.source = source;
    this.weights = weights;
    this.config = source.config();
    int v = config.vocabSize();
    int d = config.hiddenSize();
    this.embedding = weights.matrix(TensorNames.EMBED_TOKENS, v, d);
    this.output = weights.has(TensorNames.LM_HEAD) ? weights.matrix(TensorNames.LM_HEAD, v, d) : embedding;
    List<ResidualBlock> layers = new ArrayList<>();
    for (int i = 0; i < config.numLayers(); i++) {
      layers.add(ResidualBlock.load(weights, config, i));
    }
    this.blocks = List.copyOf(layers);
    this.finalNorm = weights.floats(TensorNames.FINAL_NORM, d);
    this.embeddingScale = config.embeddingScale();
  }

  /** Loads a Hugging Face checkpoint directory or a GGUF file written by {@code rgemma quantize}. */
  public static RecurrentGemmaModel load(Path path) throws IOException {
    return fromSource(Checkpoints.open(path));
  }

  /** Builds the model over {@code source}, which the model closes when it is closed. */
  public static RecurrentGemmaModel fromSource(TensorSource source) {
    Weights weights = new Weights(source);
    try {
      return new RecurrentGemmaModel(source, weights);
    } catch (RuntimeException e) {
      weights.close();
      source.close();
      throw e;
    }
  }

  public ModelConfig config() {
    return config;
  }

  public TensorSource source() {
    return source;
  }

  /**
   * The packed weight matrices, each once: what a decode step streams from memory (besides the
   * small float tensors). {@code rgemma bench} reads them to measure the memory bandwidth in the
   * same memory and at the same time as the decoding it compares with it.
   */
  public List<PackedMatrix> packedMatrices() {
    return weights.packed();
  }

  public ModelState newState() {
    return ModelState.fresh(config);
  }

  /** Feeds tokens and returns the logits of the last one ([vocab]). */
  public float[] forwardLast(ModelState state, int[] tokens) {
    return forward(state, tokens, 0, tokens.length, false, null);
  }

  /** Feeds tokens and returns logits for every one of them ([tokens, vocab]). */
  public float[] forwardAll(ModelState state, int[] tokens) {
    return forward(state, tokens, 0, tokens.length, true, null);
  }

  /**
   * Feeds {@code tokens[offset, offset + length)} at the state's next positions, updating the
   * state. Returns logits {@code [length, vocab]} if {@code allLogits}, else {@code [vocab]} for
   * the last token. Any split of a sequence into calls gives the same results.
   */
  public float[] forward(ModelState state, int[] tokens, int offset, int length, boolean allLogits,
      ForwardTrace trace) {
    Objects.requireNonNull(state);
    Objects.checkFromIndexSize(offset, length, tokens.length);
    if (length == 0) {
      throw new IllegalArgumentException("no tokens to feed");
    }
    if (state.layers().size() != blocks.size()) {
      throw new IllegalArgumentException("state has " + state.layers().size() + " layers, model has " + blocks.size());
    }
    checkTokens(tokens, offset, length);
    int vocab = config.vocabSize();
    float[] logits = new float[allLogits ? length * vocab : vocab];
    for (int done = 0; done < length; ) {
      int chunk = Math.min(MAX_CHUNK, length - done);
      boolean last = done + chunk == length;
      float[] x = hiddenStates(state, tokens, offset + done, chunk, done, trace);
      if (allLogits) {
        unembed(x, 0, chunk, logits, done * vocab, done, trace);
      } else if (last) {
        unembed(x, chunk - 1, 1, logits, 0, done + chunk - 1, trace);
      }
      done += chunk;
    }
    return logits;
  }

  /** Runs every layer on one chunk; returns the final residual stream [tokens, hidden]. */
  private float[] hiddenStates(ModelState state, int[] tokens, int offset, int count, int firstToken,
      ForwardTrace trace) {
    int[] rows = java.util.Arrays.copyOfRange(tokens, offset, offset + count);
    return run(rows, List.of(new Segment(state, state.position(), 0, count)), firstToken, trace);
  }

  /**
   * One pass over the weights for several sequences: sequence i continues {@code states.get(i)}
   * with {@code tokens.get(i)} (one token when decoding, more when prefilling). All rows share
   * every matrix product, so N sequences cost about one weight read. Returns each sequence's
   * last-token logits ([vocab] each); results equal running each sequence alone.
   */
  public List<float[]> forwardBatch(List<ModelState> states, List<int[]> tokens) {
    return forwardBatch(states, tokens, null);
  }

  /**
   * {@link #forwardBatch(List, List)}, where sequence i gets the logits of every token it fed
   * ({@code [tokens.get(i).length, vocab]}) if {@code allLogits[i]} (null: none does), e.g. to
   * score a prompt; the others get their last token's.
   */
  public List<float[]> forwardBatch(List<ModelState> states, List<int[]> tokens, boolean[] allLogits) {
    if (allLogits != null && allLogits.length != states.size()) {
      throw new IllegalArgumentException("need one allLogits flag per state, got " + allLogits.length + " flags and "
          + states.size() + " states");
    }
    if (states.size() != tokens.size() || states.isEmpty()) {
      throw new IllegalArgumentException("need one token array per state, got " + states.size() + " states and "
          + tokens.size() + " token arrays");
    }
    java.util.Set<ModelState> distinct = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    List<Segment> segments = new ArrayList<>();
    int total = 0;
    for (int i = 0; i < states.size(); i++) {
      ModelState state = states.get(i);
      int[] sequence = tokens.get(i);
      if (!distinct.add(state)) {
        throw new IllegalArgumentException("the same state appears twice in a batch");
      }
      if (sequence.length == 0) {
        throw new IllegalArgumentException("sequence " + i + " has no tokens");
      }
      checkTokens(sequence, 0, sequence.length);
      segments.add(new Segment(state, state.position(), total, sequence.length));
      total += sequence.length;
    }
    int[] rows = new int[total];
    for (int i = 0; i < tokens.size(); i++) {
      System.arraycopy(tokens.get(i), 0, rows, segments.get(i).firstRow(), tokens.get(i).length);
    }
    float[] x = run(rows, segments, 0, null);
    int d = config.hiddenSize();
    int vocab = config.vocabSize();
    // The rows to unembed: each sequence's last, or all of those that asked for every row.
    int[] firstOut = new int[segments.size()];
    int outRows = 0;
    for (int i = 0; i < segments.size(); i++) {
      firstOut[i] = outRows;
      outRows += allLogits != null && allLogits[i] ? segments.get(i).rows() : 1;
    }
    float[] outX = new float[outRows * d];
    for (int i = 0; i < segments.size(); i++) {
      Segment s = segments.get(i);
      int kept = allLogits != null && allLogits[i] ? s.rows() : 1;
      System.arraycopy(x, (s.firstRow() + s.rows() - kept) * d, outX, firstOut[i] * d, kept * d);
    }
    float[] logits = new float[outRows * vocab];
    unembed(outX, 0, outRows, logits, 0, 0, null);
    List<float[]> result = new ArrayList<>();
    for (int i = 0; i < segments.size(); i++) {
      int end = i + 1 < segments.size() ? firstOut[i + 1] : outRows;
      result.add(java.util.Arrays.copyOfRange(logits, firstOut[i] * vocab, end * vocab));
    }
    return result;
  }

  /** Embeds {@code tokens} (the batch rows), runs every layer, advances each segment's state. */
  private float[] run(int[] tokens, List<Segment> segments, int firstToken, ForwardTrace trace) {
    int d = config.hiddenSize();
    int count = tokens.length;
    float[] x = new float[count * d]; // [tokens, hidden]
    long time = Profile.now();
    for (int t = 0; t < count; t++) {
      Kernels.readRow(embedding, tokens[t], x, t * d);
    }
    for (int i = 0; i < x.length; i++) {
      x[i] *= embeddingScale;
    }
    Profile.add(Profile.Part.EMBED, time);
    if (trace != null) {
      trace.residual(0, firstToken, x, count);
    }
    for (ResidualBlock block : blocks) {
      block.forward(x, count, segments, config.rmsNormEps());
      if (trace != null) {
        trace.residual(block.index() + 1, firstToken, x, count);
      }
    }
    for (Segment segment : segments) {
      segment.state().advance(segment.rows());
    }
    return x;
  }

  private void checkTokens(int[] tokens, int offset, int length) {
    for (int i = offset; i < offset + length; i++) {
      if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
        throw new RgemmaException("token id " + tokens[i] + " is outside the vocabulary [0, " + config.vocabSize() + ")");
      }
    }
  }

  /** Final norm, tied unembedding and soft-cap for rows [row, row + rows) of x. */
  private void unembed(float[] x, int row, int rows, float[] logits, int logitsOffset, int firstToken,
      ForwardTrace trace) {
    int d = config.hiddenSize();
    long time = Profile.now();
    float[] rowsOfX = new float[rows * d];
    System.arraycopy(x, row * d, rowsOfX, 0, rows * d);
    float[] normed = new float[rows * d]; // [rows, hidden]
    Ops.rmsNorm(rowsOfX, finalNorm, config.rmsNormEps(), rows, normed);
    if (trace != null) {
      trace.finalNorm(firstToken, normed, rows);
    }
    Kernels.matmul(output, normed, 0, rows, logits, logitsOffset);
    Kernels.softCap(logits, logitsOffset, logitsOffset + rows * config.vocabSize(), config.logitsSoftCap());
    Profile.add(Profile.Part.UNEMBED, time);
  }

  @Override
  public void close() {
    weights.close();
    source.close();
  }
}
