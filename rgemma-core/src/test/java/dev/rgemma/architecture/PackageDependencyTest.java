package dev.rgemma.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Keeps the core's package graph acyclic and pointing one way (see STYLE.md). */
class PackageDependencyTest {
  static JavaClasses classes;

  @BeforeAll
  static void load() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.rgemma");
  }

  @Test
  void packagesAreFreeOfCycles() {
    slices().matching("dev.rgemma.(*)..").should().beFreeOfCycles().check(classes);
  }

  @Test
  void lowerLayersDoNotDependOnHigherOnes() {
    noClasses().that().resideInAnyPackage("dev.rgemma.tensor..", "dev.rgemma.kernels..", "dev.rgemma.io..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "dev.rgemma.model..", "dev.rgemma.engine..", "dev.rgemma.tokenizer..", "dev.rgemma.sampling..")
        .check(classes);
    noClasses().that().resideInAnyPackage("dev.rgemma.model..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.rgemma.engine..", "dev.rgemma.sampling..")
        .check(classes);
  }

  @Test
  void onlyKernelsUseTheVectorApi() {
    // The trainer's matrix-product kernel is the one exception: a single package-private class,
    // kept apart while the kernels package is being rewritten (see VectorGemmKernel).
    noClasses().that().resideOutsideOfPackage("dev.rgemma.kernels..")
        .and().doNotHaveFullyQualifiedName("dev.rgemma.training.VectorGemmKernel")
        .should().dependOnClassesThat().resideInAPackage("jdk.incubator.vector..")
        .allowEmptyShould(true)
        .check(classes);
  }
}
