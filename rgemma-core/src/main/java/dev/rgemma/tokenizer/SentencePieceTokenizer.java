package dev.rgemma.tokenizer;

import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * A SentencePiece BPE model ({@code tokenizer.model}) encoded and decoded as SentencePiece 0.1.x
 * does: normalization (precompiled rules, dummy prefix, whitespace folding and escaping),
 * user-defined symbols kept whole, merges of the highest-scoring adjacent pair first (leftmost on
 * ties), unused pieces split again, and unknown characters spelled as {@code <0xNN>} byte pieces
 * when the model has byte fallback. Control symbols written in the text ({@code <bos>}, ...) are
 * cut out first and become their ids, as in Hugging Face's SentencePiece-based tokenizers.
 */
final class SentencePieceTokenizer implements Tokenizer {
  private static final byte[] SPACE_SYMBOL = {(byte) 0xE2, (byte) 0x96, (byte) 0x81}; // U+2581
  private static final byte[] SPACE = {' '};
  private static final byte[] REPLACEMENT_BYTES = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};

  private final Path source;
  private final String[] pieces;
  private final ModelProto.Type[] types;
  private final Map<String, Integer> normalIds = new HashMap<>(); // NORMAL, USER_DEFINED, UNUSED
  private final Map<String, Integer> reservedIds = new HashMap<>(); // CONTROL, UNKNOWN, BYTE
  private final int unknownId;
  private final int bosId;
  private final int eosId;
  private final boolean byteFallback;
  private final String unknownSurface;
  private final int[] byteIds = new int[256];
  private final int[] bmpIds = new int[65536];
  private final Map<Integer, Integer> supplementaryIds = new HashMap<>();
  private final ByteTrie userSymbols = new ByteTrie();
  private final TokenMatcher controlSymbols = new TokenMatcher();
  private final PrecompiledCharsMap charsMap; // null: identity
  private final boolean addDummyPrefix;
  private final boolean removeExtraWhitespaces;
  private final boolean escapeWhitespaces;
  private final BpeMerger merger;

  private SentencePieceTokenizer(Path source, ModelProto model) {
    this.source = source;
    if (model.trainer().modelType() != ModelProto.TrainerSpec.BPE) {
      throw error("trainer_spec.model_type is " + model.trainer().modelType() + "; only BPE (2) is supported");
    }
    if (model.trainer().treatWhitespaceAsSuffix()) {
      throw error("trainer_spec.treat_whitespace_as_suffix is not supported");
    }
    List<ModelProto.Piece> list = model.pieces();
    int n = list.size();
    pieces = new String[n];
    types = new ModelProto.Type[n];
    int unknown = -1;
    Arrays.fill(byteIds, -1);
    Arrays.fill(bmpIds, -1);
    for (int id = 0; id < n; id++) {
      ModelProto.Piece piece = list.get(id);
      pieces[id] = piece.piece();
      types[id] = piece.type();
      Map<String, Integer> target = isNormal(piece.type()) ? normalIds : reservedIds;
      if (target.putIfAbsent(piece.piece(), id) != null) {
        throw error("piece \"" + piece.piece() + "\" (id " + id + ") is defined twice");
      }
      switch (piece.type()) {
        case UNKNOWN -> unknown = id;
        case CONTROL -> controlSymbols.add(piece.piece(), id);
        case USER_DEFINED -> userSymbols.add(Utf8.encode(piece.piece()), id);
        case BYTE -> {
          int b = JsonDecoder.byteOf(piece.piece());
          if (b < 0) throw error("byte piece \"" + piece.piece() + "\" (id " + id + ") is not <0xNN>");
          byteIds[b] = id;
        }
        default -> {}
      }
      if (isNormal(piece.type()) && piece.piece().codePointCount(0, piece.piece().length()) == 1) {
        int codePoint = piece.piece().codePointAt(0);
        if (codePoint < 65536) bmpIds[codePoint] = id;
        else supplementaryIds.put(codePoint, id);
      }
    }
    if (unknown < 0) throw error("the model has no UNKNOWN piece");
    unknownId = unknown;
    byteFallback = model.trainer().byteFallback();
    if (byteFallback) {
      for (int b = 0; b < 256; b++) {
        if (byteIds[b] < 0) throw error("byte_fallback is set but piece <0x" + String.format("%02X", b) + "> is missing");
      }
    }
    unknownSurface = model.trainer().unkSurface();
    bosId = controlOrMinusOne(model.trainer().bosId());
    eosId = controlOrMinusOne(model.trainer().eosId());

    ModelProto.NormalizerSpec spec = model.normalizer();
    charsMap = spec.precompiledCharsmap().length == 0 ? null : new PrecompiledCharsMap(spec.precompiledCharsmap(), source.toString());
    addDummyPrefix = spec.addDummyPrefix();
    removeExtraWhitespaces = spec.removeExtraWhitespaces();
    escapeWhitespaces = spec.escapeWhitespaces();

    // Every way to split a piece into two pieces is a merge rule; its priority is the rank of the
    // piece's score (equal scores share a rank, so the left position breaks the tie).
    TreeSet<Float> scores = new TreeSet<>();
    for (ModelProto.Piece piece : list) if (isNormal(piece.type())) scores.add(piece.score());
    Map<Float, Integer> rank = new HashMap<>();
    for (Float score : scores.descendingSet()) rank.put(score, rank.size());
    int rules = 0;
    for (ModelProto.Piece piece : list) if (isNormal(piece.type())) rules += piece.piece().length();
    merger = new BpeMerger(Math.max(16, rules));
    for (int id = 0; id < n; id++) {
      if (!isNormal(types[id])) continue;
      String piece = pieces[id];
      int priority = rank.get(list.get(id).score());
      for (int k = piece.offsetByCodePoints(0, 1); k < piece.length(); k = piece.offsetByCodePoints(k, 1)) {
        Integer left = normalIds.get(piece.substring(0, k));
        Integer right = normalIds.get(piece.substring(k));
        if (left != null && right != null) {
          merger.addRule(left, right, priority, id);
          merger.addMergedToken(piece);
        }
      }
    }
  }

  static SentencePieceTokenizer load(Path file) throws IOException {
    byte[] data = Files.readAllBytes(file);
    return new SentencePieceTokenizer(file, ModelProto.parse(data, file.toString()));
  }

  private static boolean isNormal(ModelProto.Type type) {
    return type == ModelProto.Type.NORMAL || type == ModelProto.Type.USER_DEFINED || type == ModelProto.Type.UNUSED;
  }

  private int controlOrMinusOne(int id) {
    return id >= 0 && id < pieces.length && types[id] == ModelProto.Type.CONTROL ? id : -1;
  }

  private RgemmaException error(String message) {
    return new RgemmaException(source + ": " + message);
  }

  // ---- encoding ----

  @Override
  public int[] encode(String text, boolean addSpecialTokens) {
    IntList out = new IntList(text.length() / 3 + 8);
    if (addSpecialTokens && bosId >= 0) out.add(bosId);
    BpeMerger.Workspace work = new BpeMerger.Workspace();
    for (TokenMatcher.Segment segment : controlSymbols.split(text)) {
      if (segment.isToken()) out.add(segment.tokenId());
      else encodeText(Utf8.encode(segment.text()), out, work);
    }
    return out.toArray();
  }

  private void encodeText(byte[] input, IntList out, BpeMerger.Workspace work) {
    PrecompiledCharsMap.ByteSink normalized = normalize(input);
    byte[] text = normalized.bytes;
    int length = normalized.size;
    if (length == 0) return;

    // Split into symbols: user-defined symbols whole (and frozen), otherwise one character each.
    int[] ids = new int[length];
    int[] codePoints = new int[length]; // -1 for user-defined symbols
    int[] starts = new int[length + 1];
    int count = 0;
    for (int at = 0; at < length; ) {
      long match = userSymbols.longestMatch(text, at, length);
      starts[count] = at;
      if (match > 0) {
        codePoints[count] = -1;
        ids[count++] = frozen((int) match);
        at += (int) (match >>> 32);
        continue;
      }
      int charLength = Math.min(length - at, oneCharLength(text[at]));
      codePoints[count] = decodeChar(text, at, charLength);
      ids[count++] = idOfChar(text, at, charLength);
      at += charLength;
    }
    starts[count] = length;

    Map<Integer, long[]> formedFrom = new HashMap<>(); // UNUSED pieces: how they were formed
    BpeMerger.MergeListener listener = (a, b, merged) -> {
      if (types[merged] == ModelProto.Type.UNUSED) formedFrom.put(merged, new long[] {a, b});
    };
    int[] segment = new int[count];
    int[] origin = new int[count];
    boolean previousUnknown = false;
    int start = 0;
    for (int i = 1; i <= count; i++) {
      if (i < count && codePoints[i - 1] >= 0 && codePoints[i] >= 0
          && merger.joinable(codePoints[i - 1], codePoints[i])) {
        continue;
      }
      int segmentLength = i - start;
      System.arraycopy(ids, start, segment, 0, segmentLength);
      int left = merger.merge(segment, segmentLength, origin, listener, work);
      for (int k = 0; k < left; k++) {
        int id = segment[k];
        if (id <= -2) {
          out.add(-2 - id);
          previousUnknown = false;
        } else if (id >= 0) {
          resegment(id, formedFrom, out);
          previousUnknown = false;
        } else {
          int from = starts[start + origin[k]];
          int to = starts[start + origin[k] + 1];
          if (byteFallback) {
            for (int b = from; b < to; b++) out.add(byteIds[text[b] & 0xFF]);
          } else if (!previousUnknown) {
            out.add(unknownId); // SentencePiece fuses a run of unknown characters into one
          }
          previousUnknown = !byteFallback;
        }
      }
      start = i;
    }
  }

  private void resegment(int id, Map<Integer, long[]> formedFrom, IntList out) {
    long[] parts = types[id] == ModelProto.Type.UNUSED ? formedFrom.get(id) : null;
    if (parts == null) {
      out.add(id);
      return;
    }
    resegment((int) parts[0], formedFrom, out);
    resegment((int) parts[1], formedFrom, out);
  }

  private static int frozen(int id) {
    return -2 - id;
  }

  private int idOfChar(byte[] text, int at, int length) {
    int codePoint = decodeChar(text, at, length);
    if (codePoint < 0) return BpeMerger.NO_ID;
    if (codePoint < 65536) return bmpIds[codePoint];
    return supplementaryIds.getOrDefault(codePoint, BpeMerger.NO_ID);
  }

  private static int decodeChar(byte[] text, int at, int length) {
    int lead = text[at] & 0xFF;
    if (length == 1) return lead < 0x80 ? lead : -1;
    int codePoint = lead & (0x7F >> length);
    for (int i = 1; i < length; i++) codePoint = (codePoint << 6) | (text[at + i] & 0x3F);
    return codePoint;
  }

  /** string_util::OneCharLen: the length a UTF-8 lead byte announces (1 for a stray byte). */
  private static int oneCharLength(byte lead) {
    int high = (lead & 0xFF) >>> 4;
    return high < 12 ? 1 : high < 14 ? 2 : high == 14 ? 3 : 4;
  }

  /** SentencePiece's Normalizer::Normalize (whitespace folding, dummy prefix, escaping). */
  private PrecompiledCharsMap.ByteSink normalize(byte[] input) {
    PrecompiledCharsMap.ByteSink out = new PrecompiledCharsMap.ByteSink(input.length * 3 / 2 + 4);
    int n = input.length;
    int at = 0;
    Prefix prefix = new Prefix();
    if (removeExtraWhitespaces) {
      while (at < n) {
        normalizePrefix(input, at, prefix);
        if (!prefix.isSingleSpace()) break;
        at += prefix.consumed;
      }
    }
    if (at == n) return out;
    if (addDummyPrefix) out.add(escapeWhitespaces ? SPACE_SYMBOL : SPACE, 0, escapeWhitespaces ? 3 : 1);
    boolean previousSpace = removeExtraWhitespaces;
    while (at < n) {
      normalizePrefix(input, at, prefix);
      int from = prefix.from;
      while (previousSpace && from < prefix.to && prefix.bytes[from] == ' ') from++;
      if (from < prefix.to) {
        for (int i = from; i < prefix.to; i++) {
          byte b = prefix.bytes[i];
          if (escapeWhitespaces && b == ' ') out.add(SPACE_SYMBOL, 0, 3);
          else out.add(b);
        }
        previousSpace = prefix.bytes[prefix.to - 1] == ' ';
      }
      at += prefix.consumed;
      if (!removeExtraWhitespaces) previousSpace = false;
    }
    if (removeExtraWhitespaces) {
      byte[] space = escapeWhitespaces ? SPACE_SYMBOL : SPACE;
      while (out.endsWith(space)) out.size -= space.length;
    }
    return out;
  }

  /** The normalized form of the input's next character or rule match: bytes[from, to), consuming {@code consumed}. */
  private static final class Prefix {
    byte[] bytes;
    int from;
    int to;
    int consumed;

    boolean isSingleSpace() {
      return to - from == 1 && bytes[from] == ' ';
    }
  }


  private void normalizePrefix(byte[] input, int at, Prefix prefix) {
    long match = userSymbols.longestMatch(input, at, input.length);
    if (match > 0) {
      int matched = (int) (match >>> 32);
      set(prefix, input, at, at + matched, matched);
      return;
    }
    if (charsMap != null) {
      long rule = charsMap.longestMatch(input, at, input.length);
      if (rule >= 0) {
        PrecompiledCharsMap.ByteSink replacement = new PrecompiledCharsMap.ByteSink(8);
        charsMap.appendReplacement((int) rule, replacement);
        set(prefix, replacement.bytes, 0, replacement.size, (int) (rule >>> 32));
        return;
      }
    }
    int length = Math.min(input.length - at, oneCharLength(input[at]));
    if (isValidChar(input, at, length)) {
      set(prefix, input, at, at + length, length);
    } else {
      set(prefix, REPLACEMENT_BYTES, 0, 3, 1);
    }
  }

  private static boolean isValidChar(byte[] input, int at, int length) {
    int lead = input[at] & 0xFF;
    if (lead < 0x80) return true;
    if (length < 2 || (lead >= 0x80 && lead < 0xC0)) return false;
    for (int i = 1; i < length; i++) if ((input[at + i] & 0xC0) != 0x80) return false;
    int codePoint = decodeChar(input, at, length);
    int minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    return codePoint >= minimum && (codePoint < 0xD800 || (codePoint >= 0xE000 && codePoint <= 0x10FFFF));
  }

  private static void set(Prefix prefix, byte[] bytes, int from, int to, int consumed) {
    prefix.bytes = bytes;
    prefix.from = from;
    prefix.to = to;
    prefix.consumed = consumed;
  }

  // ---- decoding ----

  @Override
  public String decode(int[] ids, boolean skipSpecialTokens) {
    StringBuilder out = new StringBuilder();
    DecodeSession session = newSession(skipSpecialTokens);
    for (int id : ids) session.accept(id, out);
    session.finish(out);
    return out.toString();
  }

  @Override
  public StreamingDecoder newStreamingDecoder(boolean skipSpecialTokens) {
    return new StreamingDecoder(newSession(skipSpecialTokens));
  }

  /**
   * SentencePieceProcessor::Decode: control symbols are invisible (written as their piece when
   * special tokens are kept), unknown pieces read as the unknown surface, byte runs are decoded as
   * UTF-8 with one U+FFFD per invalid byte, and a leading U+2581 of the text is dropped.
   */
  private DecodeSession newSession(boolean skipSpecialTokens) {
    return new DecodeSession() {
      private final Utf8.SentencePieceDecoder bytes = new Utf8.SentencePieceDecoder();
      private boolean textEmpty = true;
      private boolean expectBosSpace = true;
      private boolean bosSpaceSeen;

      @Override
      public void accept(int id, StringBuilder out) {
        String piece = piece(id);
        if (types[id] == ModelProto.Type.BYTE) {
          int before = out.length();
          bytes.push(byteOf(id), out);
          if (out.length() > before) textEmpty = false;
          return;
        }
        endByteRun(out);
        if (bosSpaceSeen || !textEmpty) expectBosSpace = false;
        String decoded;
        boolean consumedBosSpace = false;
        switch (types[id]) {
          case CONTROL -> decoded = "";
          case UNKNOWN -> decoded = unknownSurface;
          default -> {
            if (expectBosSpace && (addDummyPrefix || removeExtraWhitespaces) && piece.startsWith("\u2581")) {
              piece = piece.substring(1);
              consumedBosSpace = !removeExtraWhitespaces;
            }
            decoded = piece.replace('\u2581', ' ');
          }
        }
        bosSpaceSeen = consumedBosSpace;
        if (!decoded.isEmpty()) textEmpty = false;
        out.append(decoded);
        if (types[id] == ModelProto.Type.CONTROL && !skipSpecialTokens) out.append(piece);
      }

      @Override
      public void finish(StringBuilder out) {
        endByteRun(out);
      }

      private void endByteRun(StringBuilder out) {
        if (!bytes.hasPending()) return;
        int before = out.length();
        bytes.finish(out);
        if (out.length() > before) textEmpty = false;
      }
    };
  }

  @Override
  public byte[] tokenBytes(int id) {
    String piece = piece(id);
    return switch (types[id]) {
      case BYTE -> new byte[] {(byte) byteOf(id)};
      case CONTROL -> new byte[0];
      case UNKNOWN -> unknownSurface.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      default -> piece.replace('\u2581', ' ').getBytes(java.nio.charset.StandardCharsets.UTF_8);
    };
  }

  private int byteOf(int id) {
    return JsonDecoder.byteOf(pieces[id]);
  }

  // ---- metadata ----

  @Override
  public int vocabSize() {
    return pieces.length;
  }

  @Override
  public int bosId() {
    return bosId;
  }

  @Override
  public int eosId() {
    return eosId;
  }

  @Override
  public OptionalInt tokenId(String piece) {
    Integer id = reservedIds.get(piece);
    if (id == null) id = normalIds.get(piece);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  @Override
  public String piece(int id) {
    if (id < 0 || id >= pieces.length) {
      throw new IllegalArgumentException(
          "token id " + id + " is not in the vocabulary of " + source + " (ids 0.." + (pieces.length - 1) + ")");
    }
    return pieces[id];
  }

  @Override
  public boolean isSpecial(int id) {
    piece(id);
    return types[id] == ModelProto.Type.CONTROL || types[id] == ModelProto.Type.UNKNOWN;
  }

  @Override
  public String toString() {
    return "tokenizer.model " + source + " (" + pieces.length + " pieces)";
  }

  /** Longest-prefix matching of user-defined symbols over UTF-8 bytes. */
  private static final class ByteTrie {
    private static final class Node {
      final Map<Byte, Node> children = new HashMap<>(4);
      int id = -1;
    }

    private final Node root = new Node();
    private boolean empty = true;

    void add(byte[] key, int id) {
      Node node = root;
      for (byte b : key) node = node.children.computeIfAbsent(b, x -> new Node());
      node.id = id;
      empty = false;
    }

    /** The longest symbol starting at {@code at} as (length << 32 | id), or 0 when none. */
    long longestMatch(byte[] text, int at, int end) {
      if (empty) return 0;
      Node node = root;
      long best = 0;
      for (int i = at; i < end; i++) {
        node = node.children.get(text[i]);
        if (node == null) break;
        if (node.id >= 0) best = ((long) (i + 1 - at) << 32) | node.id;
      }
      return best;
    }
  }
}
