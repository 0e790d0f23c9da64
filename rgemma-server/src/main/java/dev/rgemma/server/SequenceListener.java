package dev.rgemma.server;

/** Receives a generation's output. Called on the scheduler's thread: must not block. */
public interface SequenceListener {
  /** Newly generated text (never a stop string or text after it). */
  void onText(String text);

  /** The generation ended normally; nothing follows. */
  void onFinish(SequenceResult result);

  /** The generation failed; nothing follows. */
  void onError(RuntimeException error);
}
