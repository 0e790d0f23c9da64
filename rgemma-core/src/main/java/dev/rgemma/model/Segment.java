package dev.rgemma.model;

/**
 * Rows {@code [firstRow, firstRow + rows)} of a batch belong to one sequence, whose state they
 * continue at position {@code startPosition}. A prefill chunk is one segment; a batched decode
 * step is one single-row segment per sequence.
 */
record Segment(ModelState state, long startPosition, int firstRow, int rows) {}
