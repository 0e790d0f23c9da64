package dev.rgemma.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.testing.TinyTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the example's text path (generate, stream, save and restore, chat) on the tiny fixture with
 * a hand-made tokenizer; the build also runs the program itself (exec-maven-plugin).
 */
class QuickStartTest {
  @Test
  void runsEveryStepOnAModelWithATokenizer(@TempDir Path temp) throws Exception {
    Path model = TinyTokenizer.fixtureModelWithTokenizer(temp.resolve("tiny"));
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      QuickStart.main(new String[] {model.toString()});
    } finally {
      System.setOut(original);
    }
    String output = captured.toString(StandardCharsets.UTF_8);
    assertTrue(output.contains("tokens/s]"), output);
    assertTrue(output.matches("(?s).*restored at position [1-9][0-9]*\n.*"), output);
    assertTrue(output.contains("tokens in the chat prompt: "), output);
    assertTrue(output.contains("answer: "), output);
  }
}
