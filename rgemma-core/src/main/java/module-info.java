/**
 * rgemma's engine as a library. Only {@code dev.rgemma.api} (the public API) and {@code dev.rgemma}
 * ({@link dev.rgemma.RgemmaException}) are exported; the engine's packages are internal and may
 * change between versions. On the class path (as the CLI runs it) this descriptor is ignored.
 */
module dev.rgemma.core {
  requires jdk.incubator.vector;
  requires jdk.management;
  requires com.fasterxml.jackson.databind;

  exports dev.rgemma;
  exports dev.rgemma.api;
}
