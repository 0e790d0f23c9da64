package dev.rgemma.server;

/**
 * How a generation ended.
 *
 * @param finishReason {@code stop} (end of turn or a stop string) or {@code length} (max tokens)
 * @param promptTokens tokens in the prompt
 * @param cachedTokens prompt tokens taken from the state cache instead of being processed
 * @param completionTokens tokens generated (an end-of-sequence or end-of-turn token is not counted)
 * @param queueNanos time waiting for a slot
 * @param prefillNanos time from getting a slot to the first generated token
 * @param decodeNanos time from the first generated token to the end
 */
public record SequenceResult(String finishReason, int promptTokens, int cachedTokens,
    int completionTokens, long queueNanos, long prefillNanos, long decodeNanos) {}
