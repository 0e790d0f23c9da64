package dev.rgemma.server;

import dev.rgemma.engine.TextCodec;
import dev.rgemma.tokenizer.ChatTemplate;
import dev.rgemma.tokenizer.StreamingDecoder;
import dev.rgemma.tokenizer.Tokenizer;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/** The engine's {@link TextCodec} over a loaded {@link Tokenizer} and Gemma's {@link ChatTemplate}. */
public final class TokenizerTextCodec implements TextCodec {
  private final Tokenizer tokenizer;

  public TokenizerTextCodec(Tokenizer tokenizer) {
    this.tokenizer = Objects.requireNonNull(tokenizer);
  }

  @Override
  public int[] encode(String text, boolean addBos) {
    int[] ids = tokenizer.encode(text, false);
    int bos = tokenizer.bosId();
    if (!addBos || bos < 0 || (ids.length > 0 && ids[0] == bos)) {
      return ids;
    }
    int[] withBos = new int[ids.length + 1];
    withBos[0] = bos;
    System.arraycopy(ids, 0, withBos, 1, ids.length);
    return withBos;
  }

  @Override
  public TextStream newTextStream() {
    StreamingDecoder decoder = tokenizer.newStreamingDecoder(true);
    return new TextStream() {
      @Override
      public String accept(int tokenId) {
        return decoder.accept(tokenId);
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
        messages.stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList(), addGenerationPrompt);
  }
}
