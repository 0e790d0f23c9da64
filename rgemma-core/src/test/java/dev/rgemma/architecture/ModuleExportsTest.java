package dev.rgemma.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.api.RgemmaModel;
import java.lang.module.ModuleDescriptor;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The core is a JPMS module that exports the public API and nothing of the engine. */
class ModuleExportsTest {
  @Test
  void onlyTheApiIsExported() {
    Module core = RgemmaModel.class.getModule();
    assertTrue(core.isNamed(), "the tests run inside the module dev.rgemma.core (surefire's module path)");
    ModuleDescriptor descriptor = core.getDescriptor();
    assertEquals("dev.rgemma.core", descriptor.name());
    Set<String> exported = descriptor.exports().stream()
        .filter(e -> !e.isQualified())
        .map(ModuleDescriptor.Exports::source)
        .collect(Collectors.toSet());
    assertEquals(Set.of("dev.rgemma", "dev.rgemma.api"), exported);
    assertTrue(descriptor.opens().isEmpty(), "nothing is opened for reflection");
  }
}
