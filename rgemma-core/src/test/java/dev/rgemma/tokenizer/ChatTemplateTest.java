package dev.rgemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Renderings compared with Google's Gemma 3 template run by Jinja2 (src/test/oracle/chat_oracle.py). */
class ChatTemplateTest {

  @Test
  void rendersLikeTheHuggingFaceTemplate() throws IOException {
    List<JsonNode> cases = OracleCases.read("chat-gemma3.jsonl");
    assertTrue(cases.size() >= 20, "oracle file too small: " + cases.size());
    for (JsonNode c : cases) {
      List<ChatTemplate.Message> messages = new ArrayList<>();
      for (JsonNode m : c.get("messages")) {
        messages.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
      }
      boolean prompt = c.get("add_generation_prompt").asBoolean();
      if (c.has("error")) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> ChatTemplate.render(messages, prompt), c.toString());
        assertTrue(e.getMessage().contains("alternate"), e.getMessage());
      } else {
        assertEquals(c.get("text").asText(), ChatTemplate.render(messages, prompt), c.toString());
      }
    }
  }

  @Test
  void renderedPromptsEncodeToTheReferenceIds() throws IOException {
    Tokenizer tokenizer = TokenizerFiles.tokenizer(TokenizerFiles.GEMMA3);
    Map<String, int[]> expected = new HashMap<>();
    for (JsonNode c : OracleCases.read("hf-gemma3-chat.jsonl")) {
      if (c.has("text")) expected.put(c.get("text").asText(), OracleCases.ids(c.get("ids")));
    }
    String prompt =
        ChatTemplate.render(
            List.of(
                new ChatTemplate.Message("system", "You are terse."),
                new ChatTemplate.Message("user", "Hi")),
            true);
    int[] ids = tokenizer.encode(prompt, false);
    assertArrayEquals(expected.get(prompt), ids);
    assertEquals(tokenizer.bosId(), ids[0]);
    assertEquals(tokenizer.tokenId("<start_of_turn>").orElseThrow(), ids[1]);
    for (var entry : expected.entrySet()) {
      assertArrayEquals(entry.getValue(), tokenizer.encode(entry.getKey(), false), entry.getKey());
    }
  }

  /** Errors name the message as messages[i], 0-based, as the server's other message errors do. */
  @Test
  void rejectsUnknownRolesAndMisplacedSystemMessages() {
    var system = new ChatTemplate.Message("system", "s");
    var user = new ChatTemplate.Message("user", "x");
    var assistant = new ChatTemplate.Message("assistant", "a");
    String[][] cases = {
      {"tool", "messages[0].role \"tool\" is unknown"},
      {"user system", "messages[1]: a system message is only allowed first"},
      // The same system message twice: the second one is named, not the first.
      {"system user assistant system", "messages[3]: a system message is only allowed first"},
      {"assistant", "messages[0] has role \"assistant\""},
      {"system assistant", "messages[1] has role \"assistant\""},
      {"user assistant assistant", "messages[2] has role \"assistant\""},
      {"system user user", "messages[2] has role \"user\""},
    };
    for (String[] c : cases) {
      List<ChatTemplate.Message> messages = java.util.Arrays.stream(c[0].split(" ")).map(role -> switch (role) {
        case "system" -> system;
        case "user" -> user;
        case "assistant" -> assistant;
        default -> new ChatTemplate.Message(role, "x");
      }).toList();
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> ChatTemplate.render(messages, false), c[0]);
      assertTrue(e.getMessage().startsWith(c[1]), c[0] + ": " + e.getMessage());
    }
  }
}
