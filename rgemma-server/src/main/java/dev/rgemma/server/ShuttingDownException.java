package dev.rgemma.server;

/**
 * The scheduler was closed (the server is shutting down): thrown by {@link BatchScheduler#submit}
 * afterwards, and given to the listeners of the generations that were running or waiting. The
 * server answers it with 503, not 500: the request was valid and may succeed on a retry elsewhere.
 */
public final class ShuttingDownException extends IllegalStateException {
  public ShuttingDownException() {
    super("the server is shutting down");
  }
}
