package dev.rgemma.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes text with a vocabulary made by {@link TokenizerTrainer}: BPE by merge rank inside each
 * {@link TokenizerTrainer#splitWords word}, characters outside the vocabulary as UTF-8 byte pieces.
 * For such vocabularies this equals Hugging Face BPE over the whole normalised text. Used by the
 * trainer to encode its corpus; also gives each token's byte length (for bits per byte).
 */
public final class BpeEncoder {
  private final List<String> pieces;
  private final Map<String, Integer> ids = new HashMap<>();
  private final Map<Long, Integer> mergeRank = new HashMap<>();
  private final Map<Long, Integer> mergeResult = new HashMap<>();
  private final Map<String, int[]> cache = new HashMap<>();

  public BpeEncoder(TokenizerTrainer.Vocabulary vocabulary) {
    this.pieces = vocabulary.pieces();
    for (int i = 0; i < pieces.size(); i++) {
      ids.putIfAbsent(pieces.get(i), i);
    }
    int rank = 0;
    for (String[] m : vocabulary.merges()) {
      Integer left = ids.get(m[0]);
      Integer right = ids.get(m[1]);
      Integer result = ids.get(m[0] + m[1]);
      if (left == null || right == null || result == null) {
        throw new RgemmaException("merge \"" + m[0] + " " + m[1] + "\" uses a piece outside the vocabulary");
      }
      long key = ((long) left << 32) | right;
      mergeRank.putIfAbsent(key, rank++);
      mergeResult.putIfAbsent(key, result);
    }
  }

  /** Reads the vocabulary and merges of a {@code tokenizer.json} written by {@link TokenizerTrainer}. */
  public static BpeEncoder load(Path tokenizerJson) throws IOException {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(tokenizerJson.toFile());
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new RgemmaException(tokenizerJson + ": " + dev.rgemma.io.JsonErrors.describe(e), e);
    }
    JsonNode model = root.path("model");
    if (!"BPE".equals(model.path("type").asText())) {
      throw new RgemmaException(tokenizerJson + ": model.type: expected \"BPE\", got "
          + model.path("type"));
    }
    JsonNode vocab = model.path("vocab");
    String[] byId = new String[vocab.size()];
    for (Map.Entry<String, JsonNode> e : vocab.properties()) {
      int id = e.getValue().asInt();
      if (id < 0 || id >= byId.length) {
        throw new RgemmaException(tokenizerJson + ": vocab id " + id + " of \"" + e.getKey()
            + "\" is outside [0, " + byId.length + ")");
      }
      byId[id] = e.getKey();
    }
    List<String[]> merges = new ArrayList<>();
    for (JsonNode m : model.path("merges")) {
      if (m.isArray()) {
        merges.add(new String[] {m.get(0).asText(), m.get(1).asText()});
      } else {
        String s = m.asText();
        int space = s.indexOf(' ');
        if (space < 0) {
          throw new RgemmaException(tokenizerJson + ": merge \"" + s + "\" has no space");
        }
        merges.add(new String[] {s.substring(0, space), s.substring(space + 1)});
      }
    }
    return new BpeEncoder(new TokenizerTrainer.Vocabulary(List.of(byId), merges));
  }

  public int vocabSize() {
    return pieces.size();
  }

  public String piece(int id) {
    return pieces.get(id);
  }

  /** Token ids of {@code text} (no special tokens added). */
  public int[] encode(String text) {
    List<int[]> parts = new ArrayList<>();
    int total = 0;
    for (String word : TokenizerTrainer.splitWords(TokenizerTrainer.normalize(text))) {
      int[] w = cache.computeIfAbsent(word, this::encodeWord);
      parts.add(w);
      total += w.length;
    }
    int[] out = new int[total];
    int n = 0;
    for (int[] p : parts) {
      System.arraycopy(p, 0, out, n, p.length);
      n += p.length;
    }
    return out;
  }

  private int[] encodeWord(String word) {
    List<Integer> symbols = new ArrayList<>();
    for (int i = 0; i < word.length(); ) {
      int cp = word.codePointAt(i);
      String ch = new String(Character.toChars(cp));
      Integer id = ids.get(ch);
      if (id != null) {
        symbols.add(id);
      } else {
        for (byte b : ch.getBytes(StandardCharsets.UTF_8)) {
          symbols.add(TokenizerTrainer.FIRST_BYTE_ID + (b & 0xFF));
        }
      }
      i += Character.charCount(cp);
    }
    while (symbols.size() > 1) {
      int best = -1;
      int bestRank = Integer.MAX_VALUE;
      for (int i = 0; i + 1 < symbols.size(); i++) {
        Integer rank = mergeRank.get(((long) symbols.get(i) << 32) | symbols.get(i + 1));
        if (rank != null && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) {
        break;
      }
      long key = ((long) symbols.get(best) << 32) | symbols.get(best + 1);
      symbols.set(best, mergeResult.get(key));
      symbols.remove(best + 1);
    }
    return symbols.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Number of UTF-8 bytes the token stands for in the original text ("▁" counts as one space). */
  public int byteLength(int id) {
    String p = pieces.get(id);
    if (id < TokenizerTrainer.FIRST_BYTE_ID) {
      return 0;
    }
    if (id < TokenizerTrainer.FIRST_BYTE_ID + 256) {
      return 1;
    }
    return p.replace(TokenizerTrainer.SPACE, " ").getBytes(StandardCharsets.UTF_8).length;
  }

  /** Text of the tokens (special tokens dropped, byte pieces fused into UTF-8). */
  public String decode(int[] tokens) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (int id : tokens) {
      if (id < TokenizerTrainer.FIRST_BYTE_ID) {
        continue;
      }
      if (id < TokenizerTrainer.FIRST_BYTE_ID + 256) {
        out.write(id - TokenizerTrainer.FIRST_BYTE_ID);
      } else {
        byte[] b = pieces.get(id).replace(TokenizerTrainer.SPACE, " ").getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
