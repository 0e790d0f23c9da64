package dev.rgemma.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A SentencePiece-style BPE tokenizer in Hugging Face's {@code tokenizer.json} format: added
 * tokens are cut out first, the text between them is normalized, pre-tokenized and merged, and
 * pieces missing from the vocabulary fall back to {@code <0xNN>} byte pieces. Behaviour follows
 * transformers.js (and through it Hugging Face tokenizers), against which it is tested.
 */
final class HuggingFaceTokenizer implements Tokenizer {
  private final Path source;
  private final String[] pieces; // [vocabSize], null where no token has the id
  private final Map<String, Integer> ids;
  private final boolean[] special; // [vocabSize]
  private final TokenMatcher addedTokens = new TokenMatcher();
  private final boolean[] stripLeft; // [vocabSize], added tokens with lstrip
  private final boolean[] stripRight; // [vocabSize], added tokens with rstrip
  private final JsonNormalizer normalizer; // null: none
  private final JsonPreTokenizer preTokenizer; // null: the whole section is one word
  private final BpeMerger merger;
  private final int[] bmpIds; // [65536], id of each one-character piece, -1 if none
  private final Map<Integer, Integer> supplementaryIds;
  private final int[] byteIds; // [256], id of <0xNN>, -1 if none
  private final boolean byteFallback;
  private final boolean fuseUnknown;
  private final boolean ignoreMerges;
  private final int unknownId;
  private final int[] prefixIds; // post-processor tokens before the sequence
  private final int[] suffixIds; // post-processor tokens after it
  private final JsonDecoder decoder;
  private final int bosId;
  private final int eosId;

  private HuggingFaceTokenizer(Path source, TokenizerJsonReader.Parsed parsed) {
    this.source = source;
    JsonNode root = parsed.root();
    JsonNode model = parsed.model();
    String type = model.path("type").asText("BPE");
    if (!type.equals("BPE")) {
      throw error("model.type is \"" + type + "\"; only \"BPE\" (SentencePiece-style) is supported");
    }
    if (!model.path("continuing_subword_prefix").isNull() && !model.path("continuing_subword_prefix").isMissingNode()
        || !model.path("end_of_word_suffix").isNull() && !model.path("end_of_word_suffix").isMissingNode()) {
      throw error("model.continuing_subword_prefix / end_of_word_suffix are not supported");
    }
    if (parsed.vocab() == null) throw error("model.vocab must be an object of piece -> id");
    ids = parsed.vocab();
    int maxId = -1;
    for (int id : ids.values()) maxId = Math.max(maxId, id);
    JsonNode added = root.path("added_tokens");
    for (JsonNode token : added) maxId = Math.max(maxId, token.path("id").asInt(-1));
    pieces = new String[maxId + 1];
    for (var entry : ids.entrySet()) pieces[entry.getValue()] = entry.getKey();
    special = new boolean[maxId + 1];
    stripLeft = new boolean[maxId + 1];
    stripRight = new boolean[maxId + 1];
    for (JsonNode token : added) {
      String content = token.path("content").asText();
      int id = token.path("id").asInt(-1);
      if (content.isEmpty() || id < 0) throw error("added_tokens has an entry without content or id: " + token);
      // "normalized" and "single_word" are not honoured: added tokens are matched on the raw text,
      // as transformers.js does (Gemma's and Llama's files set neither).
      ids.put(content, id);
      pieces[id] = content;
      special[id] = token.path("special").asBoolean(false);
      stripLeft[id] = token.path("lstrip").asBoolean(false);
      stripRight[id] = token.path("rstrip").asBoolean(false);
      addedTokens.add(content, id);
    }

    String unknown = model.path("unk_token").isTextual() ? model.path("unk_token").asText() : null;
    unknownId = unknown == null ? -1 : ids.getOrDefault(unknown, -1);
    byteFallback = model.path("byte_fallback").asBoolean(false);
    fuseUnknown = model.path("fuse_unk").asBoolean(false);
    ignoreMerges = model.path("ignore_merges").asBoolean(false);

    bmpIds = new int[65536];
    Arrays.fill(bmpIds, -1);
    supplementaryIds = new HashMap<>();
    for (var entry : ids.entrySet()) {
      String piece = entry.getKey();
      if (piece.codePointCount(0, piece.length()) != 1) continue;
      int codePoint = piece.codePointAt(0);
      if (codePoint < 65536) bmpIds[codePoint] = entry.getValue();
      else supplementaryIds.put(codePoint, entry.getValue());
    }
    byteIds = new int[256];
    for (int b = 0; b < 256; b++) byteIds[b] = ids.getOrDefault(String.format("<0x%02X>", b), -1);

    int mergeCount = parsed.mergeLeft().size();
    merger = new BpeMerger(Math.max(1, mergeCount));
    for (int rank = 0; rank < mergeCount; rank++) {
      String left = parsed.mergeLeft().get(rank);
      String right = parsed.mergeRight().get(rank);
      Integer leftId = ids.get(left);
      Integer rightId = ids.get(right);
      Integer mergedId = ids.get(left + right);
      // A rule whose parts or result are not pieces can never produce a known token; skip it.
      if (leftId != null && rightId != null && mergedId != null) {
        merger.addRule(leftId, rightId, rank, mergedId);
        merger.addMergedToken(left + right);
      }
    }

    normalizer = JsonNormalizer.of(root.path("normalizer"), this::error);
    preTokenizer = JsonPreTokenizer.of(root.path("pre_tokenizer"), this::error);
    decoder = JsonDecoder.of(root.path("decoder"), this::error);

    List<Integer> prefix = new ArrayList<>();
    List<Integer> suffix = new ArrayList<>();
    readPostProcessor(root.path("post_processor"), prefix, suffix);
    prefixIds = prefix.stream().mapToInt(Integer::intValue).toArray();
    suffixIds = suffix.stream().mapToInt(Integer::intValue).toArray();
    bosId = prefixIds.length > 0 ? prefixIds[0] : firstId("<bos>", "<s>");
    eosId = firstId("<eos>", "</s>");
  }

  static HuggingFaceTokenizer load(Path file) throws IOException {
    return new HuggingFaceTokenizer(file, TokenizerJsonReader.read(file));
  }

  private RgemmaException error(String message) {
    return new RgemmaException(source + ": " + message);
  }

  private int firstId(String... candidates) {
    for (String candidate : candidates) {
      Integer id = ids.get(candidate);
      if (id != null) return id;
    }
    return -1;
  }

  private void readPostProcessor(JsonNode processor, List<Integer> prefix, List<Integer> suffix) {
    if (processor.isMissingNode() || processor.isNull()) return;
    String type = processor.path("type").asText();
    if (!type.equals("TemplateProcessing")) {
      throw error("post_processor.type \"" + type + "\" is not supported (only TemplateProcessing)");
    }
    boolean afterSequence = false;
    for (JsonNode item : processor.path("single")) {
      if (item.has("Sequence")) {
        afterSequence = true;
      } else if (item.has("SpecialToken")) {
        String name = item.path("SpecialToken").path("id").asText();
        JsonNode declared = processor.path("special_tokens").path(name).path("ids");
        List<Integer> target = afterSequence ? suffix : prefix;
        if (declared.isArray() && !declared.isEmpty()) {
          for (JsonNode id : declared) target.add(id.asInt());
        } else if (ids.containsKey(name)) {
          target.add(ids.get(name));
        } else {
          throw error("post_processor names special token \"" + name + "\", which is not in the vocabulary");
        }
      }
    }
  }

  @Override
  public int[] encode(String text, boolean addSpecialTokens) {
    IntList out = new IntList(text.length() / 3 + 8);
    if (addSpecialTokens) out.addAll(prefixIds);
    List<TokenMatcher.Segment> segments = addedTokens.split(text);
    BpeMerger.Workspace work = new BpeMerger.Workspace();
    String[] texts = new String[segments.size()];
    for (int i = 0; i < texts.length; i++) texts[i] = segments.get(i).text();
    for (int i = 0; i < segments.size(); i++) {
      int id = segments.get(i).tokenId();
      if (id < 0) continue;
      if (stripLeft[id] && i > 0) texts[i - 1] = JsonPreTokenizer.stripEnd(texts[i - 1]);
      if (stripRight[id] && i + 1 < texts.length) texts[i + 1] = JsonPreTokenizer.stripStart(texts[i + 1]);
    }
    for (int i = 0; i < segments.size(); i++) {
      int id = segments.get(i).tokenId();
      if (id >= 0) {
        out.add(id);
        continue;
      }
      String section = texts[i];
      if (section.isEmpty()) continue;
      if (normalizer != null) section = normalizer.normalize(section);
      if (section.isEmpty()) continue;
      List<String> words = preTokenizer == null ? List.of(section) : preTokenizer.split(section, i);
      int sectionStart = out.size();
      for (String word : words) encodeWord(word, out, work);
      if (fuseUnknown && unknownId >= 0) out.fuseRuns(sectionStart, unknownId);
    }
    if (addSpecialTokens) out.addAll(suffixIds);
    return out.toArray();
  }

  private void encodeWord(String word, IntList out, BpeMerger.Workspace work) {
    if (word.isEmpty()) return;
    if (ignoreMerges) {
      Integer whole = ids.get(word);
      if (whole != null) {
        out.add(whole);
        return;
      }
    }
    int[] symbols = new int[word.length()];
    int[] codePoints = new int[word.length()];
    int n = 0;
    for (int i = 0; i < word.length(); ) {
      int codePoint = word.codePointAt(i);
      i += Character.charCount(codePoint);
      codePoints[n] = codePoint;
      symbols[n++] = idOfCodePoint(codePoint);
    }
    int[] segment = new int[n];
    int[] origin = new int[n];
    int start = 0;
    for (int i = 1; i <= n; i++) {
      if (i < n && merger.joinable(codePoints[i - 1], codePoints[i])) continue;
      int length = i - start;
      System.arraycopy(symbols, start, segment, 0, length);
      int count = merger.merge(segment, length, origin, null, work);
      for (int k = 0; k < count; k++) {
        if (segment[k] >= 0) {
          out.add(segment[k]);
        } else {
          addFallback(codePoints[start + origin[k]], out);
        }
      }
      start = i;
    }
  }

  private void addFallback(int codePoint, IntList out) {
    if (byteFallback) {
      byte[] bytes = new byte[4];
      int length = Utf8.encodeCodePoint(codePoint < 65536 && Character.isSurrogate((char) codePoint) ? Utf8.REPLACEMENT : codePoint, bytes, 0);
      boolean all = true;
      for (int i = 0; i < length; i++) all &= byteIds[bytes[i] & 0xFF] >= 0;
      if (all) {
        for (int i = 0; i < length; i++) out.add(byteIds[bytes[i] & 0xFF]);
        return;
      }
    }
    if (unknownId < 0) {
      throw new IllegalArgumentException(
          source + ": character U+" + Integer.toHexString(codePoint).toUpperCase()
              + " is not in the vocabulary and there is no unk_token or byte fallback");
    }
    out.add(unknownId);
  }

  private int idOfCodePoint(int codePoint) {
    if (codePoint < 65536) return bmpIds[codePoint];
    return supplementaryIds.getOrDefault(codePoint, BpeMerger.NO_ID);
  }

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

  private DecodeSession newSession(boolean skipSpecialTokens) {
    JsonDecoder.Session inner = decoder.newSession();
    return new DecodeSession() {
      @Override
      public void accept(int id, StringBuilder out) {
        String piece = piece(id);
        if (skipSpecialTokens && special[id]) return;
        inner.accept(piece, out);
      }

      @Override
      public void finish(StringBuilder out) {
        inner.finish(out);
      }
    };
  }

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
    Integer id = ids.get(piece);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  @Override
  public String piece(int id) {
    if (id < 0 || id >= pieces.length || pieces[id] == null) {
      throw new IllegalArgumentException(
          "token id " + id + " is not in the vocabulary of " + source + " (ids 0.." + (pieces.length - 1) + ")");
    }
    return pieces[id];
  }

  @Override
  public boolean isSpecial(int id) {
    piece(id);
    return special[id];
  }

  @Override
  public byte[] tokenBytes(int id) {
    String piece = piece(id);
    return special[id] ? new byte[0] : decoder.midTextBytes(piece);
  }

  @Override
  public String toString() {
    return "tokenizer.json " + source + " (" + pieces.length + " pieces)";
  }
}
