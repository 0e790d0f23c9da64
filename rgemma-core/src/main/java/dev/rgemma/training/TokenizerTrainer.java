package dev.rgemma.training;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Learns a SentencePiece-style BPE vocabulary with byte fallback and Gemma's special tokens, and
 * writes it as a Gemma-style Hugging Face {@code tokenizer.json} (plus {@code tokenizer_config.json}).
 *
 * <p>Vocabulary layout: {@code <pad>} 0, {@code <eos>} 1, {@code <bos>} 2, {@code <unk>} 3,
 * {@code <start_of_turn>} 4, {@code <end_of_turn>} 5, {@code <0x00>}..{@code <0xFF>} 6..261, then
 * the characters that cover 99.99 % of the training text (most frequent first), then one piece per
 * merge. Spaces become "▁" (no dummy prefix, like Gemma). Merges are learned inside
 * {@link #splitWords words} only, so encoding the whole text with the merges (Hugging Face BPE
 * without a pre-tokenizer) gives the same pieces as encoding word by word.
 */
public final class TokenizerTrainer {
  public static final String SPACE = "\u2581";
  public static final List<String> SPECIAL_TOKENS =
      List.of("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>");
  public static final int FIRST_BYTE_ID = SPECIAL_TOKENS.size();
  private static final double CHARACTER_COVERAGE = 0.9999;

  /** The learned pieces (index = id) and merges (rank order). */
  public record Vocabulary(List<String> pieces, List<String[]> merges) {
    public Vocabulary {
      pieces = List.copyOf(pieces);
      merges = List.copyOf(merges);
    }
  }

  private TokenizerTrainer() {}

  /** Normalisation of Gemma's tokenizer.json: every space becomes "▁". */
  public static String normalize(String text) {
    return text.replace(" ", SPACE);
  }

  private enum CharClass { SPACE, NEWLINE, LETTER, DIGIT, OTHER }

  private static CharClass classOf(int cp) {
    if (cp == 0x2581) {
      return CharClass.SPACE;
    }
    if (cp == '\n' || cp == '\r') {
      return CharClass.NEWLINE;
    }
    if (Character.isLetter(cp) || cp == '\'' || cp == 0x2019) {
      return CharClass.LETTER;
    }
    if (Character.isDigit(cp)) {
      return CharClass.DIGIT;
    }
    return CharClass.OTHER;
  }

  /**
   * Splits normalized text into the units merges are learned in: a word starts at every "▁" (which
   * stays attached to what follows) and wherever the character class changes (letters, digits,
   * newlines, other symbols); every digit stands alone.
   */
  public static List<String> splitWords(String normalized) {
    List<String> words = new ArrayList<>();
    int start = 0;
    CharClass previous = null;
    boolean previousIsBareSpace = false;
    int i = 0;
    while (i < normalized.length()) {
      int cp = normalized.codePointAt(i);
      CharClass cls = classOf(cp);
      boolean boundary;
      if (i == start) {
        boundary = false;
      } else if (cls == CharClass.SPACE) {
        boundary = true;
      } else if (previousIsBareSpace) {
        boundary = false; // "▁" joins the following character
      } else {
        boundary = cls != previous || cls == CharClass.DIGIT;
      }
      if (boundary) {
        words.add(normalized.substring(start, i));
        start = i;
      }
      previousIsBareSpace = cls == CharClass.SPACE && (boundary || i == start);
      previous = cls;
      i += Character.charCount(cp);
    }
    if (start < normalized.length()) {
      words.add(normalized.substring(start));
    }
    return words;
  }

  /** Learns a vocabulary of {@code vocabSize} pieces from the files' text (UTF-8). */
  public static Vocabulary train(List<Path> inputs, int vocabSize) throws IOException {
    Map<String, Long> wordCounts = new HashMap<>();
    for (Path input : inputs) {
      String text;
      try {
        text = Files.readString(input, StandardCharsets.UTF_8);
      } catch (java.nio.charset.MalformedInputException e) {
        throw new RgemmaException(input + ": not valid UTF-8 text", e);
      }
      for (String w : splitWords(normalize(text))) {
        wordCounts.merge(w, 1L, Long::sum);
      }
    }
    return train(wordCounts, vocabSize);
  }

  static Vocabulary train(Map<String, Long> wordCounts, int vocabSize) {
    int reserved = FIRST_BYTE_ID + 256;
    if (vocabSize < reserved + 2) {
      throw new IllegalArgumentException("vocab size must be at least " + (reserved + 2)
          + " (6 special tokens, 256 byte pieces, some characters), got " + vocabSize);
    }
    List<String> pieces = new ArrayList<>(SPECIAL_TOKENS);
    for (int b = 0; b < 256; b++) {
      pieces.add(String.format("<0x%02X>", b));
    }
    // Characters by frequency, up to the coverage (and always "▁" and "\n").
    Map<Integer, Long> charCounts = new HashMap<>();
    long totalChars = 0;
    for (Map.Entry<String, Long> e : wordCounts.entrySet()) {
      String w = e.getKey();
      for (int i = 0; i < w.length(); ) {
        int cp = w.codePointAt(i);
        charCounts.merge(cp, e.getValue(), Long::sum);
        totalChars += e.getValue();
        i += Character.charCount(cp);
      }
    }
    List<Map.Entry<Integer, Long>> chars = new ArrayList<>(charCounts.entrySet());
    chars.sort(Map.Entry.<Integer, Long>comparingByValue().reversed()
        .thenComparing(Map.Entry.comparingByKey()));
    Map<String, Integer> ids = new HashMap<>();
    for (int i = 0; i < pieces.size(); i++) {
      ids.put(pieces.get(i), i);
    }
    long covered = 0;
    for (Map.Entry<Integer, Long> e : chars) {
      if (pieces.size() >= vocabSize) {
        break;
      }
      String piece = new String(Character.toChars(e.getKey()));
      boolean required = piece.equals(SPACE) || piece.equals("\n");
      if (!required && covered >= CHARACTER_COVERAGE * totalChars) {
        continue;
      }
      if (!ids.containsKey(piece)) {
        ids.put(piece, pieces.size());
        pieces.add(piece);
      }
      covered += e.getValue();
    }

    // Words as symbol-id arrays; characters outside the vocabulary break a word into parts that
    // never merge across them (they are encoded as bytes).
    List<int[]> words = new ArrayList<>();
    List<Long> counts = new ArrayList<>();
    for (Map.Entry<String, Long> e : wordCounts.entrySet()) {
      String w = e.getKey();
      List<Integer> current = new ArrayList<>();
      for (int i = 0; i < w.length(); ) {
        int cp = w.codePointAt(i);
        Integer id = ids.get(new String(Character.toChars(cp)));
        if (id == null) {
          addWord(words, counts, current, e.getValue());
          current = new ArrayList<>();
        } else {
          current.add(id);
        }
        i += Character.charCount(cp);
      }
      addWord(words, counts, current, e.getValue());
    }

    Map<Long, Long> pairCounts = new HashMap<>();
    Map<Long, Set<Integer>> pairWords = new HashMap<>();
    for (int w = 0; w < words.size(); w++) {
      int[] s = words.get(w);
      for (int i = 0; i + 1 < s.length; i++) {
        long key = pairKey(s[i], s[i + 1]);
        pairCounts.merge(key, counts.get(w), Long::sum);
        pairWords.computeIfAbsent(key, k -> new HashSet<>()).add(w);
      }
    }
    // Highest count first; ties broken by the pair ids, so training is deterministic.
    PriorityQueue<long[]> queue = new PriorityQueue<>(
        Comparator.<long[]>comparingLong(a -> -a[1]).thenComparingLong(a -> a[0]));
    for (Map.Entry<Long, Long> e : pairCounts.entrySet()) {
      queue.add(new long[] {e.getKey(), e.getValue()});
    }
    List<String[]> merges = new ArrayList<>();
    while (pieces.size() < vocabSize && !queue.isEmpty()) {
      long[] top = queue.poll();
      Long current = pairCounts.get(top[0]);
      if (current == null || current != top[1]) {
        continue; // stale entry
      }
      if (current < 2) {
        break;
      }
      int left = (int) (top[0] >>> 32);
      int right = (int) top[0];
      String merged = pieces.get(left) + pieces.get(right);
      if (ids.containsKey(merged)) {
        pairCounts.remove(top[0]); // already a piece (e.g. a character): cannot be a new id
        continue;
      }
      int newId = pieces.size();
      pieces.add(merged);
      ids.put(merged, newId);
      merges.add(new String[] {pieces.get(left), pieces.get(right)});
      Set<Long> touched = new HashSet<>();
      for (int w : pairWords.getOrDefault(top[0], Set.of())) {
        int[] s = words.get(w);
        long count = counts.get(w);
        int[] merged2 = applyMerge(s, left, right, newId);
        if (merged2.length == s.length) {
          continue;
        }
        for (int i = 0; i + 1 < s.length; i++) {
          long key = pairKey(s[i], s[i + 1]);
          pairCounts.merge(key, -count, Long::sum);
          touched.add(key);
        }
        for (int i = 0; i + 1 < merged2.length; i++) {
          long key = pairKey(merged2[i], merged2[i + 1]);
          pairCounts.merge(key, count, Long::sum);
          pairWords.computeIfAbsent(key, k -> new HashSet<>()).add(w);
          touched.add(key);
        }
        words.set(w, merged2);
      }
      pairWords.remove(top[0]);
      pairCounts.remove(top[0]);
      touched.remove(top[0]);
      for (long key : touched) {
        Long c = pairCounts.get(key);
        if (c != null) {
          if (c <= 0) {
            pairCounts.remove(key);
          } else {
            queue.add(new long[] {key, c});
          }
        }
      }
    }
    return new Vocabulary(pieces, merges);
  }

  private static void addWord(List<int[]> words, List<Long> counts, List<Integer> symbols, long count) {
    if (symbols.size() >= 2) {
      words.add(symbols.stream().mapToInt(Integer::intValue).toArray());
      counts.add(count);
    }
  }

  private static long pairKey(int left, int right) {
    return ((long) left << 32) | (right & 0xFFFFFFFFL);
  }

  static int[] applyMerge(int[] s, int left, int right, int newId) {
    int[] out = new int[s.length];
    int n = 0;
    for (int i = 0; i < s.length; i++) {
      if (i + 1 < s.length && s[i] == left && s[i + 1] == right) {
        out[n++] = newId;
        i++;
      } else {
        out[n++] = s[i];
      }
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}. */
  public static void write(Vocabulary vocabulary, Path dir) throws IOException {
    Files.createDirectories(dir);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    json.writeValue(dir.resolve(Checkpoint.TOKENIZER).toFile(), tokenizerJson(vocabulary));
    json.writeValue(dir.resolve(Checkpoint.TOKENIZER_CONFIG).toFile(), tokenizerConfig());
  }

  static Map<String, Object> tokenizerJson(Vocabulary vocabulary) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("version", "1.0");
    root.put("truncation", null);
    root.put("padding", null);
    List<Object> added = new ArrayList<>();
    for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("id", i);
      t.put("content", SPECIAL_TOKENS.get(i));
      t.put("single_word", false);
      t.put("lstrip", false);
      t.put("rstrip", false);
      t.put("normalized", false);
      t.put("special", true);
      added.add(t);
    }
    root.put("added_tokens", added);
    root.put("normalizer", Map.of("type", "Replace", "pattern", Map.of("String", " "), "content", SPACE));
    root.put("pre_tokenizer", null);
    Map<String, Object> bos = Map.of("SpecialToken", Map.of("id", "<bos>", "type_id", 0));
    Map<String, Object> post = new LinkedHashMap<>();
    post.put("type", "TemplateProcessing");
    post.put("single", List.of(bos, Map.of("Sequence", Map.of("id", "A", "type_id", 0))));
    post.put("pair", List.of(bos, Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
        Map.of("SpecialToken", Map.of("id", "<bos>", "type_id", 1)),
        Map.of("Sequence", Map.of("id", "B", "type_id", 1))));
    post.put("special_tokens",
        Map.of("<bos>", Map.of("id", "<bos>", "ids", List.of(2), "tokens", List.of("<bos>"))));
    root.put("post_processor", post);
    root.put("decoder", Map.of("type", "Sequence", "decoders", List.of(
        Map.of("type", "Replace", "pattern", Map.of("String", SPACE), "content", " "),
        Map.of("type", "ByteFallback"),
        Map.of("type", "Fuse"))));
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("type", "BPE");
    model.put("dropout", null);
    model.put("unk_token", "<unk>");
    model.put("continuing_subword_prefix", null);
    model.put("end_of_word_suffix", null);
    model.put("fuse_unk", true);
    model.put("byte_fallback", true);
    model.put("ignore_merges", false);
    Map<String, Integer> vocab = new LinkedHashMap<>();
    List<String> pieces = vocabulary.pieces();
    for (int i = 0; i < pieces.size(); i++) {
      vocab.put(pieces.get(i), i);
    }
    model.put("vocab", vocab);
    List<String> merges = new ArrayList<>();
    for (String[] m : vocabulary.merges()) {
      merges.add(m[0] + " " + m[1]);
    }
    model.put("merges", merges);
    root.put("model", model);
    return root;
  }

  static Map<String, Object> tokenizerConfig() {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("add_bos_token", true);
    c.put("add_eos_token", false);
    Map<String, Object> decoder = new LinkedHashMap<>();
    for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("content", SPECIAL_TOKENS.get(i));
      t.put("lstrip", false);
      t.put("normalized", false);
      t.put("rstrip", false);
      t.put("single_word", false);
      t.put("special", true);
      decoder.put(Integer.toString(i), t);
    }
    c.put("added_tokens_decoder", decoder);
    c.put("additional_special_tokens", List.of("<start_of_turn>", "<end_of_turn>"));
    c.put("bos_token", "<bos>");
    c.put("clean_up_tokenization_spaces", false);
    c.put("eos_token", "<eos>");
    c.put("model_max_length", 1000000000000000019884624838656.0);
    c.put("pad_token", "<pad>");
    c.put("sp_model_kwargs", Map.of());
    c.put("spaces_between_special_tokens", false);
    c.put("tokenizer_class", "GemmaTokenizer");
    c.put("unk_token", "<unk>");
    c.put("use_default_system_prompt", false);
    return c;
  }
}
