package dev.rgemma.api;

/** Why a generation ended. */
public enum FinishReason {
  /** The model produced its end-of-sequence token. */
  END_OF_SEQUENCE,
  /** The model ended its chat turn ({@code <end_of_turn>}). */
  END_OF_TURN,
  /** The text reached one of {@link GenerateOptions#stopSequences()}; it is not part of the text. */
  STOP_SEQUENCE,
  /** {@link GenerateOptions#maxTokens()} tokens were generated. */
  MAX_TOKENS,
  /** The caller cancelled: the thread was interrupted or the {@link TextStream} was closed. */
  CANCELLED;

  /** True when the model itself ended (end of sequence or of its turn) or a stop sequence matched. */
  public boolean isNaturalStop() {
    return this == END_OF_SEQUENCE || this == END_OF_TURN || this == STOP_SEQUENCE;
  }
}
