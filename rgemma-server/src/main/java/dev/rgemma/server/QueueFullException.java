package dev.rgemma.server;

/** Every slot is busy and the waiting queue is full: the client should retry later. */
public final class QueueFullException extends Exception {
  public QueueFullException(int queued) {
    super("the server is busy: " + queued + " requests are waiting for a slot; retry later");
  }
}
