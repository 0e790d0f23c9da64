package dev.rgemma.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.testing.Fixtures;
import dev.rgemma.testing.TinyTokenizer;
import dev.rgemma.tokenizer.ChatTemplate;
import dev.rgemma.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chat driven through piped stdin, one message per line. */
class ChatCommandTest {
  @TempDir Path temp;
  Path model;
  Tokenizer tokenizer;

  @BeforeEach
  void model() throws Exception {
    model = TinyTokenizer.fixtureModelWithTokenizer(temp.resolve("model"));
    tokenizer = Tokenizer.load(model);
  }

  private int firstTurnTokens(String message) {
    return tokenizer.encode(ChatTemplate.render(List.of(new ChatTemplate.Message("user", message)), true), false).length;
  }

  /** What the second turn feeds: the end of the model's turn and the new user turn, nothing older. */
  private int laterTurnTokens(String message, String previousStop) {
    String delta = "<end_of_turn>\n<start_of_turn>user\n" + message + "<end_of_turn>\n<start_of_turn>model\n";
    int pending = previousStop.equals("max-tokens") ? 1 : 0; // the answer's last token, not fed yet
    return pending + tokenizer.encode(delta, false).length;
  }

  @Test
  void twoTurnsThroughPipedStdinTheSecondReadsOnlyItsNewTokens() {
    CliRun chat = CliRun.run("the hen\nthin then\n", "chat", "--model", model.toString(),
        "--temperature", "0", "--max-tokens", "6");
    assertEquals(0, chat.exitCode(), chat.toString());
    List<Integer> prompts = chat.summaryValues("prompt tokens");
    List<Integer> positions = chat.summaryValues("position");
    List<String> stops = chat.stopReasons();
    assertEquals(2, prompts.size(), chat.toString());
    assertEquals(firstTurnTokens("the hen"), prompts.get(0));
    assertEquals(laterTurnTokens("thin then", stops.get(0)), prompts.get(1), chat.toString());
    assertTrue(prompts.get(1) < positions.get(0), "the second turn does not re-read the first");
    assertEquals(2, chat.out().lines().count(), "one line of answer per turn:\n" + chat.out());
  }

  @Test
  void theSystemPromptOpensTheFirstTurn() {
    CliRun chat = CliRun.run("the hen\n", "chat", "--model", model.toString(), "--temperature", "0",
        "--max-tokens", "3", "--system", "Be brief.");
    assertEquals(0, chat.exitCode(), chat.toString());
    int expected = tokenizer.encode(ChatTemplate.render(List.of(new ChatTemplate.Message("system", "Be brief."),
        new ChatTemplate.Message("user", "the hen")), true), false).length;
    assertEquals(List.of(expected), chat.summaryValues("prompt tokens"));
  }

  @Test
  void sessionContinuesTheConversationInTheNextProcess() throws Exception {
    Path session = temp.resolve("talk.rgsession");
    CliRun first = CliRun.run("the hen\n", "chat", "--model", model.toString(), "--temperature", "0",
        "--max-tokens", "6", "--session", session.toString());
    assertEquals(0, first.exitCode(), first.toString());
    assertTrue(Files.isRegularFile(session));
    CliRun second = CliRun.run("thin then\n", "chat", "--model", model.toString(), "--temperature", "0",
        "--max-tokens", "6", "--session", session.toString());
    assertEquals(0, second.exitCode(), second.toString());
    assertEquals(List.of(laterTurnTokens("thin then", first.stopReasons().getFirst())),
        second.summaryValues("prompt tokens"));

    // the same two turns in one process give the same second answer
    CliRun together = CliRun.run("the hen\nthin then\n", "chat", "--model", model.toString(),
        "--temperature", "0", "--max-tokens", "6");
    assertEquals(together.out().lines().toList().get(1), second.out().lines().toList().getFirst());
  }

  @Test
  void commandsSaveLoadResetAndStats() {
    Path saved = temp.resolve("saved.rgsession");
    CliRun chat = CliRun.run(String.join("\n", "the hen", "/save " + saved, "/reset", "/stats",
        "/load " + saved, "/stats", "/help", "/bogus", "/exit", "never sent") + "\n",
        "chat", "--model", model.toString(), "--temperature", "0", "--max-tokens", "6");
    assertEquals(0, chat.exitCode(), chat.toString());
    int position = chat.summaryValues("position").getFirst();
    assertTrue(chat.out().contains("saved " + saved), chat.out());
    assertTrue(chat.out().contains("position: 0 tokens"), chat.out());
    assertTrue(chat.out().contains("position: " + position + " tokens"), chat.out());
    assertTrue(chat.out().contains("/save FILE"), chat.out());
    assertTrue(chat.out().contains("unknown command /bogus"), chat.out());
    assertEquals(1, chat.summaryValues("prompt tokens").size(), "nothing is sent after /exit");
  }

  /** A /save or /load that fails says why in one line, and the chat goes on (and --session is saved). */
  @Test
  void aFailedSaveOrLoadDoesNotEndTheChat() {
    Path session = temp.resolve("kept.rgsession");
    CliRun chat = CliRun.run(String.join("\n", "the hen", "/save " + temp, "/load " + temp.resolve("absent"),
        "/stats") + "\n", "chat", "--model", model.toString(), "--temperature", "0", "--max-tokens", "4",
        "--session", session.toString());
    assertEquals(0, chat.exitCode(), chat.toString());
    assertTrue(chat.out().contains("rgemma: " + temp + " is a directory"), chat.out());
    assertTrue(chat.out().contains("rgemma: " + temp.resolve("absent") + ": session file not found"), chat.out());
    assertTrue(chat.out().contains("position: "), "/stats still ran: " + chat.out());
    assertTrue(java.nio.file.Files.exists(session), "--session was saved at the end");
  }

  @Test
  void chatNeedsATokenizer() {
    GenerateCommandTest.assertError(CliRun.run("hi\n", "chat", "--model", Fixtures.dir("tiny-a").toString()),
        "has no tokenizer");
  }

  @Test
  void helpListsEveryFlagAndCommand() {
    CliRun help = CliRun.run("", "chat", "--help");
    for (String text : List.of("--model", "--system", "--max-tokens", "--temperature", "--top-k", "--top-p",
        "--min-p", "--repeat-penalty", "--seed", "--stop", "--session", "--threads", "/save", "/load",
        "/reset", "/stats", "/help")) {
      assertTrue(help.out().contains(text), text + " missing from\n" + help.out());
    }
  }
}
