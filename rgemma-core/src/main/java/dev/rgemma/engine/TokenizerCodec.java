package dev.rgemma.engine;

import dev.rgemma.RgemmaException;
import dev.rgemma.io.GgufFile;
import dev.rgemma.io.GgufValue;
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

  public TokenizerCodec(Tokenizer tokenizer) {
    this.tokenizer = Objects.requireNonNull(tokenizer);
    this.bosPiece = tokenizer.bosId() < 0 ? null : tokenizer.piece(tokenizer.bosId());
  }

  /**
   * The tokenizer of a model: beside a checkpoint directory ({@code tokenizer.json} or {@code
   * tokenizer.model}), or inside a GGUF file (written by {@code rgemma quantize}); empty if there
   * is none. Fails if its vocabulary does not fit the model's.
   */
  public static Optional<TextCodec> forModel(Path modelDirectory, int modelVocabSize) throws IOException {
    if (Files.isRegularFile(modelDirectory)) {
      return fromGguf(modelDirectory, modelVocabSize);
    }
    if (!Files.isRegularFile(modelDirectory.resolve("tokenizer.json"))
        && !Files.isRegularFile(modelDirectory.resolve("tokenizer.model"))) {
      return Optional.empty();
    }
    Tokenizer tokenizer = Tokenizer.load(modelDirectory);
    if (tokenizer.vocabSize() > modelVocabSize) {
      throw new RgemmaException(modelDirectory + ": the tokenizer has " + tokenizer.vocabSize()
          + " tokens, more than the model's vocab_size " + modelVocabSize);
    }
    return Optional.of(new TokenizerCodec(tokenizer));
  }

  /** The tokenizer files a GGUF file carries in its metadata, loaded through a temporary copy. */
  private static Optional<TextCodec> fromGguf(Path file, int modelVocabSize) throws IOException {
    Path copy;
    try (GgufFile gguf = GgufFile.open(file)) {
      GgufValue json = gguf.metadata().get("tokenizer.huggingface.json");
      GgufValue sentencePiece = gguf.metadata().get("rgemma.tokenizer.sentencepiece_model");
      if (json != null && json.type() == GgufValue.Type.STRING) {
        copy = Files.createTempFile("rgemma-tokenizer", ".json");
        Files.writeString(copy, json.asString());
      } else if (sentencePiece != null && sentencePiece.type() == GgufValue.Type.ARRAY) {
        List<?> values = sentencePiece.asList();
        byte[] bytes = new byte[values.size()];
        for (int i = 0; i < bytes.length; i++) {
          bytes[i] = (byte) ((Number) values.get(i)).longValue();
        }
        copy = Files.createTempFile("rgemma-tokenizer", ".model");
        Files.write(copy, bytes);
      } else {
        return Optional.empty();
      }
    }
    try {
      Tokenizer tokenizer = Tokenizer.load(copy);
      if (tokenizer.vocabSize() > modelVocabSize) {
        throw new RgemmaException(file + ": the tokenizer has " + tokenizer.vocabSize()
            + " tokens, more than the model's vocab_size " + modelVocabSize);
      }
      return Optional.of(new TokenizerCodec(tokenizer));
    } catch (RgemmaException e) {
      throw new RgemmaException(file + ": the tokenizer in its metadata: " + e.getMessage(), e);
    } finally {
      Files.deleteIfExists(copy);
    }
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
