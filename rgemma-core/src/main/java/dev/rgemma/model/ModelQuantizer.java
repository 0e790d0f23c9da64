package dev.rgemma.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import dev.rgemma.io.GgufValue;
import dev.rgemma.io.GgufWriter;
import dev.rgemma.kernels.Kernels;
import dev.rgemma.model.ModelTensors.Role;
import dev.rgemma.model.ModelTensors.Spec;
import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.Quantize;
import dev.rgemma.tensor.WeightMatrix;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Writes a model as a GGUF file ({@code rgemma quantize}, and the synthetic models of {@code
 * rgemma bench}). Only the matrices of linear layers and the embedding take the target type;
 * norms, biases, conv and RG-LRU parameters stay float32, and so do matrices whose width is not a
 * multiple of 32 when the target is block-quantized. Rows are converted in parallel, one tensor at
 * a time, straight into the memory-mapped output.
 */
public final class ModelQuantizer {
  private ModelQuantizer() {}

  /** Told as bytes are converted: {@code bytesDone} of {@code bytesTotal} output tensor bytes. */
  @FunctionalInterface
  public interface Progress {
    void update(long bytesDone, long bytesTotal, String tensor);
  }

  /** Produces row {@code row} of a tensor (flattened to [rows, last dimension]) as float32. */
  @FunctionalInterface
  interface Rows {
    void row(int row, float[] out);
  }

  private record Entry(Spec spec, DType type, int rows, int cols, Rows rows0) {}

  /** The type tensor {@code spec} is stored as when the model is converted to {@code target}. */
  public static DType storageType(Spec spec, DType target) {
    long cols = spec.shape()[spec.shape().length - 1];
    if (spec.role() != Role.MATRIX || cols % target.blockSize() != 0) {
      return DType.F32;
    }
    return target;
  }

  /**
   * Metadata of a GGUF source that describes that file's own encoding (weight type, layout) and so
   * is not carried into the converted file; nor are llama.cpp's {@code quantize.*} keys (how the
   * source was quantized, e.g. its importance matrix); every other key is (see {@link #quantize}).
   */
  private static final java.util.Set<String> REWRITTEN_KEYS = java.util.Set.of(
      "general.file_type", "general.quantization_version", dev.rgemma.io.GgufFile.ALIGNMENT_KEY);

  /** Whether a GGUF source's metadata key goes into the converted file (see {@link #REWRITTEN_KEYS}). */
  static boolean carriedFromSource(String key) {
    return !REWRITTEN_KEYS.contains(key) && !key.startsWith("quantize.");
  }

  /**
   * Converts every tensor of {@code source} to a GGUF file; if {@code tokenizerDirectory} holds a
   * {@code tokenizer.json} and/or {@code tokenizer.model}, they go into the metadata. A GGUF
   * source (with no {@code tokenizerDirectory}) passes on all its metadata but the weight type and
   * alignment, {@code general.name} included (it wins over {@code name}), so converting GGUF to
   * GGUF keeps the tokenizer, {@code tokenizer_config.json} and everything it decides (such as the
   * chat-template default).
   */
  public static void quantize(TensorSource source, DType target, Path out, Path tokenizerDirectory, String name,
      Progress progress) throws IOException {
    ModelConfig config = source.config();
    List<Spec> specs = new ArrayList<>(ModelTensors.of(config));
    if (source.find(TensorNames.LM_HEAD).isPresent()) {
      specs.add(1, new Spec(TensorNames.LM_HEAD, new long[] {config.vocabSize(), config.hiddenSize()}, Role.MATRIX,
          config.hiddenSize()));
    }
    List<Entry> entries = new ArrayList<>();
    for (Spec spec : specs) {
      TensorSource.StoredTensor stored = source.require(spec.name(), spec.shape());
      int cols = (int) spec.shape()[spec.shape().length - 1];
      int rows = (int) (Arrays.stream(spec.shape()).reduce(1, (a, b) -> a * b) / cols);
      if (stored.dtype().isQuantized() && cols % stored.dtype().blockSize() != 0) {
        throw new RgemmaException(stored.file() + ": tensor '" + spec.name() + "' is " + stored.dtype()
            + " with rows of " + cols + " values, not a multiple of " + stored.dtype().blockSize());
      }
      WeightMatrix matrix = new WeightMatrix(spec.name(), stored.dtype(), rows, cols, stored.data());
      entries.add(new Entry(spec, storageType(spec, target), rows, cols,
          (row, buffer) -> Kernels.readRow(matrix, row, buffer, 0)));
    }
    GgufWriter writer = new GgufWriter();
    putModelMetadata(writer, config, target, name);
    if (tokenizerDirectory != null) {
      putTokenizer(writer, tokenizerDirectory, config);
    } else if (source instanceof GgufCheckpoint gguf) {
      // Re-quantizing a GGUF model keeps all of its metadata (tokenizer, tokenizer_config.json,
      // config, name, ...), verbatim: only what describes the new file's own encoding is new.
      gguf.file().metadata().forEach((key, value) -> {
        if (carriedFromSource(key)) {
          writer.put(key, value);
        }
      });
    }
    write(writer, entries, out, progress);
  }

  /**
   * A model of seeded random weights with exactly {@code config}'s shapes, written as {@code
   * target} without ever holding it in float32 (weights ~ U(-1, 1) sqrt(3 / fan_in); RG-LRU a in
   * [0.9, 0.999]; norms and biases ~ U(-0.1, 0.1)).
   */
  public static void writeSynthetic(ModelConfig config, long seed, DType target, Path out, Progress progress)
      throws IOException {
    List<Entry> entries = new ArrayList<>();
    for (Spec spec : ModelTensors.of(config)) {
      int cols = (int) spec.shape()[spec.shape().length - 1];
      int rows = (int) (Arrays.stream(spec.shape()).reduce(1, (a, b) -> a * b) / cols);
      long tensorSeed = seed * 0x9E3779B97F4A7C15L + spec.name().hashCode();
      double scale = switch (spec.role()) {
        case MATRIX -> spec.name().equals(TensorNames.EMBED_TOKENS) ? 1.0 : Math.sqrt(3.0 / spec.fanIn());
        case CONV, LRU_GATE -> Math.sqrt(3.0 / spec.fanIn());
        case NORM, BIAS, LRU_PARAM -> 0.1;
      };
      Rows generator = (row, buffer) -> {
        SplittableRandom random = new SplittableRandom(tensorSeed + 0x632BE59BD9B4E019L * row);
        for (int c = 0; c < cols; c++) {
          if (spec.role() == Role.LRU_PARAM) {
            // softplus(p) = -log(a^(1/8)) for p = log(1/a' - 1), a' = radius^(1/8), radius in [0.9, 0.999].
            double radius = 0.9 + 0.099 * random.nextDouble();
            buffer[c] = (float) Math.log(1.0 / Math.pow(radius, 1.0 / 8) - 1.0);
          } else {
            buffer[c] = (float) ((random.nextDouble() * 2 - 1) * scale);
          }
        }
      };
      entries.add(new Entry(spec, storageType(spec, target), rows, cols, generator));
    }
    GgufWriter writer = new GgufWriter();
    putModelMetadata(writer, config, target, "synthetic seed " + seed);
    write(writer, entries, out, progress);
  }

  private static void write(GgufWriter writer, List<Entry> entries, Path out, Progress progress) throws IOException {
    long total = 0;
    for (Entry e : entries) {
      total += e.rows() * e.type().byteSize(e.cols());
    }
    long bytesTotal = total;
    AtomicLong done = new AtomicLong();
    for (Entry e : entries) {
      long[] shape = e.spec().shape();
      long[] dims = new long[shape.length];
      for (int i = 0; i < shape.length; i++) {
        dims[i] = shape[shape.length - 1 - i];
      }
      long rowBytes = e.type().byteSize(e.cols());
      writer.addTensor(e.spec().name(), e.type(), dims, target -> {
        int chunk = Math.max(1, (1 << 20) / e.cols());
        int chunks = (e.rows() + chunk - 1) / chunk;
        try {
          IntStream.range(0, chunks).parallel().forEach(k -> {
            float[] buffer = new float[e.cols()];
            int end = Math.min(e.rows(), (k + 1) * chunk);
            for (int r = k * chunk; r < end; r++) {
              e.rows0().row(r, buffer);
              Quantize.quantize(e.type(), buffer, 0, e.cols(), target, r * rowBytes);
            }
            long now = done.addAndGet((end - k * chunk) * rowBytes);
            if (progress != null) {
              synchronized (progress) {
                progress.update(now, bytesTotal, e.spec().name());
              }
            }
          });
        } catch (UncheckedIOException ex) {
          throw ex.getCause();
        }
      });
    }
    writer.write(out, null);
  }

  /** ggml's general.file_type numbers. */
  private static int fileType(DType target) {
    return switch (target) {
      case F32 -> 0;
      case F16 -> 1;
      case Q4_0 -> 2;
      case Q8_0 -> 7;
      case BF16 -> 32;
    };
  }

  private static void putModelMetadata(GgufWriter w, ModelConfig c, DType target, String name) {
    String a = GgufCheckpoint.ARCHITECTURE;
    w.put("general.architecture", GgufValue.ofString(a));
    w.put("general.name", GgufValue.ofString(name));
    w.put("general.file_type", GgufValue.ofUint32(fileType(target)));
    w.put("general.quantization_version", GgufValue.ofUint32(2));
    w.put(GgufCheckpoint.CONFIG_KEY, GgufValue.ofString(c.toJson().toString()));
    w.put(a + ".embedding_length", GgufValue.ofUint32(c.hiddenSize()));
    w.put(a + ".block_count", GgufValue.ofUint32(c.numLayers()));
    w.put(a + ".feed_forward_length", GgufValue.ofUint32(c.mlpWidth()));
    w.put(a + ".attention.head_count", GgufValue.ofUint32(c.numHeads()));
    w.put(a + ".attention.head_count_kv", GgufValue.ofUint32(1));
    w.put(a + ".attention.key_length", GgufValue.ofUint32(c.headDim()));
    w.put(a + ".attention.sliding_window", GgufValue.ofUint32(c.attentionWindowSize()));
    w.put(a + ".attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(c.rmsNormEps()));
    w.put(a + ".rope.freq_base", GgufValue.ofFloat32(c.ropeTheta()));
    w.put(a + ".rope.dimension_count", GgufValue.ofUint32(c.rotaryDim()));
    w.put(a + ".rg_lru_width", GgufValue.ofUint32(c.lruWidth()));
    w.put(a + ".conv_kernel", GgufValue.ofUint32(c.conv1dWidth()));
    w.put(a + ".final_logit_softcapping", GgufValue.ofFloat32(c.logitsSoftCap()));
    w.put(a + ".block_types", GgufValue.ofArray(GgufValue.Type.STRING,
        c.blockTypes().stream().map(BlockType::configName).toList()));
  }

  /**
   * The tokenizer as GGUF metadata: {@code tokenizer.json} verbatim ({@code
   * tokenizer.huggingface.json}) plus its pieces, scores, token types, merges and special ids
   * under the {@code tokenizer.ggml.*} keys; {@code tokenizer.model} (SentencePiece) as raw bytes.
   */
  static void putTokenizer(GgufWriter w, Path directory, ModelConfig config) throws IOException {
    Path json = directory.resolve("tokenizer.json");
    Path model = directory.resolve("tokenizer.model");
    Path tokenizerConfig = directory.resolve("tokenizer_config.json");
    if (Files.isRegularFile(tokenizerConfig)) {
      w.put(GgufCheckpoint.TOKENIZER_CONFIG_KEY, GgufValue.ofString(Files.readString(tokenizerConfig)));
    }
    if (Files.isRegularFile(model)) {
      byte[] bytes = Files.readAllBytes(model);
      List<Long> values = new ArrayList<>(bytes.length);
      for (byte b : bytes) {
        values.add((long) (b & 0xFF));
      }
      w.put(GgufCheckpoint.SENTENCEPIECE_KEY, GgufValue.ofArray(GgufValue.Type.UINT8, values));
    }
    if (!Files.isRegularFile(json)) {
      return;
    }
    String text = Files.readString(json);
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(text);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new RgemmaException(json + ": " + dev.rgemma.io.JsonErrors.describe(e));
    }
    w.put(GgufCheckpoint.TOKENIZER_JSON_KEY, GgufValue.ofString(text));
    JsonNode m = root.path("model");
    JsonNode vocab = m.path("vocab");
    Map<Integer, String> pieces = new TreeMap<>();
    Map<Integer, Float> scores = new TreeMap<>();
    if (vocab.isObject()) { // BPE: {piece: id}
      vocab.fields().forEachRemaining(e -> pieces.put(e.getValue().asInt(), e.getKey()));
    } else if (vocab.isArray()) { // Unigram: [[piece, score], ...]
      for (int i = 0; i < vocab.size(); i++) {
        pieces.put(i, vocab.get(i).get(0).asText());
        scores.put(i, (float) vocab.get(i).get(1).asDouble());
      }
    } else {
      throw new RgemmaException(json + ": field 'model.vocab' is missing");
    }
    java.util.Set<Integer> control = new java.util.HashSet<>();
    for (JsonNode added : root.path("added_tokens")) {
      int id = added.path("id").asInt();
      pieces.putIfAbsent(id, added.path("content").asText());
      if (added.path("special").asBoolean(false)) {
        control.add(id);
      }
    }
    int size = pieces.isEmpty() ? 0 : ((TreeMap<Integer, String>) pieces).lastKey() + 1;
    String unk = m.path("unk_token").asText("<unk>");
    List<String> tokens = new ArrayList<>(size);
    List<Float> tokenScores = new ArrayList<>(size);
    List<Long> types = new ArrayList<>(size);
    int unkId = -1;
    for (int id = 0; id < size; id++) {
      String piece = pieces.getOrDefault(id, "[PAD" + id + "]");
      tokens.add(piece);
      tokenScores.add(scores.getOrDefault(id, (float) -id));
      long type;
      if (!pieces.containsKey(id)) {
        type = 5; // unused
      } else if (piece.equals(unk)) {
        type = 2;
        unkId = id;
      } else if (control.contains(id)) {
        type = 3;
      } else if (piece.matches("<0x[0-9A-Fa-f]{2}>")) {
        type = 6; // byte
      } else {
        type = 1;
      }
      types.add(type);
    }
    w.put("tokenizer.ggml.model", GgufValue.ofString(m.path("type").asText("BPE").equals("Unigram") ? "llama" : "gpt2"));
    w.put("tokenizer.ggml.tokens", GgufValue.ofArray(GgufValue.Type.STRING, tokens));
    w.put("tokenizer.ggml.scores", GgufValue.ofArray(GgufValue.Type.FLOAT32, tokenScores));
    w.put("tokenizer.ggml.token_type", GgufValue.ofArray(GgufValue.Type.INT32, types));
    List<String> merges = new ArrayList<>();
    for (JsonNode merge : m.path("merges")) {
      merges.add(merge.isArray() ? merge.get(0).asText() + " " + merge.get(1).asText() : merge.asText());
    }
    if (!merges.isEmpty()) {
      w.put("tokenizer.ggml.merges", GgufValue.ofArray(GgufValue.Type.STRING, merges));
    }
    w.put("tokenizer.ggml.bos_token_id", GgufValue.ofUint32(config.bosTokenId()));
    w.put("tokenizer.ggml.eos_token_id", GgufValue.ofUint32(config.eosTokenId()));
    w.put("tokenizer.ggml.padding_token_id", GgufValue.ofUint32(config.padTokenId()));
    if (unkId >= 0) {
      w.put("tokenizer.ggml.unknown_token_id", GgufValue.ofUint32(unkId));
    }
  }
}
