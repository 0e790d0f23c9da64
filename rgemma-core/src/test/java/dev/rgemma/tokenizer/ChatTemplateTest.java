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

  @Test
  void rejectsUnknownRolesAndMisplacedSystemMessages() {
    assertThrows(IllegalArgumentException.class,
        () -> ChatTemplate.render(List.of(new ChatTemplate.Message("tool", "x")), false));
    assertThrows(IllegalArgumentException.class,
        () -> ChatTemplate.render(
            List.of(new ChatTemplate.Message("user", "x"), new ChatTemplate.Message("system", "y")), false));
  }
}
