package dev.rgemma.spark;

import dev.rgemma.RgemmaException;
import dev.rgemma.engine.BatchGenerator;
import dev.rgemma.engine.GenerationOptions;
import dev.rgemma.engine.GenerationResult;
import dev.rgemma.engine.TextCodec;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;

/**
 * The task side of {@link RGemmaSpark#generate}: takes the executor's shared model, turns each row
 * into a request (tokenizing text prompts, with the chat template if asked), decodes the
 * partition's rows together with a {@link BatchGenerator} and appends the output columns, keeping
 * the rows in order. A row that cannot be generated gets its message in the error column, or
 * fails the task with {@link RGemmaOptions.OnError#FAIL}.
 */
final class RowGenerator implements MapPartitionsFunction<Row, Row>, Serializable {
  private static final long serialVersionUID = 1L;

  /** Output values per row, in the order of {@link RGemmaSpark#outputSchema}. */
  static final int OUTPUT_COLUMNS = 8;

  private final RGemmaOptions options;
  private final int promptIndex;
  private final boolean textPrompts;
  private final int seedIndex; // -1: no seed column
  private final LongAccumulator loads;

  RowGenerator(RGemmaOptions options, int promptIndex, boolean textPrompts, int seedIndex, LongAccumulator loads) {
    this.options = options;
    this.promptIndex = promptIndex;
    this.textPrompts = textPrompts;
    this.seedIndex = seedIndex;
    this.loads = loads;
  }

  /** A row pulled from the input, with its request or the reason it has none. */
  private record Item(Row row, BatchGenerator.Request request, RuntimeException failure) {}

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    ExecutorModels.Loaded loaded = ExecutorModels.get(options.model(), options.threadsPerTask(), loads);
    TextCodec codec = loaded.codec();
    boolean chat = options.chat() != null ? options.chat() : codec != null && codec.isChatModel();
    GenerationOptions generation = options.generationOptions();
    BatchGenerator generator = new BatchGenerator(loaded.model(), codec, options.batchSize(), options.maxPromptTokens());

    // Rows are pulled by the generator when it has room; rows without a request wait in the same
    // queue so that the output keeps the input's order.
    ArrayDeque<Item> pulled = new ArrayDeque<>();
    Iterator<BatchGenerator.Request> requests = new Iterator<>() {
      private BatchGenerator.Request next;

      @Override
      public boolean hasNext() {
        while (next == null && rows.hasNext()) {
          Item item = toItem(rows.next(), codec, chat, generation);
          pulled.addLast(item);
          next = item.request();
        }
        return next != null;
      }

      @Override
      public BatchGenerator.Request next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        BatchGenerator.Request request = next;
        next = null;
        return request;
      }
    };
    Iterator<BatchGenerator.Outcome> outcomes = generator.generate(requests);
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        // outcomes.hasNext() pulls rows; when it finds no more requests, rows without one may
        // still have been queued on the way
        return !pulled.isEmpty() || outcomes.hasNext() || !pulled.isEmpty();
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        Item item = pulled.pollFirst();
        if (item.request() == null) {
          return output(item.row(), null, item.failure());
        }
        BatchGenerator.Outcome outcome = outcomes.next();
        return output(item.row(), outcome.result(), outcome.failure());
      }
    };
  }

  private Item toItem(Row row, TextCodec codec, boolean chat, GenerationOptions generation) {
    try {
      int[] prompt = prompt(row, codec, chat);
      long seed = seedIndex < 0 || row.isNullAt(seedIndex) ? options.seed() : ((Number) row.get(seedIndex)).longValue();
      return new Item(row, new BatchGenerator.Request(prompt, options.samplerSettings(seed), generation), null);
    } catch (RuntimeException e) {
      return new Item(row, null, e);
    }
  }

  private int[] prompt(Row row, TextCodec codec, boolean chat) {
    if (row.isNullAt(promptIndex)) {
      throw new IllegalArgumentException("the prompt is null");
    }
    if (!textPrompts) {
      List<Object> ids = row.getList(promptIndex);
      int[] prompt = new int[ids.size()];
      for (int i = 0; i < prompt.length; i++) {
        if (ids.get(i) == null) {
          throw new IllegalArgumentException("token id " + i + " of the prompt is null");
        }
        prompt[i] = Math.toIntExact(((Number) ids.get(i)).longValue());
      }
      return prompt;
    }
    String text = row.getString(promptIndex);
    if (text.isEmpty()) {
      throw new IllegalArgumentException("the prompt is empty: nothing to generate from");
    }
    if (codec == null) {
      throw new IllegalArgumentException(options.model() + " has no tokenizer: give the prompts as token ids");
    }
    return prompts(codec, text, chat);
  }

  /** A text prompt's ids exactly as {@code rgemma generate} makes them for a fresh session. */
  static int[] prompts(TextCodec codec, String text, boolean chat) {
    if (chat) {
      return codec.encode(codec.renderChat(List.of(new TextCodec.Message("user", text)), true), true);
    }
    return codec.encode(text, true);
  }

  private Row output(Row row, GenerationResult result, RuntimeException failure) {
    if (failure != null && options.onError() == RGemmaOptions.OnError.FAIL) {
      throw new RgemmaException("rgemma: generation failed for the row " + describe(row) + ": "
          + failure.getMessage() + " (set on-error to keep-going to report it in the error column instead)", failure);
    }
    Object[] values = new Object[row.length() + OUTPUT_COLUMNS];
    for (int i = 0; i < row.length(); i++) {
      values[i] = row.get(i);
    }
    System.arraycopy(outputValues(result, failure), 0, values, row.length(), OUTPUT_COLUMNS);
    return RowFactory.create(values);
  }

  /** The output columns' values: text, token ids, finish reason, counts, timings, error. */
  static Object[] outputValues(GenerationResult result, RuntimeException failure) {
    if (result == null) {
      String message = failure.getMessage() == null ? failure.toString() : failure.getMessage();
      return new Object[] {null, null, null, null, null, null, null, message};
    }
    List<Object> ids = new ArrayList<>(result.tokens().length);
    Arrays.stream(result.tokens()).forEach(ids::add);
    return new Object[] {
        result.text(),
        scala.jdk.javaapi.CollectionConverters.asScala(ids).toSeq(),
        result.stopReason().label(),
        result.promptTokens(),
        result.generatedTokens(),
        result.prefillNanos() / 1e6,
        result.decodeNanos() / 1e6,
        null};
  }

  private String describe(Row row) {
    Object prompt = row.get(promptIndex);
    String text = String.valueOf(prompt instanceof scala.collection.Seq<?> seq ? seq.mkString("[", ",", "]") : prompt);
    return "with prompt \"" + (text.length() > 60 ? text.substring(0, 60) + "..." : text) + "\"";
  }
}
