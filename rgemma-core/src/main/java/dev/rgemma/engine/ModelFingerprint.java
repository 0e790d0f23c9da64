package dev.rgemma.engine;

import dev.rgemma.model.ModelConfig;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.model.TensorNames;
import dev.rgemma.model.TensorSource;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Identifies a model for session files: SHA-256 over the config and, for the embedding, the final
 * norm and every layer's two norms, the tensor's name, dtype, shape and a sample of its bytes
 * (all of a small tensor, 64 evenly spaced 64-byte pieces of a large one). Cheap to compute even
 * for a 9B model, and different for different checkpoints or fine-tunes.
 *
 * @param sha256 32 bytes
 * @param description a short human-readable summary, for error messages
 */
record ModelFingerprint(byte[] sha256, String description) {
  private static final int SAMPLES = 64;
  private static final int SAMPLE_BYTES = 64;

  static ModelFingerprint of(RecurrentGemmaModel model) {
    ModelConfig config = model.config();
    MessageDigest digest = newDigest();
    digest.update(config.toJson().toString().getBytes(StandardCharsets.UTF_8));
    List<String> names = new ArrayList<>(List.of(
        TensorNames.EMBED_TOKENS, TensorNames.LM_HEAD, TensorNames.FINAL_NORM));
    for (int i = 0; i < config.numLayers(); i++) {
      names.add(TensorNames.temporalPreNorm(i));
      names.add(TensorNames.channelPreNorm(i));
    }
    TensorSource source = model.source();
    for (String name : names) {
      source.find(name).ifPresent(tensor -> {
        digest.update((name + " " + tensor.dtype() + " " + Arrays.toString(tensor.shape()) + "\n")
            .getBytes(StandardCharsets.UTF_8));
        sample(tensor.data(), digest);
      });
    }
    String description = String.format(java.util.Locale.ROOT,
        "%d layers, hidden %d, vocab %d, window %d, %s", config.numLayers(), config.hiddenSize(),
        config.vocabSize(), config.attentionWindowSize(), source.location());
    return new ModelFingerprint(digest.digest(), description);
  }

  private static void sample(MemorySegment data, MessageDigest digest) {
    long size = data.byteSize();
    if (size <= (long) SAMPLES * SAMPLE_BYTES) {
      digest.update(data.toArray(ValueLayout.JAVA_BYTE));
      return;
    }
    long stride = (size - SAMPLE_BYTES) / (SAMPLES - 1);
    for (int i = 0; i < SAMPLES; i++) {
      digest.update(data.asSlice(i * stride, SAMPLE_BYTES).toArray(ValueLayout.JAVA_BYTE));
    }
  }

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  String hex() {
    return HexFormat.of().formatHex(sha256);
  }

  boolean matches(byte[] other) {
    return MessageDigest.isEqual(sha256, other);
  }
}
