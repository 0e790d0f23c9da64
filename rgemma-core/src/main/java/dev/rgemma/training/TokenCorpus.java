package dev.rgemma.training;

import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Token streams of text files, and the windows the trainer reads from them. A window of
 * {@code seqLen} tokens {@code w} gives inputs {@code [<bos>, w[0..seqLen-2]]} and targets
 * {@code w[0..seqLen-1]}, so the model also learns to start a text after {@code <bos>}.
 */
public final class TokenCorpus {
  public static final int BOS = 2;

  /** One file's tokens and the UTF-8 byte length of each token. */
  public record Document(String name, int[] tokens, long bytes) {}

  private final List<Document> documents;

  public TokenCorpus(List<Document> documents) {
    this.documents = List.copyOf(documents);
  }

  public static TokenCorpus encode(List<Path> files, BpeEncoder encoder) throws IOException {
    List<Document> docs = new ArrayList<>();
    for (Path f : files) {
      String text;
      try {
        text = Files.readString(f, StandardCharsets.UTF_8);
      } catch (MalformedInputException e) {
        throw new RgemmaException(f + ": not valid UTF-8 text", e);
      }
      docs.add(new Document(f.getFileName().toString(), encoder.encode(text),
          text.getBytes(StandardCharsets.UTF_8).length));
    }
    return new TokenCorpus(docs);
  }

  public List<Document> documents() {
    return documents;
  }

  public long tokenCount() {
    long n = 0;
    for (Document d : documents) {
      n += d.tokens().length;
    }
    return n;
  }

  /**
   * A batch of random windows: each row picks a document uniformly (so small files weigh as much
   * as large ones), then a uniform offset. Deterministic in {@code random}.
   */
  public int[][][] randomBatch(Random random, int batch, int seqLen) {
    int[][] inputs = new int[batch][];
    int[][] targets = new int[batch][];
    for (int b = 0; b < batch; b++) {
      Document d = documents.get(random.nextInt(documents.size()));
      int max = d.tokens().length - seqLen;
      if (max < 0) {
        throw new RgemmaException(d.name() + ": only " + d.tokens().length
            + " tokens, shorter than the sequence length " + seqLen);
      }
      int offset = random.nextInt(max + 1);
      inputs[b] = window(d.tokens(), offset, seqLen, true);
      targets[b] = window(d.tokens(), offset, seqLen, false);
    }
    return new int[][][] {inputs, targets};
  }

  static int[] window(int[] tokens, int offset, int seqLen, boolean asInput) {
    int[] out = new int[seqLen];
    if (asInput) {
      out[0] = BOS;
      System.arraycopy(tokens, offset, out, 1, seqLen - 1);
    } else {
      System.arraycopy(tokens, offset, out, 0, seqLen);
    }
    return out;
  }
}
