package dev.rgemma.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class LogprobJsonTest {
  @Test
  void wholeCharactersAreTextAndPartialOnesAreEscapedBytes() {
    assertEquals(" caf\u00E9", LogprobJson.text(" caf\u00E9".getBytes(StandardCharsets.UTF_8)));
    assertEquals("", LogprobJson.text(new byte[0]));
    assertEquals("bytes:\\xe2", LogprobJson.text(new byte[] {(byte) 0xE2}));
    assertEquals("bytes:\\xe2\\x80", LogprobJson.text(new byte[] {(byte) 0xE2, (byte) 0x80}));
  }

  @Test
  void completionOffsetsCountCodePoints() {
    LogprobJson json = new LogprobJson(new CharCodec());
    String text = "\uD83E\uDD80ab"; // a character outside the BMP: two UTF-16 units, one code point
    List<TokenLogprob> tokens = List.of(
        new TokenLogprob(CharCodec.id('a'), -1f, List.of(), 2),
        new TokenLogprob(CharCodec.id('b'), -2f, List.of(new TokenLogprob.Alternative(CharCodec.id('c'), -0.5f)), 3));
    var node = json.completion(List.of(), tokens, text, 0);
    assertEquals("[1,2]", node.get("text_offset").toString());
    assertEquals("[\"a\",\"b\"]", node.get("tokens").toString());
    assertEquals("{\"c\":-0.5,\"b\":-2.0}", node.get("top_logprobs").get(1).toString());
  }

  /** An echoed prompt's tokens come first, the first without a log-probability; generated offsets follow the echo. */
  @Test
  void echoedPromptTokensComeFirst() {
    LogprobJson json = new LogprobJson(new CharCodec());
    String text = "ab" + "c";
    List<TokenLogprob> prompt = List.of(
        new TokenLogprob(CharCodec.id('a'), Float.NaN, List.of(), 0),
        new TokenLogprob(CharCodec.id('b'), -3f, List.of(), 1));
    List<TokenLogprob> generated = List.of(new TokenLogprob(CharCodec.id('c'), -1f, List.of(), 0));
    var node = json.completion(prompt, generated, text, 2);
    assertEquals("[\"a\",\"b\",\"c\"]", node.get("tokens").toString());
    assertEquals("[null,-3.0,-1.0]", node.get("token_logprobs").toString());
    assertEquals("[null,{\"b\":-3.0},{\"c\":-1.0}]", node.get("top_logprobs").toString());
    assertEquals("[0,1,2]", node.get("text_offset").toString());
  }
}
