package dev.rgemma.tokenizer;

import java.io.IOException;
import java.nio.file.Path;

final class SentencePieceTokenizer {
  static Tokenizer load(Path file) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }
}
