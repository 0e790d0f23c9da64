package dev.rgemma.model;

/** The temporal-mixing block of a residual layer. */
public enum BlockType {
  RECURRENT("recurrent"),
  ATTENTION("attention");

  private final String configName;

  BlockType(String configName) {
    this.configName = configName;
  }

  /** The name used in config.json's {@code block_types}. */
  public String configName() {
    return configName;
  }
}
