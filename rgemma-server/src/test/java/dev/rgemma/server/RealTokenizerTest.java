package dev.rgemma.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rgemma.engine.TextCodec;
import dev.rgemma.engine.TokenizerCodec;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.tokenizer.Tokenizer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine's tokenizer-backed codec, as the server uses it, over a hand-made Gemma-style tokenizer.json of exactly 320 pieces
 * (the fixture model's vocabulary): 6 specials, 256 byte-fallback pieces, "▁", a-z, A-Z and 5
 * merges; then the server answering a chat with it.
 */
class RealTokenizerTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final List<String> SPECIALS =
      List.of("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>");
  static final List<String> MERGES = List.of("▁ t", "h e", "▁t he", "i n", "e r");
  static final int THE = 6 + 256 + 1 + 26 + 26 + 2; // "▁the", made by the third merge

  static Path writeTokenizer(Path dir) throws Exception {
    ObjectNode root = JSON.createObjectNode().put("version", "1.0");
    ArrayNode added = root.putArray("added_tokens");
    ObjectNode vocab = JSON.createObjectNode();
    for (int id = 0; id < SPECIALS.size(); id++) {
      added.addObject().put("id", id).put("content", SPECIALS.get(id)).put("single_word", false)
          .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
      vocab.put(SPECIALS.get(id), id);
    }
    for (int b = 0; b < 256; b++) {
      vocab.put(String.format(Locale.ROOT, "<0x%02X>", b), vocab.size());
    }
    vocab.put("▁", vocab.size());
    for (char c = 'a'; c <= 'z'; c++) {
      vocab.put(String.valueOf(c), vocab.size());
    }
    for (char c = 'A'; c <= 'Z'; c++) {
      vocab.put(String.valueOf(c), vocab.size());
    }
    for (String merge : MERGES) {
      vocab.put(merge.replace(" ", ""), vocab.size());
    }
    assertEquals(CharCodec.VOCAB, vocab.size());
    ObjectNode normalizer = root.putObject("normalizer").put("type", "Replace").put("content", "▁");
    normalizer.putObject("pattern").put("String", " ");
    root.putNull("pre_tokenizer");
    ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
    post.putArray("single").addObject().putObject("SpecialToken").put("id", "<bos>").put("type_id", 0);
    ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    post.putArray("pair");
    ObjectNode bos = post.putObject("special_tokens").putObject("<bos>").put("id", "<bos>");
    bos.putArray("ids").add(2);
    bos.putArray("tokens").add("<bos>");
    ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
    ArrayNode decoders = decoder.putArray("decoders");
    ObjectNode replace = decoders.addObject().put("type", "Replace").put("content", " ");
    replace.putObject("pattern").put("String", "▁");
    decoders.addObject().put("type", "ByteFallback");
    decoders.addObject().put("type", "Fuse");
    ObjectNode model = root.putObject("model").put("type", "BPE").putNull("dropout").put("unk_token", "<unk>")
        .putNull("continuing_subword_prefix").putNull("end_of_word_suffix").put("fuse_unk", true)
        .put("byte_fallback", true).put("ignore_merges", false);
    model.set("vocab", vocab);
    ArrayNode merges = model.putArray("merges");
    MERGES.forEach(merges::add);
    Path file = dir.resolve("tokenizer.json");
    Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    return file;
  }

  @Test
  void encodesChatsAndTextWithOneBosAndDecodesAsAStream(@TempDir Path dir) throws Exception {
    TokenizerCodec codec = new TokenizerCodec(Tokenizer.load(writeTokenizer(dir)));
    assertArrayEquals(new int[] {2, THE}, codec.encode(" the", true));
    assertArrayEquals(new int[] {THE}, codec.encode(" the", false));
    assertEquals(5, codec.specialToken("<end_of_turn>").getAsInt());
    assertEquals(4, codec.specialToken("<start_of_turn>").getAsInt());
    assertTrue(codec.specialToken("<no_such_piece>").isEmpty());

    int[] chat = codec.encode(codec.renderChat(List.of(new TextCodec.Message("user", "Hi")), true), true);
    assertEquals(2, chat[0]);
    assertEquals(1, Arrays.stream(chat).filter(id -> id == 2).count(), "exactly one BOS");
    assertEquals(2, Arrays.stream(chat).filter(id -> id == 4).count(), "user and model turns start");
    assertEquals(1, Arrays.stream(chat).filter(id -> id == 5).count(), "the user turn ends");

    String text = "Grüße, the world";
    TextCodec.TextStream stream = codec.newTextStream();
    StringBuilder decoded = new StringBuilder();
    for (int id : codec.encode(text, false)) {
      decoded.append(stream.accept(id));
    }
    decoded.append(stream.flush());
    assertEquals(text, decoded.toString());
  }

  @Test
  void theServerAnswersAChatThroughTheTokenizer(@TempDir Path dir) throws Exception {
    TokenizerCodec codec = new TokenizerCodec(Tokenizer.load(writeTokenizer(dir)));
    try (RecurrentGemmaModel model = Reference.tinyModel();
        OpenAiServer server = OpenAiServer.start(new ServerOptions("127.0.0.1", 0, "tiny-a", 2, 2, 16, 1 << 16,
            1 << 20, 8, ServerOptions.DEFAULT_MAX_TOKENS_LIMIT, line -> {}), model, codec)) {
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create(server.baseUri() + "/v1/chat/completions")).POST(
              HttpRequest.BodyPublishers.ofString("{\"messages\": [{\"role\": \"user\", \"content\": \"the\"}], "
                  + "\"temperature\": 0}")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      JsonNode body = JSON.readTree(response.body());
      int[] prompt = codec.encode(codec.renderChat(List.of(new TextCodec.Message("user", "the")), true), true);
      assertEquals(prompt.length, body.at("/usage/prompt_tokens").asInt());
      dev.rgemma.engine.GenerationResult alone = Reference.greedy(model, codec, prompt, 8, List.of());
      assertEquals(alone.text(), body.at("/choices/0/message/content").asText());
    }
  }
}
