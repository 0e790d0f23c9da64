package dev.rgemma.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.RgemmaException;
import dev.rgemma.io.GgufFile;
import dev.rgemma.io.GgufValue;
import dev.rgemma.io.GgufWriter;
import dev.rgemma.tensor.DType;
import dev.rgemma.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Quantized GGUF models: loading, exactness of the f32 conversion, quantization error. */
class GgufModelTest {
  @TempDir Path dir;

  private Path quantizeFixture(DType type) throws IOException {
    Path out = dir.resolve("tiny-a-" + type + ".gguf");
    try (TensorSource source = Checkpoints.open(Fixtures.dir("tiny-a"))) {
      ModelQuantizer.quantize(source, type, out, null, "tiny-a", null);
    }
    return out;
  }

  /** A float32 GGUF holds the same numbers: logits must match the safetensors model bit for bit. */
  @Test
  void f32GgufReproducesTheCheckpointExactly() throws IOException {
    Path gguf = quantizeFixture(DType.F32);
    Path fixture = Fixtures.dir("tiny-a");
    int[] tokens = Fixtures.ints(Fixtures.expected(fixture).get("input_tokens"));
    try (RecurrentGemmaModel original = RecurrentGemmaModel.load(fixture);
        RecurrentGemmaModel converted = RecurrentGemmaModel.load(gguf)) {
      assertEquals(original.config(), converted.config());
      assertArrayEquals(original.forwardAll(original.newState(), tokens),
          converted.forwardAll(converted.newState(), tokens));
      Fixtures.assertClose("f32 gguf vs reference", converted.forwardAll(converted.newState(), tokens),
          Fixtures.npy(fixture, "expected_forward_logits.npy").data());
    }
  }

  /** What rgemma bench streams to measure bandwidth: every packed matrix once, the quantized ones included. */
  @Test
  void packedMatricesAreListedOnceEach() throws IOException {
    Path gguf = quantizeFixture(DType.Q8_0);
    long quantizedBytes = 0;
    try (GgufFile file = GgufFile.open(gguf)) {
      for (GgufFile.Tensor t : file.tensors().values()) {
        if (t.dtype() == DType.Q8_0) {
          quantizedBytes += t.data().byteSize();
        }
      }
    }
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(gguf)) {
      List<dev.rgemma.kernels.PackedMatrix> packed = model.packedMatrices();
      assertEquals(packed.size(), new java.util.HashSet<>(packed).size(), "no matrix twice (identity)");
      long q8 = packed.stream().filter(m -> m.dtype() == DType.Q8_0).mapToLong(dev.rgemma.kernels.PackedMatrix::byteSize).sum();
      // Packing pads each matrix's rows to whole groups: at least the file's bytes of that type.
      assertTrue(q8 >= quantizedBytes && quantizedBytes > 0, q8 + " packed vs " + quantizedBytes + " in the file");
      assertTrue(packed.stream().anyMatch(m -> m.rows() == model.config().vocabSize()), "the embedding");
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void storageTypesFollowTheRules(DType type) throws IOException {
    Path gguf = quantizeFixture(type);
    try (GgufFile file = GgufFile.open(gguf)) {
      for (GgufFile.Tensor t : file.tensors().values()) {
        boolean matrix = t.name().endsWith("proj.weight") || t.name().endsWith("linear_x.weight")
            || t.name().endsWith("linear_y.weight") || t.name().endsWith("linear_out.weight")
            || t.name().equals(TensorNames.EMBED_TOKENS);
        boolean fits = t.dims()[0] % type.blockSize() == 0;
        DType expected = matrix && fits ? type : DType.F32;
        assertEquals(expected, t.dtype(), t.name());
      }
      assertEquals("recurrentgemma", file.requireString("general.architecture"));
      assertEquals(48, file.require("recurrentgemma.embedding_length").asLong());
    }
  }

  /**
   * On widths that are multiples of 32 (every matrix quantized): q8_0 keeps greedy decoding
   * identical to f32 and its logits close; the errors are printed for the report.
   */
  @Test
  void quantizationErrorAgainstF32() throws IOException {
    ModelConfig config = new ModelConfig(256, 64, 96, 2, 32, 64, 8, 4,
        List.of(BlockType.RECURRENT, BlockType.RECURRENT, BlockType.ATTENTION), 30f, 1e-6f, 10000f, 0.5f,
        true, 2, 1, 0);
    Path f32 = dir.resolve("f32.gguf");
    ModelQuantizer.writeSynthetic(config, 7, DType.F32, f32, null);
    int[] prompt = new SplittableRandom(3).ints(24, 0, 256).toArray();
    float[] reference;
    int[] referenceGreedy;
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(f32)) {
      reference = model.forwardAll(model.newState(), prompt);
      referenceGreedy = greedy(model, prompt, 16);
    }
    for (DType type : new DType[] {DType.BF16, DType.F16, DType.Q8_0, DType.Q4_0}) {
      Path quantized = dir.resolve(type + ".gguf");
      try (TensorSource source = Checkpoints.open(f32)) {
        ModelQuantizer.quantize(source, type, quantized, null, "test", null);
      }
      try (RecurrentGemmaModel model = RecurrentGemmaModel.load(quantized)) {
        float[] logits = model.forwardAll(model.newState(), prompt);
        double max = 0;
        double sum = 0;
        int agree = 0;
        for (int t = 0; t < prompt.length; t++) {
          for (int v = 0; v < 256; v++) {
            double delta = Math.abs(logits[t * 256 + v] - reference[t * 256 + v]);
            max = Math.max(max, delta);
            sum += delta;
          }
          agree += Fixtures.argmax(logits, t * 256, 256) == Fixtures.argmax(reference, t * 256, 256) ? 1 : 0;
        }
        int[] greedy = greedy(model, prompt, 16);
        System.out.printf(Locale.ROOT, "quantization %s: max |dlogit| %.5f, mean %.6f, argmax agreement %d/%d, "
            + "greedy 16 tokens identical: %s%n", type, max, sum / reference.length, agree, prompt.length,
            Arrays.equals(greedy, referenceGreedy));
        assertTrue(max < (type == DType.Q4_0 ? 3.0 : 0.3), type + " max |dlogit| " + max);
        if (type != DType.Q4_0) {
          assertArrayEquals(referenceGreedy, greedy, type + " greedy tokens");
        }
      }
    }
  }

  private static int[] greedy(RecurrentGemmaModel model, int[] prompt, int steps) {
    ModelState state = model.newState();
    float[] logits = model.forwardLast(state, prompt);
    int[] out = new int[steps];
    for (int s = 0; s < steps; s++) {
      out[s] = Fixtures.argmax(logits, 0, logits.length);
      logits = model.forwardLast(state, new int[] {out[s]});
    }
    return out;
  }

  /** The fixture (matrices of width 48 and 144 stay f32 in q8_0/q4_0): errors printed for the report. */
  @ParameterizedTest
  @EnumSource(DType.class)
  void fixtureQuantizationError(DType type) throws IOException {
    Path fixture = Fixtures.dir("tiny-a");
    int[] tokens = Fixtures.ints(Fixtures.expected(fixture).get("input_tokens"));
    float[] reference = Fixtures.npy(fixture, "expected_forward_logits.npy").data();
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(quantizeFixture(type))) {
      int vocab = model.config().vocabSize();
      float[] logits = model.forwardAll(model.newState(), tokens);
      double max = 0;
      double sum = 0;
      int agree = 0;
      for (int t = 0; t < tokens.length; t++) {
        for (int v = 0; v < vocab; v++) {
          double delta = Math.abs(logits[t * vocab + v] - reference[t * vocab + v]);
          max = Math.max(max, delta);
          sum += delta;
        }
        agree += Fixtures.argmax(logits, t * vocab, vocab) == Fixtures.argmax(reference, t * vocab, vocab) ? 1 : 0;
      }
      System.out.printf(Locale.ROOT, "fixture tiny-a %s: max |dlogit| %.6f, mean %.7f, argmax agreement %d/%d%n",
          type, max, sum / reference.length, agree, tokens.length);
      assertTrue(max < (type == DType.Q4_0 ? 6.0 : 0.5), type + " max |dlogit| " + max);
      if (type != DType.Q4_0) {
        assertTrue(agree >= tokens.length * 9 / 10, type + " argmax agreement " + agree);
      }
    }
  }

  /** The fixture's greedy runs give the same tokens with q8_0 weights as the reference. */
  @Test
  void q8KeepsTheFixtureGreedyTokens() throws IOException {
    Path gguf = quantizeFixture(DType.Q8_0);
    Path fixture = Fixtures.dir("tiny-a");
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(gguf)) {
      int vocab = model.config().vocabSize();
      for (JsonNode run : Fixtures.expected(fixture).get("greedy")) {
        int[] prompt = Fixtures.ints(run.get("prompt"));
        ModelState state = model.newState();
        model.forwardAll(state, Arrays.copyOf(prompt, prompt.length - 1));
        int next = prompt[prompt.length - 1];
        int[] generated = new int[run.get("steps").asInt()];
        for (int s = 0; s < generated.length; s++) {
          next = Fixtures.argmax(model.forwardLast(state, new int[] {next}), 0, vocab);
          generated[s] = next;
        }
        assertArrayEquals(Fixtures.ints(run.get("generated")), generated);
      }
    }
  }

  @Test
  void tokenizerGoesIntoTheMetadata() throws IOException {
    Path model = dir.resolve("model");
    Files.createDirectories(model);
    Files.writeString(model.resolve("tokenizer.json"), """
        {"model": {"type": "BPE", "unk_token": "<unk>",
          "vocab": {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<0x41>": 4, "a": 5, "b": 6, "ab": 7},
          "merges": ["a b"]},
         "added_tokens": [{"id": 1, "content": "<eos>", "special": true},
                          {"id": 2, "content": "<bos>", "special": true}]}
        """);
    GgufWriter writer = new GgufWriter();
    ModelConfig config = new ModelConfig(8, 4, 4, 1, 4, 4, 2, 2, List.of(BlockType.RECURRENT), 0f, 1e-6f,
        10000f, 0.5f, true, 2, 1, 0);
    ModelQuantizer.putTokenizer(writer, model, config);
    Path out = dir.resolve("tok.gguf");
    writer.write(out, null);
    try (GgufFile file = GgufFile.open(out)) {
      assertEquals(List.of("<pad>", "<eos>", "<bos>", "<unk>", "<0x41>", "a", "b", "ab"),
          file.require("tokenizer.ggml.tokens").asList());
      assertEquals(List.of(1L, 3L, 3L, 2L, 6L, 1L, 1L, 1L), file.require("tokenizer.ggml.token_type").asList());
      assertEquals(List.of("a b"), file.require("tokenizer.ggml.merges").asList());
      assertEquals(2, file.require("tokenizer.ggml.bos_token_id").asLong());
      assertEquals(3, file.require("tokenizer.ggml.unknown_token_id").asLong());
      assertTrue(file.requireString("tokenizer.huggingface.json").contains("\"merges\""));
    }
  }

  @Test
  void foreignGgufIsRejectedByName() throws IOException {
    Path out = dir.resolve("llama.gguf");
    new GgufWriter().put("general.architecture", GgufValue.ofString("llama")).write(out, null);
    RgemmaException e = assertThrows(RgemmaException.class, () -> RecurrentGemmaModel.load(out));
    assertTrue(e.getMessage().contains("llama") && e.getMessage().contains(out.toString()), e.getMessage());
    Path noConfig = dir.resolve("bare.gguf");
    new GgufWriter().put("general.architecture", GgufValue.ofString("recurrentgemma")).write(noConfig, null);
    e = assertThrows(RgemmaException.class, () -> RecurrentGemmaModel.load(noConfig));
    assertTrue(e.getMessage().contains(GgufCheckpoint.CONFIG_KEY), e.getMessage());
  }

  /** The fixture as a GGUF file with its metadata changed by {@code edit}. */
  private Path withMetadata(String name, java.util.function.Consumer<GgufWriter> edit) throws IOException {
    Path source = quantizeFixture(DType.F32);
    Path out = dir.resolve(name);
    try (GgufFile file = GgufFile.open(source)) {
      GgufWriter writer = new GgufWriter();
      file.metadata().forEach(writer::put);
      edit.accept(writer);
      for (GgufFile.Tensor t : file.tensors().values()) {
        writer.addTensor(t.name(), t.dtype(), t.dims(), target -> target.copyFrom(t.data()));
      }
      writer.write(out, null);
    }
    return out;
  }

  /** A broken tokenizer in the metadata is reported against the GGUF file and key, not a temporary copy. */
  @Test
  void brokenTokenizerMetadataIsNamed() throws IOException {
    Path badJson = withMetadata("bad-json.gguf",
        w -> w.put(GgufCheckpoint.TOKENIZER_JSON_KEY, GgufValue.ofString("{\"model\": [1, 2")));
    Path wrongType = withMetadata("wrong-type.gguf",
        w -> w.put(GgufCheckpoint.TOKENIZER_JSON_KEY, GgufValue.ofUint32(7)));
    Path strings = withMetadata("strings.gguf",
        w -> w.put(GgufCheckpoint.SENTENCEPIECE_KEY, GgufValue.ofArray(GgufValue.Type.STRING, List.of("x"))));
    for (Path gguf : List.of(badJson, wrongType, strings)) {
      try (RecurrentGemmaModel model = RecurrentGemmaModel.load(gguf)) {
        RgemmaException e = assertThrows(RgemmaException.class,
            () -> dev.rgemma.engine.TokenizerCodec.forModel(model, gguf));
        String message = e.getMessage();
        assertTrue(message.startsWith(gguf.toString()), message);
        assertTrue(!message.contains("rgemma-tokenizer"), message);
      }
    }
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(wrongType)) {
      RgemmaException e = assertThrows(RgemmaException.class,
          () -> dev.rgemma.engine.TokenizerCodec.forModel(model, wrongType));
      assertTrue(e.getMessage().contains(GgufCheckpoint.TOKENIZER_JSON_KEY) && e.getMessage().contains("UINT32"),
          e.getMessage());
    }
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(strings)) {
      RgemmaException e = assertThrows(RgemmaException.class,
          () -> dev.rgemma.engine.TokenizerCodec.forModel(model, strings));
      assertTrue(e.getMessage().contains(GgufCheckpoint.SENTENCEPIECE_KEY) && e.getMessage().contains("STRING"),
          e.getMessage());
    }
  }

  /** GGUF to GGUF: what describes the source's own encoding is rewritten, the rest carried. */
  @Test
  void conversionCarriesTheSourcesMetadataButItsEncoding() {
    for (String key : List.of("general.name", "rgemma.config_json", "tokenizer.ggml.tokens",
        "rgemma.tokenizer.huggingface_config_json", "general.quantized_by")) {
      assertTrue(ModelQuantizer.carriedFromSource(key), key);
    }
    for (String key : List.of("general.file_type", "general.quantization_version", GgufFile.ALIGNMENT_KEY,
        "quantize.imatrix.file", "quantize.imatrix.chunks_count")) {
      assertTrue(!ModelQuantizer.carriedFromSource(key), key);
    }
  }
}
