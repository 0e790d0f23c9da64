package dev.rgemma.engine;

/** Why a generation ended. */
public enum StopReason {
  /** The model produced the end-of-sequence token. */
  END_OF_SEQUENCE("eos"),
  /** The model produced {@code <end_of_turn>}. */
  END_OF_TURN("end-of-turn"),
  /** The text matched one of the stop strings. */
  STOP_STRING("stop-string"),
  /** The token limit was reached. */
  MAX_TOKENS("max-tokens"),
  /** The caller asked to stop (Ctrl-C). */
  CANCELLED("cancelled");

  private final String label;

  StopReason(String label) {
    this.label = label;
  }

  /** Short name for summaries. */
  public String label() {
    return label;
  }
}
