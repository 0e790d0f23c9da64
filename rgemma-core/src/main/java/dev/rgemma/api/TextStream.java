package dev.rgemma.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The text of a generation, piece by piece, as the model produces it: an {@link Iterator} (or,
 * through {@link #toStream()}, a {@link Stream}) whose elements are text pieces that are final
 * (never part of a stop sequence). The generation runs on a background thread a few pieces ahead
 * of the reader and waits when the reader falls behind.
 *
 * <pre>{@code
 * try (TextStream pieces = session.stream("Once upon a time", options)) {
 *   while (pieces.hasNext()) {
 *     System.out.print(pieces.next());
 *   }
 *   System.out.println(pieces.completion().finishReason());
 * }
 * }</pre>
 *
 * <p>Close it (try-with-resources) when you stop reading early: that cancels the generation, and
 * the session is free again once {@link #close()} returns. Read it from one thread.
 */
public final class TextStream implements Iterator<String>, AutoCloseable {
  private static final int AHEAD = 64;

  /** A generation to run: streams text to the consumer, polls the supplier for cancellation. */
  interface Generation {
    Completion run(Consumer<String> onText, BooleanSupplier cancelled) throws IOException;
  }

  private sealed interface Event permits Piece, Done, Failed {}

  private record Piece(String text) implements Event {}

  private record Done(Completion completion) implements Event {}

  private record Failed(Throwable error) implements Event {}

  private final BlockingQueue<Event> queue = new ArrayBlockingQueue<>(AHEAD);
  private final Thread producer;
  private volatile boolean cancelled;
  private volatile Completion completion;
  private String nextPiece;
  private boolean finished;

  TextStream(Generation generation, Runnable release) {
    producer = Thread.ofPlatform().daemon().name("rgemma-stream").unstarted(() -> {
      Event last;
      try {
        completion = generation.run(text -> put(new Piece(text)), () -> cancelled);
        last = new Done(completion);
      } catch (Throwable t) {
        last = new Failed(t);
      } finally {
        release.run();
      }
      put(last);
    });
    producer.start();
  }

  private void put(Event event) {
    try {
      while (!queue.offer(event, 20, TimeUnit.MILLISECONDS)) {
        if (cancelled) {
          return; // nobody reads any more
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits for the next piece of text; false when the generation has ended. */
  @Override
  public boolean hasNext() {
    while (nextPiece == null && !finished) {
      Event event;
      try {
        event = queue.take();
      } catch (InterruptedException e) {
        close();
        Thread.currentThread().interrupt();
        finished = true;
        return false;
      }
      switch (event) {
        case Piece p -> nextPiece = p.text();
        case Done d -> finished = true;
        case Failed f -> {
          finished = true;
          throw unchecked(f.error());
        }
      }
    }
    return nextPiece != null;
  }

  /**
   * The next piece of text.
   *
   * @throws NoSuchElementException when the generation has ended
   */
  @Override
  public String next() {
    if (!hasNext()) {
      throw new NoSuchElementException("the generation has ended");
    }
    String piece = nextPiece;
    nextPiece = null;
    return piece;
  }

  /**
   * Waits for the generation to end and returns its outcome (with the whole text); pieces not
   * read yet are skipped. After {@link #close()}, the outcome of the cancelled generation.
   */
  public Completion completion() {
    while (hasNext()) {
      next();
    }
    if (completion == null) {
      throw new IllegalStateException("the generation failed; its error was thrown by hasNext()");
    }
    return completion;
  }

  /** The remaining pieces as a sequential {@link Stream}; closing the stream closes this. */
  public Stream<String> toStream() {
    Spliterator<String> pieces = Spliterators.spliteratorUnknownSize(this,
        Spliterator.ORDERED | Spliterator.NONNULL);
    return StreamSupport.stream(pieces, false).onClose(this::close);
  }

  /** Cancels the generation if it is still running and waits until it has stopped. Idempotent. */
  @Override
  public void close() {
    cancelled = true;
    boolean interrupted = false;
    while (producer.isAlive()) {
      queue.clear();
      try {
        producer.join(10);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    queue.clear();
    nextPiece = null;
    finished = true;
  }

  private static RuntimeException unchecked(Throwable error) {
    return switch (error) {
      case RuntimeException e -> e;
      case Error e -> throw e;
      case IOException e -> new UncheckedIOException(e);
      default -> new IllegalStateException(error);
    };
  }
}
