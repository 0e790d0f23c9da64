package dev.rgemma.engine;

import dev.rgemma.RgemmaException;
import dev.rgemma.io.PartialFile;
import dev.rgemma.model.BlockType;
import dev.rgemma.model.LayerState;
import dev.rgemma.model.ModelConfig;
import dev.rgemma.model.ModelState;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The session file: everything a {@link Session} needs to continue exactly where it stopped.
 * Little-endian; for a given model and history capacity (the widest penalty window the session
 * generated with) the size is fixed, whatever the position.
 *
 * <pre>
 * magic        8 bytes  "RGEMSESS"
 * version      u32      1
 * fingerprint  32 bytes SHA-256 of the model (see ModelFingerprint)
 * description  u16 length + UTF-8: the model, for error messages
 * position     i64      tokens fed into the state
 * pending      i32      last generated token not fed yet, or -1
 * rng          i64      the sampler's random generator state
 * history      i32 capacity, i32 count, capacity x i32 (the count most recent tokens, oldest first)
 * layers       i32 count, then per layer:
 *                u8 kind (0 recurrent, 1 attention)
 *                recurrent: i32 n + n x f32 conv window [convWidth - 1, lruWidth],
 *                           i32 n + n x f32 RG-LRU state h [lruWidth]
 *                attention: i32 n + n x f32 keys [window, headDim],
 *                           i32 n + n x f32 values, transposed [headDim, window]
 * crc32        u32      of every byte before it
 * </pre>
 */
public final class SessionFile {
  static final byte[] MAGIC = "RGEMSESS".getBytes(StandardCharsets.US_ASCII);
  static final int VERSION = 1;
  private static final byte RECURRENT = 0;
  private static final byte ATTENTION = 1;

  private SessionFile() {}

  /** What a session file holds. {@code recentTokens} is oldest first, at most historyCapacity. */
  record Contents(ModelFingerprint fingerprint, ModelState state, int pendingToken,
      int[] recentTokens, int historyCapacity, long rngState) {}

  static void write(Path file, Contents contents) throws IOException {
    byte[] description = contents.fingerprint().description().getBytes(StandardCharsets.UTF_8);
    if (description.length > 0xFFFF) {
      description = Arrays.copyOf(description, 0xFFFF);
    }
    long size = byteSize(contents.state(), contents.historyCapacity(), description.length);
    if (size > Integer.MAX_VALUE - 8) {
      throw new RgemmaException("session state of " + size + " bytes is too large for one file");
    }
    ByteBuffer out = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
    out.put(MAGIC).putInt(VERSION).put(contents.fingerprint().sha256());
    out.putShort((short) description.length).put(description);
    out.putLong(contents.state().position()).putInt(contents.pendingToken()).putLong(contents.rngState());
    int[] recent = contents.recentTokens();
    out.putInt(contents.historyCapacity()).putInt(recent.length);
    for (int i = 0; i < contents.historyCapacity(); i++) {
      out.putInt(i < recent.length ? recent[i] : 0);
    }
    out.putInt(contents.state().layers().size());
    for (LayerState layer : contents.state().layers()) {
      switch (layer) {
        case LayerState.RecurrentState r -> {
          out.put(RECURRENT);
          putFloats(out, r.convWindow());
          putFloats(out, r.h());
        }
        case LayerState.AttentionState a -> {
          out.put(ATTENTION);
          putFloats(out, a.keysByRow(a.window()));
          putFloats(out, a.valuesTransposed(a.window()));
        }
      }
    }
    CRC32 crc = new CRC32();
    crc.update(out.array(), 0, out.position());
    out.putInt((int) crc.getValue());

    if (Files.isDirectory(file)) {
      throw isDirectory(file);
    }
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Path temporary = PartialFile.createBeside(file);
    try {
      try (OutputStream stream = Files.newOutputStream(temporary)) {
        stream.write(out.array());
      }
      PartialFile.commit(temporary, file);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  /** The exact file size for this state and history capacity. */
  static long byteSize(ModelState state, int historyCapacity, int descriptionBytes) {
    long size = MAGIC.length + 4 + 32 + 2 + descriptionBytes + 8 + 4 + 8 + 4 + 4 + 4L * historyCapacity + 4;
    for (LayerState layer : state.layers()) {
      size += 1 + 4 + 4 + switch (layer) {
        case LayerState.RecurrentState r -> layer.sizeBytes();
        // Keys and values as rows (the state's own layout pads its last group of 16).
        case LayerState.AttentionState a -> 2 * 4L * a.window() * a.headDim();
      };
    }
    return size + 4;
  }

  private static void putFloats(ByteBuffer out, float[] values) {
    out.putInt(values.length);
    out.asFloatBuffer().put(values);
    out.position(out.position() + 4 * values.length);
  }

  static Contents read(Path file, ModelFingerprint expected, ModelConfig config) throws IOException {
    if (Files.isDirectory(file)) {
      throw isDirectory(file);
    }
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, "session file not found");
    }
    byte[] bytes = Files.readAllBytes(file);
    if (bytes.length < MAGIC.length + 4 || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new RgemmaException(file + " is not an rgemma session file (it does not start with \"RGEMSESS\")");
    }
    ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    in.position(MAGIC.length);
    int version = in.getInt();
    if (version > VERSION) {
      throw new RgemmaException(file + " was written by a newer rgemma (session format version " + version
          + "; this version reads format " + VERSION + "): update rgemma to load it");
    }
    if (version < 1) {
      throw damaged(file, "format version " + version + " does not exist");
    }
    if (bytes.length < in.position() + 4) {
      throw damaged(file, "truncated");
    }
    CRC32 crc = new CRC32();
    crc.update(bytes, 0, bytes.length - 4);
    int stored = ByteBuffer.wrap(bytes, bytes.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    if (stored != (int) crc.getValue()) {
      checkSize(file, bytes, expected, config); // a file of the wrong length says so first
      throw damaged(file, String.format("checksum mismatch (CRC32 stored %08x, computed %08x)",
          stored, (int) crc.getValue()));
    }
    try {
      return parse(file, in, bytes.length - 4, expected, config);
    } catch (BufferUnderflowException e) {
      throw damaged(file, "truncated");
    }
  }

  /**
   * A file cut short (a full disk, an interrupted copy) would otherwise be reported as a checksum
   * mismatch, which reads like corruption. The size is fixed by the model, the description's length
   * and the history capacity, all known from the header, so a file whose checksum fails is told
   * apart by its length: "truncated (expected N bytes, found M)". (Only after the checksum failed:
   * the header's fields are not trusted before it.) Only for a file of this model (its
   * fingerprint matches); a file of another model has another size and is reported as such by
   * {@link #parse}.
   */
  private static void checkSize(Path file, byte[] bytes, ModelFingerprint expected, ModelConfig config) {
    int descriptionAt = MAGIC.length + 4 + 32;
    if (bytes.length < descriptionAt + 2) {
      throw damaged(file, "truncated (" + bytes.length + " bytes, the header alone takes more)");
    }
    if (!expected.matches(Arrays.copyOfRange(bytes, MAGIC.length + 4, descriptionAt))) {
      return;
    }
    ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int descriptionBytes = Short.toUnsignedInt(in.getShort(descriptionAt));
    int capacityAt = descriptionAt + 2 + descriptionBytes + 8 + 4 + 8;
    if (bytes.length < capacityAt + 4) {
      throw damaged(file, "truncated (" + bytes.length + " bytes, the header alone takes more)");
    }
    int capacity = in.getInt(capacityAt);
    if (capacity < 0) {
      return; // parse reports the inconsistent header
    }
    long size = byteSize(ModelState.fresh(config), capacity, descriptionBytes);
    if (bytes.length < size) {
      throw damaged(file, "truncated (expected " + size + " bytes, found " + bytes.length + ")");
    }
    if (bytes.length > size) {
      throw damaged(file, "expected " + size + " bytes, found " + bytes.length + " (extra data at the end)");
    }
  }

  private static RgemmaException isDirectory(Path file) {
    return new RgemmaException(file + " is a directory, expected a session file (a file path)");
  }

  private static Contents parse(Path file, ByteBuffer in, int end, ModelFingerprint expected,
      ModelConfig config) {
    in.limit(end);
    byte[] fingerprint = new byte[32];
    in.get(fingerprint);
    byte[] description = new byte[Short.toUnsignedInt(in.getShort())];
    in.get(description);
    if (!expected.matches(fingerprint)) {
      throw new RgemmaException(file + " was saved with another model (" + new String(description, StandardCharsets.UTF_8)
          + ", fingerprint " + HexFormat.of().formatHex(fingerprint, 0, 8) + "…); this model is "
          + expected.description() + ", fingerprint " + expected.hex().substring(0, 16) + "…");
    }
    long position = in.getLong();
    int pending = in.getInt();
    long rngState = in.getLong();
    int capacity = in.getInt();
    int count = in.getInt();
    if (position < 0 || pending < -1 || pending >= config.vocabSize() || capacity < 0 || count < 0
        || count > capacity) {
      throw damaged(file, "inconsistent header (position " + position + ", pending token " + pending
          + ", history " + count + " of " + capacity + ")");
    }
    if ((long) capacity * 4 > in.remaining()) {
      throw damaged(file, "truncated");
    }
    int[] recent = new int[count];
    for (int i = 0; i < capacity; i++) {
      int token = in.getInt();
      if (i < count) {
        recent[i] = token;
      }
    }
    int layerCount = in.getInt();
    if (layerCount != config.numLayers()) {
      throw damaged(file, "it holds " + layerCount + " layers, the model has " + config.numLayers());
    }
    ModelState fresh = ModelState.fresh(config);
    List<LayerState> layers = new ArrayList<>();
    for (int i = 0; i < layerCount; i++) {
      byte kind = in.get();
      BlockType type = config.blockTypes().get(i);
      LayerState expectedLayer = fresh.layer(i);
      layers.add(switch (expectedLayer) {
        case LayerState.RecurrentState r -> {
          requireKind(file, i, kind, RECURRENT, type);
          yield new LayerState.RecurrentState(
              floats(file, in, i, "conv window", r.convWindow().length), floats(file, in, i, "RG-LRU state", r.h().length));
        }
        case LayerState.AttentionState a -> {
          requireKind(file, i, kind, ATTENTION, type);
          int n = a.window() * a.headDim();
          yield LayerState.AttentionState.fromRowsAndTransposed(
              floats(file, in, i, "keys", n), floats(file, in, i, "values", n), a.headDim(), a.window());
        }
      });
    }
    if (in.hasRemaining()) {
      throw damaged(file, in.remaining() + " unexpected bytes after the last layer");
    }
    return new Contents(expected, new ModelState(layers, position), pending, recent, capacity, rngState);
  }

  private static void requireKind(Path file, int layer, byte kind, byte expected, BlockType type) {
    if (kind != expected) {
      throw damaged(file, "layer " + layer + " has state kind " + kind + ", the model's layer is " + type);
    }
  }

  private static float[] floats(Path file, ByteBuffer in, int layer, String what, int expectedLength) {
    int length = in.getInt();
    if (length != expectedLength) {
      throw damaged(file, "layer " + layer + " " + what + " has " + length + " values, expected " + expectedLength);
    }
    if ((long) length * 4 > in.remaining()) {
      throw damaged(file, "truncated");
    }
    float[] values = new float[length];
    in.asFloatBuffer().get(values);
    in.position(in.position() + 4 * length);
    return values;
  }

  private static RgemmaException damaged(Path file, String detail) {
    return new RgemmaException(file + " is damaged: " + detail);
  }
}
