package dev.rgemma.model;

/** The temporal-mixing half of a residual layer: an RG-LRU recurrence or local attention. */
public sealed interface TemporalBlock permits RecurrentBlock, LocalAttentionBlock {}
