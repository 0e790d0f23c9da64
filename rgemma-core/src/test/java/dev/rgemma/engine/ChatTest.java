package dev.rgemma.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.testing.FakeCodec;
import dev.rgemma.testing.Fixtures;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Chat turns continue from the carried state: only the new turn's tokens are fed. */
class ChatTest {
  private static RecurrentGemmaModel model;

  @BeforeAll
  static void load() throws Exception {
    model = RecurrentGemmaModel.load(Fixtures.dir("tiny-a"));
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void firstTurnIsTheTemplateAndLaterTurnsOnlyTheirDelta() {
    FakeCodec codec = FakeCodec.chat();
    Chat chat = new Chat(new Session(model, codec, SamplerSettings.greedy()), "Be brief.");
    int[] first = chat.promptFor("Hello");
    assertArrayEquals(codec.encode(
        "<bos><start_of_turn>user\nBe brief.\n\nHello<end_of_turn>\n<start_of_turn>model\n", false), first);
    assertEquals("<end_of_turn>\n<start_of_turn>user\nWhy?<end_of_turn>\n<start_of_turn>model\n",
        chat.continuation("Why?"));
    assertEquals("<end_of_turn>\n<start_of_turn>user\nsay RGEMMA_PREVIOUS_ANSWER_MARK<end_of_turn>\n<start_of_turn>model\n",
        chat.continuation("say RGEMMA_PREVIOUS_ANSWER_MARK"), "a user message that contains the mark");
  }

  @Test
  void secondTurnFeedsOnlyItsNewTokensAndMatchesRereadingEverything() {
    FakeCodec codec = FakeCodec.chat();
    Session session = new Session(model, codec, SamplerSettings.greedy());
    Chat chat = new Chat(session, null);
    GenerationOptions options = GenerationOptions.maxTokens(6);
    int[] firstPrompt = chat.promptFor("Hello there");
    GenerationResult first = chat.send("Hello there", options, GenerationListener.NONE);
    assertEquals(firstPrompt.length, first.promptTokens());

    int[] delta = codec.encode(chat.continuation("And then?"), false);
    SessionTest.Recorder recorder = new SessionTest.Recorder();
    long before = session.position();
    GenerationResult second = chat.send("And then?", options, recorder);
    // fed: the first answer's last token (still pending after max-tokens) and the new turn only
    int pending = first.stopReason() == StopReason.MAX_TOKENS ? 1 : 0;
    assertEquals(pending + delta.length, second.promptTokens());
    assertEquals(before + second.promptTokens() + second.decodeSteps(), second.position());

    // a fresh session that reads the whole conversation gets the same next-token logits
    int[] everything = IntStream.concat(IntStream.concat(Arrays.stream(firstPrompt),
        Arrays.stream(first.tokens())), Arrays.stream(delta)).toArray();
    float[] reread = model.forwardLast(model.newState(), everything);
    Fixtures.assertClose("second turn logits", recorder.logits.getFirst(), reread);
  }

  @Test
  void chatNeedsATokenizer() {
    assertThrows(IllegalArgumentException.class,
        () -> new Chat(new Session(model, null, SamplerSettings.greedy()), null));
  }
}
