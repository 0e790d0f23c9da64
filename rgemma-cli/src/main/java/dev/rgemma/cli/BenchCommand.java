package dev.rgemma.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.MachineProbe;
import dev.rgemma.kernels.PackedMatrix;
import dev.rgemma.model.Profile;
import dev.rgemma.model.BlockType;
import dev.rgemma.model.LayerState;
import dev.rgemma.model.ModelConfig;
import dev.rgemma.model.ModelQuantizer;
import dev.rgemma.model.ModelState;
import dev.rgemma.model.ModelTensors;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.Sampler;
import dev.rgemma.tensor.DType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rgemma bench}: prefill and decode speed of a synthetic model with exact shapes, next to
 * what this machine allows (streaming-read bandwidth, FMA throughput), as one JSON line.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Benchmark a synthetic model with the exact shapes of a config.",
      "The model has seeded random weights and is stored as a GGUF file in a cache",
      "directory (made on first use).",
      "Prints one JSON line: prefill and decode tokens/s, decode tokens/s at a late",
      "position (after the attention window is full; timed in eight blocks taking",
      "turns with the early decode), weight bytes read per decode token, the",
      "machine's streaming-read GB/s and FMA GFLOP/s, decode_efficiency = bytes/token",
      "x decode tok/s / measured bytes/s, prefill_efficiency = prefill FLOP/s /",
      "measured FMA FLOP/s, peak RSS and state bytes, after the kernels in use and",
      "whether their float decode loops touch ahead (on Intel processors;",
      "-Drgemma.touchAhead). measured_gb_s is read by a summing loop (four",
      "streams per thread) from the model's own packed",
      "weights by passes taken between the decode blocks (bandwidth_probe",
      "\"interleaved\": same memory, same minutes; the best pass, and their mean as",
      "measured_gb_s_interleaved_mean), or",
      "for models smaller than 4x the last-level cache (at least 1 GiB) from a",
      "buffer (\"buffer\"). The buffer's best of five passes, after the run, over as",
      "many bytes as a token reads, is always printed too (measured_gb_s_buffer,",
      "decode_efficiency_buffer), with the rate over the 4x-cache buffer alone.",
      "Nothing is timed before a warm-up (prompts, early and late decode steps) has",
      "run until the JIT settles: until a round spends under 5%% of its time",
      "compiling (2 to 6 rounds). The timed states are made before it, so that its",
      "garbage collections, not the timed ones, move them to the old generation."
    })
final class BenchCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--config", defaultValue = "2b", paramLabel = "2b|9b|FILE",
      description = "Model shapes: 2b, 9b, or a config.json file (default: ${DEFAULT-VALUE}).")
  String config;

  @Option(names = "--type", defaultValue = "bf16", paramLabel = "TYPE",
      description = "Weight type: q8_0, q4_0, bf16, f16 or f32 (default: ${DEFAULT-VALUE}).")
  String type;

  @Option(names = "--prompt-tokens", defaultValue = "512", paramLabel = "N",
      description = "Prompt length for prefill (default: ${DEFAULT-VALUE}).")
  int promptTokens;

  @Option(names = "--gen-tokens", defaultValue = "128", paramLabel = "M",
      description = "Tokens decoded after the prompt (default: ${DEFAULT-VALUE}).")
  int genTokens;

  @Option(names = "--late-position", defaultValue = "4096", paramLabel = "P",
      description = "Position for the late-decode measurement (default: ${DEFAULT-VALUE}); the state is "
          + "fast-forwarded there with a full attention window.")
  long latePosition;

  @Option(names = "--threads", paramLabel = "T",
      description = "Kernel threads (default: all available processors).")
  Integer threads;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the random weights (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--cache-dir", paramLabel = "DIR",
      description = "Where generated models are kept (default: <java.io.tmpdir>/rgemma-bench).")
  Path cacheDir;

  @Option(names = "--profile",
      description = "Also time each part of the forward pass (adds \"prefill_profile_ms\": milliseconds for "
          + "the whole prompt, and \"decode_profile_ms\": milliseconds per generated token, by part).")
  boolean profile;

  @Option(names = "--no-probe", description = "Skip the bandwidth and FMA measurements (efficiencies are then null).")
  boolean noProbe;

  /** {@code "name":{"part":ms,...,"other":ms},} where other is {@code totalMillis} minus the parts. */
  private static void appendProfile(StringBuilder json, String name, java.util.Map<String, Double> parts,
      double totalMillis) {
    json.append('"').append(name).append("\":{");
    double sum = 0;
    for (var part : parts.entrySet()) {
      json.append(String.format(Locale.ROOT, "\"%s\":%.2f,", part.getKey(), part.getValue()));
      sum += part.getValue();
    }
    json.append(String.format(Locale.ROOT, "\"other\":%.2f},", totalMillis - sum));
  }

  @Override
  public Integer call() throws Exception {
    DType weights = QuantizeCommand.parseType("--type", type);
    if (promptTokens < 1 || genTokens < 1) {
      throw new IllegalArgumentException("--prompt-tokens and --gen-tokens must be >= 1");
    }
    if (threads != null) {
      if (threads < 1) {
        throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
      }
      Kernels.setThreads(threads);
    }
    ModelConfig modelConfig = loadConfig(config);
    Path dir = cacheDir != null ? cacheDir : Path.of(System.getProperty("java.io.tmpdir"), "rgemma-bench");
    Files.createDirectories(dir);
    String key = HexFormat.of().toHexDigits(modelConfig.toJson().toString().hashCode());
    Path file = dir.resolve("synthetic-" + key + "-seed" + seed + "-" + weights.toString().toLowerCase(Locale.ROOT) + ".gguf");
    if (!Files.isRegularFile(file)) {
      ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), "generating " + file.getFileName());
      try {
        ModelQuantizer.writeSynthetic(modelConfig, seed, weights, file, bar::update);
      } finally {
        bar.finish();
      }
    }
    // Generating the model maps its pages into this process: start the peak-RSS count afresh.
    resetPeakRss();
    long bytesPerToken = 0;
    double flopsPerTokenMatrices = 0;
    for (ModelTensors.Spec spec : ModelTensors.of(modelConfig)) {
      DType stored = ModelQuantizer.storageType(spec, weights);
      long elements = 1;
      for (long d : spec.shape()) {
        elements *= d;
      }
      // Every tensor is read once per decode token; the embedding as the (tied) output matrix.
      bytesPerToken += stored.byteSize(elements);
      if (spec.role() == ModelTensors.Role.MATRIX && !spec.name().equals("model.embed_tokens.weight")) {
        flopsPerTokenMatrices += 2.0 * elements;
      }
    }
    SplittableRandom random = new SplittableRandom(seed);
    int vocab = modelConfig.vocabSize();
    int[] prompt = random.ints(promptTokens, 0, vocab).toArray();
    double prefillSeconds;
    java.util.Map<String, Double> prefillProfile;
    double decodeSeconds;
    double lateSeconds;
    int lateTokens = Math.min(genTokens, 64);
    long stateBytes;
    MachineProbe.Pass pass = null;
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(file)) {
      // The bandwidth is measured over the model's own packed weights, between the decode blocks,
      // when they outsize the caches as the probe's buffer would (else over a buffer, after).
      java.util.List<PackedMatrix> matrices = model.packedMatrices();
      long packedBytes = matrices.stream().mapToLong(PackedMatrix::byteSize).sum();
      if (!noProbe && packedBytes >= MachineProbe.defaultBufferBytes()) {
        pass = MachineProbe.pass(matrices);
      }
      // The timed states exist before the warm-up, so that its collections move them to the old
      // generation: promoted during the timed decode instead, into old-generation pages not touched
      // before, they cost 60-220 ms of page faults per collection on our VM (BENCHMARKS.md, stop 25).
      ModelState state = model.newState();
      stateBytes = state.sizeBytes();
      ModelState late = lateState(model, latePosition, random);
      warmUp(model, prompt, random, vocab, pass, late);
      if (pass != null) {
        pass.reset(); // only the passes between the timed blocks count
      }
      if (profile) {
        Profile.start();
      }
      long t0 = System.nanoTime();
      float[] logits = model.forwardLast(state, prompt);
      prefillSeconds = (System.nanoTime() - t0) / 1e9;
      prefillProfile = Profile.millis(1);
      // Early decode (after the prompt) and late decode are timed in alternating blocks, so that a
      // drift in the machine's speed (on our VM up to 30 % within one run, BENCHMARKS.md) falls on
      // both alike instead of on whichever ran second. The early tokens still run one after another
      // from the prompt's state; only the clock is paused between blocks.
      float[] lateLogits = model.forwardLast(late, new int[] {prompt[0]});
      int blocks = Math.min(DECODE_BLOCKS, lateTokens);
      long decodeNanos = 0;
      long lateNanos = 0;
      if (profile) {
        Profile.start();
      }
      for (int block = 0; block < blocks; block++) {
        if (profile) {
          Profile.resume();
        }
        t0 = System.nanoTime();
        for (int i = genTokens * block / blocks; i < genTokens * (block + 1) / blocks; i++) {
          logits = model.forwardLast(state, new int[] {Sampler.argmax(logits)});
        }
        decodeNanos += System.nanoTime() - t0;
        Profile.stop();
        if (pass != null) {
          pass.run();
        }
        t0 = System.nanoTime();
        for (int i = lateTokens * block / blocks; i < lateTokens * (block + 1) / blocks; i++) {
          lateLogits = model.forwardLast(late, new int[] {Sampler.argmax(lateLogits)});
        }
        lateNanos += System.nanoTime() - t0;
        if (pass != null) {
          pass.run();
        }
      }
      decodeSeconds = decodeNanos / 1e9;
      lateSeconds = lateNanos / 1e9;
    }
    long peakRss = peakRssBytes();
    double attentionFlops = 0;
    long attentionLayers = modelConfig.blockTypes().stream().filter(b -> b == BlockType.ATTENTION).count();
    for (int t = 0; t < promptTokens; t++) {
      // Scores and weighted values: 2 x 2 x heads x headDim per visible key.
      attentionFlops += 4.0 * modelConfig.numHeads() * modelConfig.headDim()
          * Math.min(t + 1, modelConfig.attentionWindowSize() + 1) * attentionLayers;
    }
    double prefillFlops = flopsPerTokenMatrices * promptTokens + attentionFlops
        + 2.0 * vocab * modelConfig.hiddenSize();
    double prefillTokS = promptTokens / prefillSeconds;
    double decodeTokS = genTokens / decodeSeconds;
    double lateTokS = lateTokens / lateSeconds;
    // Streamed from a buffer as large as the weights a decode step reads (at least the default of
    // four times the last-level cache): on a VM the rate depends on the footprint (MachineProbe).
    long llcBuffer = MachineProbe.defaultBufferBytes();
    long probeBuffer = Math.max(llcBuffer, (bytesPerToken + (4L << 20) - 1) / (4L << 20) * (4L << 20));
    MachineProbe.Result probe = noProbe ? null : MachineProbe.measure(probeBuffer);
    double llcBufferRate = noProbe ? Double.NaN
        : probeBuffer == llcBuffer ? probe.readBytesPerSecond() : MachineProbe.streamingReadBandwidth(llcBuffer, 5);
    // The rate decode_efficiency divides by: the best of the interleaved passes (a pass is short, so
    // their mean also catches moments when the VM stalls a core, and read up to 1.2x the decode's
    // rate in such runs), else the buffer's best pass.
    double interleavedMean = pass != null ? pass.meanRate() : Double.NaN;
    double bandwidth = pass != null ? pass.bestRate() : noProbe ? Double.NaN : probe.readBytesPerSecond();
    int passes = pass != null ? pass.passes() : 0;
    StringBuilder json = new StringBuilder();
    json.append(String.format(Locale.ROOT,
        "{\"config\":\"%s\",\"type\":\"%s\",\"threads\":%d,\"kernels\":\"%s\",\"touch_ahead\":%b,\"prompt_tokens\":%d,\"gen_tokens\":%d,"
            + "\"prefill_tok_s\":%.3f,\"decode_tok_s\":%.3f,\"decode_tok_s_late\":%.3f,\"late_position\":%d,"
            + "\"weight_bytes_per_token\":%d,\"prefill_gflop_s\":%.2f,",
        jsonEscape(config), weights.toString().toLowerCase(Locale.ROOT), Kernels.threads(), Kernels.implementation(),
        Kernels.touchesAhead(), promptTokens, genTokens, prefillTokS, decodeTokS, lateTokS, latePosition, bytesPerToken,
        prefillFlops / prefillSeconds / 1e9));
    if (probe != null) {
      json.append(String.format(Locale.ROOT,
          "\"bandwidth_probe\":\"%s\",\"measured_gb_s\":%.2f,\"measured_gb_s_interleaved_mean\":%s,"
              + "\"interleaved_passes\":%d,\"interleaved_pass_bytes\":%s,"
              + "\"probe_buffer_bytes\":%d,\"measured_gb_s_buffer\":%.2f,\"measured_gb_s_llc_buffer\":%.2f,"
              + "\"measured_fma_gflop_s\":%.1f,\"decode_efficiency\":%.3f,\"decode_efficiency_buffer\":%.3f,"
              + "\"prefill_efficiency\":%.3f,",
          pass != null ? "interleaved" : "buffer", bandwidth / 1e9,
          pass != null ? String.format(Locale.ROOT, "%.2f", interleavedMean / 1e9) : "null",
          passes, pass != null ? Long.toString(pass.bytes()) : "null",
          probe.bufferBytes(), probe.readBytesPerSecond() / 1e9, llcBufferRate / 1e9,
          probe.fmaFlopsPerSecond() / 1e9, bytesPerToken * decodeTokS / bandwidth,
          bytesPerToken * decodeTokS / probe.readBytesPerSecond(),
          prefillFlops / prefillSeconds / probe.fmaFlopsPerSecond()));
    } else {
      json.append("\"bandwidth_probe\":null,\"measured_gb_s\":null,\"measured_gb_s_interleaved_mean\":null,"
          + "\"interleaved_passes\":0,\"interleaved_pass_bytes\":null,"
          + "\"probe_buffer_bytes\":null,\"measured_gb_s_buffer\":null,\"measured_gb_s_llc_buffer\":null,"
          + "\"measured_fma_gflop_s\":null,\"decode_efficiency\":null,\"decode_efficiency_buffer\":null,"
          + "\"prefill_efficiency\":null,");
    }
    if (profile) {
      appendProfile(json, "prefill_profile_ms", prefillProfile, prefillSeconds * 1e3);
      appendProfile(json, "decode_profile_ms", Profile.millis(genTokens), decodeSeconds * 1e3 / genTokens);
    }
    json.append(String.format(Locale.ROOT, "\"peak_rss_bytes\":%d,\"weights_file_bytes\":%d,\"state_bytes\":%d}",
        peakRss, Files.size(file), stateBytes));
    spec.commandLine().getOut().println(json);
    spec.commandLine().getOut().flush();
    return 0;
  }

  /**
   * Warm-up: runs every kernel path (prefill micro-kernels for 12, 4 and 1 tokens, decode) until
   * the JIT has settled, so that compilations do not share the cores with what is timed: rounds of
   * a prompt and WARM_DECODE_TOKENS decode steps, at least two, until a round spends under
   * QUIET_COMPILE_SHARE of its time compiling (at most WARM_ROUNDS). With two rounds of 3 steps, C2
   * was still compiling decode-path methods during the first timed tokens (-XX:+PrintCompilation)
   * and the first token took twice as long; rare methods keep reaching the compile thresholds for
   * many rounds (~0.2 s each), so "no compilation at all" never comes. Decode steps from a late
   * state (full attention windows) are part of each round, so that their code paths are compiled
   * before the early and late blocks are timed in turn, from {@code warmLate} (the timed late
   * state, a few steps further on). Its prompt state (34 MB) is not kept.
   */
  private void warmUp(RecurrentGemmaModel model, int[] prompt, SplittableRandom random, int vocab,
      MachineProbe.Pass pass, ModelState warmLate) {
    int[] warmPrompt = random.ints(Math.min(promptTokens, 256) + 17, 0, vocab).toArray();
    ModelState warm = model.newState(); // one state for every round: no 34 MB of garbage each
    untilCompiled(() -> {
      model.forwardLast(warm, warmPrompt);
      for (int i = 0; i < WARM_DECODE_TOKENS; i++) {
        model.forwardLast(warm, new int[] {prompt[i % prompt.length]});
      }
      for (int i = 0; i < WARM_LATE_TOKENS; i++) {
        model.forwardLast(warmLate, new int[] {prompt[i % prompt.length]});
      }
      if (pass != null) {
        pass.run();
      }
    });
  }

  /**
   * Runs {@code round} until the JIT has settled: at least two rounds, until one spends under
   * {@link #QUIET_COMPILE_SHARE} of its time compiling, at most {@link #WARM_ROUNDS}. Returns the
   * rounds run. (Also {@code rgemma bench-batch}'s warm-up.)
   */
  static int untilCompiled(Runnable round) {
    for (int rounds = 1; ; rounds++) {
      long compiled = compileMillis();
      long start = System.nanoTime();
      round.run();
      double roundMillis = (System.nanoTime() - start) / 1e6;
      if (rounds >= WARM_ROUNDS || rounds >= 2 && compileMillis() - compiled < QUIET_COMPILE_SHARE * roundMillis) {
        return rounds;
      }
    }
  }

  /** Blocks in which early and late decode take turns (fewer when there are fewer late tokens). */
  private static final int DECODE_BLOCKS = 8; // 4 until stop 22: one drifting run read q8_0 late 12.9 % slower

  /** Decode steps after each warm-up prompt. */
  private static final int WARM_DECODE_TOKENS = 16;
  /** Decode steps from the late warm-up state in each round. */
  private static final int WARM_LATE_TOKENS = 4;
  /** Most warm-up rounds (prompt and decode steps). */
  private static final int WARM_ROUNDS = 6;
  /** A warm-up round whose JIT compilation time is under this share of its time ends the warm-up. */
  private static final double QUIET_COMPILE_SHARE = 0.05;

  /** Milliseconds the JIT has spent compiling so far, or 0 where the JVM does not say. */
  private static long compileMillis() {
    var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
    return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
  }

  /**
   * A state at {@code position} whose attention windows are full of small random keys and values
   * and whose recurrent states are random: decoding from it costs what decoding after {@code
   * position} real tokens costs (the work does not depend on the values).
   */
  private static ModelState lateState(RecurrentGemmaModel model, long position, SplittableRandom random) {
    List<LayerState> layers = new ArrayList<>();
    for (LayerState layer : model.newState().layers()) {
      switch (layer) {
        case LayerState.RecurrentState r -> {
          fill(r.convWindow(), random);
          fill(r.h(), random);
          layers.add(r);
        }
        case LayerState.AttentionState a -> {
          fill(a.keys(), random);
          fill(a.values(), random);
          layers.add(a);
        }
      }
    }
    return new ModelState(layers, position);
  }

  private static void fill(float[] values, SplittableRandom random) {
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (random.nextDouble() - 0.5) * 0.1f;
    }
  }

  static ModelConfig loadConfig(String config) throws IOException {
    String preset = config.toLowerCase(Locale.ROOT);
    if (preset.equals("2b") || preset.equals("9b")) {
      try (InputStream in = BenchCommand.class.getResourceAsStream("configs/" + preset + ".json")) {
        return ModelConfig.fromJson(new ObjectMapper().readTree(in));
      }
    }
    Path file = Path.of(config);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("--config must be 2b, 9b or a config.json file; '" + config + "' is none");
    }
    return ModelConfig.load(file);
  }

  /** Linux: writing 5 to clear_refs resets VmHWM to the current RSS (best effort). */
  private static void resetPeakRss() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    } catch (IOException | RuntimeException e) {
      // Not Linux, or not allowed: the peak then includes the generation of the model file.
    }
  }

  /** VmHWM from /proc/self/status, or -1 where there is none. */
  private static long peakRssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  private static String jsonEscape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }
}
