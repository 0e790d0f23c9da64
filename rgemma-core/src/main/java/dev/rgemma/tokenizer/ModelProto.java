package dev.rgemma.tokenizer;

import dev.rgemma.RgemmaException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of SentencePiece's {@code ModelProto} (sentencepiece_model.proto) that encoding and
 * decoding need, read straight from the protobuf wire format. Unknown fields are skipped, and
 * absent fields take the defaults the .proto declares.
 */
record ModelProto(List<Piece> pieces, TrainerSpec trainer, NormalizerSpec normalizer) {

  enum Type { NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE }

  record Piece(String piece, float score, Type type) {}

  record TrainerSpec(
      int modelType,
      boolean byteFallback,
      boolean treatWhitespaceAsSuffix,
      String unkSurface,
      int bosId,
      int eosId) {
    static final int UNIGRAM = 1;
    static final int BPE = 2;
  }

  record NormalizerSpec(
      String name,
      byte[] precompiledCharsmap,
      boolean addDummyPrefix,
      boolean removeExtraWhitespaces,
      boolean escapeWhitespaces) {}

  static ModelProto parse(byte[] data, String source) {
    Reader in = new Reader(data, 0, data.length, source);
    List<Piece> pieces = new ArrayList<>();
    TrainerSpec trainer = new TrainerSpec(TrainerSpec.UNIGRAM, false, false, " \u2047 ", 1, 2);
    NormalizerSpec normalizer = new NormalizerSpec("", new byte[0], true, true, true);
    while (in.hasMore()) {
      long tag = in.varint();
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      switch (field) {
        case 1 -> pieces.add(parsePiece(in.message(wire, "pieces"), pieces.size()));
        case 2 -> trainer = parseTrainer(in.message(wire, "trainer_spec"));
        case 3 -> normalizer = parseNormalizer(in.message(wire, "normalizer_spec"));
        default -> in.skip(wire);
      }
    }
    if (pieces.isEmpty()) throw new RgemmaException(source + ": ModelProto has no pieces");
    return new ModelProto(List.copyOf(pieces), trainer, normalizer);
  }

  private static Piece parsePiece(Reader in, int index) {
    String piece = null;
    float score = 0;
    Type type = Type.NORMAL;
    while (in.hasMore()) {
      long tag = in.varint();
      int wire = (int) (tag & 7);
      switch ((int) (tag >>> 3)) {
        case 1 -> piece = in.string(wire, "pieces.piece");
        case 2 -> score = in.float32(wire, "pieces.score");
        case 3 -> {
          int value = (int) in.integer(wire, "pieces.type");
          type = switch (value) {
            case 1 -> Type.NORMAL;
            case 2 -> Type.UNKNOWN;
            case 3 -> Type.CONTROL;
            case 4 -> Type.USER_DEFINED;
            case 5 -> Type.UNUSED;
            case 6 -> Type.BYTE;
            default -> throw in.error("pieces[" + index + "].type is " + value + "; expected 1..6");
          };
        }
        default -> in.skip(wire);
      }
    }
    if (piece == null || piece.isEmpty()) throw in.error("pieces[" + index + "] has an empty piece");
    return new Piece(piece, score, type);
  }

  private static TrainerSpec parseTrainer(Reader in) {
    int modelType = TrainerSpec.UNIGRAM;
    boolean byteFallback = false;
    boolean suffix = false;
    String unkSurface = " \u2047 ";
    int bosId = 1;
    int eosId = 2;
    while (in.hasMore()) {
      long tag = in.varint();
      int wire = (int) (tag & 7);
      switch ((int) (tag >>> 3)) {
        case 3 -> modelType = (int) in.integer(wire, "trainer_spec.model_type");
        case 24 -> suffix = in.integer(wire, "trainer_spec.treat_whitespace_as_suffix") != 0;
        case 35 -> byteFallback = in.integer(wire, "trainer_spec.byte_fallback") != 0;
        case 44 -> unkSurface = in.string(wire, "trainer_spec.unk_surface");
        case 41 -> bosId = (int) in.integer(wire, "trainer_spec.bos_id");
        case 42 -> eosId = (int) in.integer(wire, "trainer_spec.eos_id");
        default -> in.skip(wire);
      }
    }
    return new TrainerSpec(modelType, byteFallback, suffix, unkSurface, bosId, eosId);
  }

  private static NormalizerSpec parseNormalizer(Reader in) {
    String name = "";
    byte[] charsmap = new byte[0];
    boolean dummyPrefix = true;
    boolean removeExtra = true;
    boolean escape = true;
    while (in.hasMore()) {
      long tag = in.varint();
      int wire = (int) (tag & 7);
      switch ((int) (tag >>> 3)) {
        case 1 -> name = in.string(wire, "normalizer_spec.name");
        case 2 -> charsmap = in.bytes(wire, "normalizer_spec.precompiled_charsmap");
        case 3 -> dummyPrefix = in.integer(wire, "normalizer_spec.add_dummy_prefix") != 0;
        case 4 -> removeExtra = in.integer(wire, "normalizer_spec.remove_extra_whitespaces") != 0;
        case 5 -> escape = in.integer(wire, "normalizer_spec.escape_whitespaces") != 0;
        default -> in.skip(wire);
      }
    }
    return new NormalizerSpec(name, charsmap, dummyPrefix, removeExtra, escape);
  }

  /** A bounds-checked reader of protobuf wire format. */
  private static final class Reader {
    private static final int VARINT = 0;
    private static final int FIXED64 = 1;
    private static final int LENGTH = 2;
    private static final int FIXED32 = 5;

    private final byte[] data;
    private int position;
    private final int end;
    private final String source;

    Reader(byte[] data, int start, int end, String source) {
      this.data = data;
      this.position = start;
      this.end = end;
      this.source = source;
    }

    boolean hasMore() {
      return position < end;
    }

    RgemmaException error(String message) {
      return new RgemmaException(source + ": not a SentencePiece model (byte " + position + "): " + message);
    }

    long varint() {
      long value = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (position >= end) throw error("truncated varint");
        byte b = data[position++];
        value |= (long) (b & 0x7F) << shift;
        if (b >= 0) return value;
      }
      throw error("varint longer than 10 bytes");
    }

    long integer(int wire, String field) {
      if (wire != VARINT) throw error(field + " has wire type " + wire + "; expected a varint");
      return varint();
    }

    float float32(int wire, String field) {
      if (wire != FIXED32) throw error(field + " has wire type " + wire + "; expected fixed32");
      need(4);
      int bits = (data[position] & 0xFF) | (data[position + 1] & 0xFF) << 8
          | (data[position + 2] & 0xFF) << 16 | (data[position + 3] & 0xFF) << 24;
      position += 4;
      return Float.intBitsToFloat(bits);
    }

    byte[] bytes(int wire, String field) {
      int length = length(wire, field);
      byte[] value = java.util.Arrays.copyOfRange(data, position, position + length);
      position += length;
      return value;
    }

    String string(int wire, String field) {
      int length = length(wire, field);
      String value = new String(data, position, length, StandardCharsets.UTF_8);
      position += length;
      return value;
    }

    Reader message(int wire, String field) {
      int length = length(wire, field);
      Reader nested = new Reader(data, position, position + length, source);
      position += length;
      return nested;
    }

    private int length(int wire, String field) {
      if (wire != LENGTH) throw error(field + " has wire type " + wire + "; expected length-delimited");
      long length = varint();
      if (length < 0 || length > end - position) throw error(field + " runs past the end of its message");
      return (int) length;
    }

    void skip(int wire) {
      switch (wire) {
        case VARINT -> varint();
        case FIXED64 -> { need(8); position += 8; }
        case LENGTH -> { long n = varint(); if (n < 0 || n > end - position) throw error("field runs past the end"); position += (int) n; }
        case FIXED32 -> { need(4); position += 4; }
        default -> throw error("unsupported wire type " + wire);
      }
    }

    private void need(int n) {
      if (end - position < n) throw error("truncated field");
    }
  }
}
