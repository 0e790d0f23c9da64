package dev.rgemma.engine;

import dev.rgemma.RgemmaException;
import dev.rgemma.model.GgufCheckpoint;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.tokenizer.ChatTemplate;
import dev.rgemma.tokenizer.StreamingDecoder;
import dev.rgemma.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/** The engine's view of a {@link Tokenizer} and Gemma's {@link ChatTemplate}. */
public final class TokenizerCodec implements TextCodec {
  private final Tokenizer tokenizer;
  private final String bosPiece; // null if the vocabulary has no BOS
  private final Boolean declaresChatTemplate; // from tokenizer_config.json; null if there is none
  private volatile byte[][] tokenBytesTable; // made on first use

  public TokenizerCodec(Tokenizer tokenizer) {
    this(tokenizer, null);
  }

  /**
   * @param declaresChatTemplate whether the model's {@code tokenizer_config.json} has a {@code
   *     chat_template}; null when there is no such file
   */
  public TokenizerCodec(Tokenizer tokenizer, Boolean declaresChatTemplate) {
    this.tokenizer = Objects.requireNonNull(tokenizer);
    this.bosPiece = tokenizer.bosId() < 0 ? null : tokenizer.piece(tokenizer.bosId());
    this.declaresChatTemplate = declaresChatTemplate;
  }

  /**
   * Instruction-tuned models: the vocabulary has turn markers and, where the checkpoint has a
   * {@code tokenizer_config.json}, it names a chat template (Hugging Face's chat models do; a base
   * model trained without the template, such as the demo model, does not).
   */
  @Override
  public boolean isChatModel() {
    boolean turnMarkers = specialToken("<start_of_turn>").isPresent();
    return turnMarkers && (declaresChatTemplate == null || declaresChatTemplate);
  }

  /** Whether {@code tokenizer_config.json} in {@code directory} has a chat template; null without the file. */
  static Boolean declaresChatTemplate(Path directory) throws IOException {
    Path config = directory.resolve("tokenizer_config.json");
    if (!Files.isRegularFile(config)) {
      return null;
    }
    try {
      com.fasterxml.jackson.databind.JsonNode root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(config.toFile());
      com.fasterxml.jackson.databind.JsonNode template = root == null ? null : root.get("chat_template");
      return template != null && !template.isNull();
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new RgemmaException(config + ": " + dev.rgemma.io.JsonErrors.describe(e));
    }
  }

  /**
   * The tokenizer of a loaded model: inside its GGUF file (written by {@code rgemma quantize}), or
   * beside its checkpoint directory; empty if there is none. Fails if its vocabulary does not fit
   * the model's.
   *
   * @param path the directory or GGUF file the model was loaded from
   */
  public static Optional<TextCodec> forModel(RecurrentGemmaModel model, Path path) throws IOException {
    int vocabSize = model.config().vocabSize();
    if (!(model.source() instanceof GgufCheckpoint gguf)) {
      return forModel(path, vocabSize);
    }
    return unpacked(gguf, path, directory -> forModel(directory, vocabSize), Optional.empty());
  }

  /** Reads what the tokenizer files unpacked into a directory give. */
  @FunctionalInterface
  private interface FromDirectory<T> {
    T read(Path directory) throws IOException;
  }

  /**
   * {@code read} applied to the tokenizer files in a GGUF file's metadata, unpacked into a
   * temporary directory (removed afterwards); {@code none} if the file holds no tokenizer. Errors
   * name the GGUF file, not the temporary copy.
   */
  private static <T> T unpacked(GgufCheckpoint gguf, Path path, FromDirectory<T> read, T none) throws IOException {
    Path directory = Files.createTempDirectory("rgemma-tokenizer");
    try {
      return gguf.extractTokenizer(directory) ? read.read(directory) : none;
    } catch (RgemmaException e) {
      String message = e.getMessage().replace(directory + java.io.File.separator, "").replace(directory.toString(), "");
      throw new RgemmaException(message.startsWith(path.toString()) ? message
          : path + ": the tokenizer in its metadata: " + message, e);
    } finally {
      try (var files = Files.list(directory)) {
        for (Path file : files.toList()) {
          Files.deleteIfExists(file);
        }
      }
      Files.deleteIfExists(directory);
    }
  }

  /**
   * A tokenizer from {@code tokenizer.json}, {@code tokenizer.model}, a directory holding one of
   * them, or a GGUF model file from {@code rgemma quantize} (the tokenizer in its metadata).
   */
  public static Tokenizer loadTokenizer(Path path) throws IOException {
    if (!isGguf(path)) {
      return Tokenizer.load(path);
    }
    try (GgufCheckpoint gguf = GgufCheckpoint.open(path)) {
      Tokenizer tokenizer = unpacked(gguf, path, Tokenizer::load, null);
      if (tokenizer == null) {
        throw new RgemmaException(path + ": this GGUF file holds no tokenizer (tokenizer.huggingface.json or "
            + GgufCheckpoint.SENTENCEPIECE_KEY + " in its metadata)");
      }
      return tokenizer;
    }
  }

  /** Whether {@code path} is a regular file that starts with the GGUF magic. */
  private static boolean isGguf(Path path) throws IOException {
    if (!Files.isRegularFile(path)) {
      return false;
    }
    try (var in = Files.newInputStream(path)) {
      byte[] magic = in.readNBytes(4);
      return java.util.Arrays.equals(magic, new byte[] {'G', 'G', 'U', 'F'});
    }
  }

  /**
   * The tokenizer beside a checkpoint ({@code tokenizer.json} or {@code tokenizer.model}), empty if
   * there is none. Fails if its vocabulary does not fit the model's.
   */
  public static Optional<TextCodec> forModel(Path modelDirectory, int modelVocabSize) throws IOException {
    if (!Files.isRegularFile(modelDirectory.resolve("tokenizer.json"))
        && !Files.isRegularFile(modelDirectory.resolve("tokenizer.model"))) {
      return Optional.empty();
    }
    Tokenizer tokenizer = Tokenizer.load(modelDirectory);
    if (tokenizer.vocabSize() > modelVocabSize) {
      throw new RgemmaException(modelDirectory + ": the tokenizer has " + tokenizer.vocabSize()
          + " tokens, more than the model's vocab_size " + modelVocabSize);
    }
    return Optional.of(new TokenizerCodec(tokenizer, declaresChatTemplate(modelDirectory)));
  }

  public Tokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public int[] encode(String text, boolean addBos) {
    boolean startsWithBos = bosPiece != null && text.startsWith(bosPiece);
    return tokenizer.encode(text, addBos && !startsWithBos);
  }

  @Override
  public TextStream newTextStream() {
    StreamingDecoder decoder = tokenizer.newStreamingDecoder(true);
    int known = tokenizer.vocabSize();
    return new TextStream() {
      @Override
      public String accept(int tokenId) {
        // a model's vocabulary may be padded beyond the tokenizer's: those ids have no text
        return tokenId >= known ? "" : decoder.accept(tokenId);
      }

      @Override
      public String flush() {
        return decoder.flush();
      }
    };
  }

  /**
   * Made once (a quarter of a million pieces) and shared by every JSON-mode generation of every
   * session over this codec.
   */
  @Override
  public byte[][] tokenBytesTable(int vocabSize) {
    byte[][] table = tokenBytesTable;
    if (table == null || table.length != vocabSize) {
      table = TextCodec.super.tokenBytesTable(vocabSize);
      tokenBytesTable = table;
    }
    return table;
  }

  @Override
  public byte[] tokenBytes(int tokenId) {
    // ids of a padded vocabulary beyond the tokenizer's have no text
    return tokenId >= tokenizer.vocabSize() ? new byte[0] : tokenizer.tokenBytes(tokenId);
  }

  @Override
  public OptionalInt specialToken(String piece) {
    return tokenizer.tokenId(piece);
  }

  @Override
  public String renderChat(List<Message> messages, boolean addGenerationPrompt) {
    return ChatTemplate.render(
        messages.stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList(),
        addGenerationPrompt);
  }
}
