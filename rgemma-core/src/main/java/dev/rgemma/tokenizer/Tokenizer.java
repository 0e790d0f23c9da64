package dev.rgemma.tokenizer;

import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * Gemma's tokenizer: SentencePiece BPE with byte fallback, read from a Hugging Face
 * {@code tokenizer.json} or a SentencePiece {@code tokenizer.model}. Instances are immutable and
 * safe to share between threads; streaming decoders are not.
 */
public interface Tokenizer {

  /** Loads tokenizer.json or tokenizer.model; a directory means: tokenizer.json if present, else tokenizer.model. */
  static Tokenizer load(Path fileOrDirectory) throws IOException {
    Path file = fileOrDirectory;
    if (Files.isDirectory(fileOrDirectory)) {
      Path json = fileOrDirectory.resolve("tokenizer.json");
      Path model = fileOrDirectory.resolve("tokenizer.model");
      if (Files.isRegularFile(json)) {
        file = json;
      } else if (Files.isRegularFile(model)) {
        file = model;
      } else {
        throw new RgemmaException(
            fileOrDirectory + ": directory has neither tokenizer.json nor tokenizer.model");
      }
    } else if (!Files.isRegularFile(fileOrDirectory)) {
      throw new java.nio.file.NoSuchFileException(
          fileOrDirectory.toString(), null, "tokenizer file not found");
    }
    if (isJson(file)) return HuggingFaceTokenizer.load(file);
    return SentencePieceTokenizer.load(file);
  }

  private static boolean isJson(Path file) throws IOException {
    if (file.getFileName().toString().endsWith(".json")) return true;
    if (file.getFileName().toString().endsWith(".model")) return false;
    try (var in = Files.newInputStream(file)) {
      int b;
      do {
        b = in.read();
      } while (b == ' ' || b == '\n' || b == '\r' || b == '\t');
      return b == '{';
    }
  }

  /**
   * Token ids of {@code text}. Added and special tokens written in the text ({@code <bos>},
   * {@code <start_of_turn>}, ...) become their ids. {@code addSpecialTokens}: the post-processor's
   * tokens for tokenizer.json (BOS for Gemma), BOS for tokenizer.model.
   */
  int[] encode(String text, boolean addSpecialTokens);

  /** The text of {@code ids}; byte-fallback pieces are reassembled into UTF-8. */
  String decode(int[] ids, boolean skipSpecialTokens);

  /**
   * A decoder for tokens that arrive one at a time: {@code accept(id)} returns the text completed
   * so far and not yet returned ("" while a UTF-8 character is incomplete), {@code flush()} the rest.
   */
  StreamingDecoder newStreamingDecoder(boolean skipSpecialTokens);

  /** One more than the largest token id. */
  int vocabSize();

  /** The beginning-of-sequence id, or -1 if the tokenizer has none. */
  int bosId();

  /** The end-of-sequence id ({@code <eos>}, {@code </s>}), or -1 if the tokenizer has none. */
  int eosId();

  /** The id of a piece, e.g. {@code "<end_of_turn>"}. */
  OptionalInt tokenId(String piece);

  /** The piece of an id as stored in the vocabulary (with U+2581 for spaces, {@code <0xNN>} for bytes). */
  String piece(int id);

  /** Whether the id is a special token (control symbols; added tokens marked special). */
  boolean isSpecial(int id);

  /**
   * The bytes this token adds to decoded text in the middle of a sequence: its piece as the
   * decoder writes it (U+2581 as a space, no leading space stripped), the single byte of a {@code
   * <0xNN>} byte-fallback piece, nothing for a special token. The UTF-8 of a character split over
   * byte pieces is spread over their results. For per-token output such as log-probabilities.
   */
  byte[] tokenBytes(int id);
}
