package dev.rgemma.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything a RecurrentGemma model carries between calls: one {@link LayerState} per layer and
 * the position of the next token. Its size is fixed by the config, whatever the context length.
 */
public final class ModelState {
  private final List<LayerState> layers;
  private long position;

  public ModelState(List<LayerState> layers, long position) {
    this.layers = List.copyOf(layers);
    this.position = position;
  }

  /** A fresh state (position 0, zero conv windows and RG-LRU states, empty KV caches). */
  public static ModelState fresh(ModelConfig config) {
    List<LayerState> layers = new ArrayList<>();
    int convRows = config.conv1dWidth() - 1;
    for (BlockType type : config.blockTypes()) {
      layers.add(switch (type) {
        case RECURRENT -> new LayerState.RecurrentState(
            new float[convRows * config.lruWidth()], new float[config.lruWidth()]);
        case ATTENTION -> LayerState.AttentionState.empty(config.headDim(), config.attentionWindowSize());
      });
    }
    return new ModelState(layers, 0);
  }

  /** Position of the next token (= number of tokens processed). */
  public long position() {
    return position;
  }

  void advance(int tokens) {
    position += tokens;
  }

  public List<LayerState> layers() {
    return layers;
  }

  public LayerState layer(int i) {
    return layers.get(i);
  }

  /** An independent deep copy. */
  public ModelState copy() {
    return new ModelState(layers.stream().map(LayerState::copy).toList(), position);
  }

  /** Bytes of state held: constant for a given config. */
  public long sizeBytes() {
    return layers.stream().mapToLong(LayerState::sizeBytes).sum();
  }
}
