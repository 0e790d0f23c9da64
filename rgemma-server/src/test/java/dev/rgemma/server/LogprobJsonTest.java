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
    var node = json.completion(tokens, text);
    assertEquals("[1,2]", node.get("text_offset").toString());
    assertEquals("[\"a\",\"b\"]", node.get("tokens").toString());
    assertEquals("{\"c\":-0.5,\"b\":-2.0}", node.get("top_logprobs").get(1).toString());
  }
}
