package dev.rgemma.examples;

import dev.rgemma.api.ChatMessage;
import dev.rgemma.api.Completion;
import dev.rgemma.api.GenerateOptions;
import dev.rgemma.api.RgemmaModel;
import dev.rgemma.api.RgemmaSession;
import dev.rgemma.api.TextStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * rgemma as a library in a few lines: load a model, generate with streaming, continue the text,
 * chat, save the session and restore it.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp rgemma-core.jar:jackson-*.jar dev.rgemma.examples.QuickStart [MODEL_DIR]
 * </pre>
 *
 * Without an argument it loads the demo model. A model without a tokenizer (such as the test
 * fixture) is run on token ids instead.
 */
public final class QuickStart {
  private QuickStart() {}

  public static void main(String[] args) throws Exception {
    try (RgemmaModel model = args.length > 0 ? RgemmaModel.load(Path.of(args[0])) : RgemmaModel.loadDemo()) {
      System.out.println("model: " + model.path() + " (" + model.sessionStateBytes() + " bytes of state per session)");
      RgemmaSession session = model.newSession();
      GenerateOptions options = GenerateOptions.builder().maxTokens(40).temperature(0.7).seed(42).build();

      if (!model.hasTokenizer()) {
        Completion c = session.generate(new int[] {2, 17, 42, 99, 5}, GenerateOptions.greedy(20));
        System.out.println("generated ids: " + Arrays.toString(c.tokens()) + " (" + c.finishReason() + ")");
        return;
      }

      // 1. generate, printing the text as it comes
      Completion first = session.generate("Call me Ishmael.", options, System.out::print);
      System.out.printf("%n[%s, %d tokens, %.0f tokens/s]%n", first.finishReason(), first.generatedTokens(),
          first.decodeTokensPerSecond());

      // 2. continue the same text, reading it as an Iterator
      try (TextStream more = session.stream(" Some years ago", options)) {
        more.forEachRemaining(System.out::print);
        System.out.println();
      }

      // 3. save the session and continue from the file
      Path file = Files.createTempFile("quick-start", ".rgsession");
      session.save(file);
      RgemmaSession restored = model.restoreSession(file);
      System.out.println("restored at position " + restored.position());
      Files.delete(file);

      // 4. chat with a list of messages
      List<ChatMessage> chat = List.of(
          ChatMessage.system("Answer in one sentence."),
          ChatMessage.user("What is the sea like?"));
      System.out.println("tokens in the chat prompt: " + model.countTokens(chat));
      Completion answer = model.newSession().chat(chat, options);
      System.out.println("answer: " + answer.text().strip() + " [" + answer.finishReason() + "]");
    }
  }
}
