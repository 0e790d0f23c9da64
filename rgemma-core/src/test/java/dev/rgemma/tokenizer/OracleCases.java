package dev.rgemma.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Reads the JSONL files that the scripts in src/test/oracle wrote. */
final class OracleCases {
  private static final ObjectMapper JSON = new ObjectMapper();

  private OracleCases() {}

  static List<JsonNode> read(String resource) throws IOException {
    try (InputStream in = OracleCases.class.getResourceAsStream("/tokenizer/" + resource)) {
      if (in == null) throw new IllegalStateException("missing test resource /tokenizer/" + resource);
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      List<JsonNode> cases = new ArrayList<>();
      for (String line; (line = reader.readLine()) != null; ) {
        if (!line.isBlank()) cases.add(JSON.readTree(line));
      }
      return cases;
    }
  }

  static int[] ids(JsonNode array) {
    int[] ids = new int[array.size()];
    for (int i = 0; i < ids.length; i++) ids[i] = array.get(i).asInt();
    return ids;
  }

  /** A short printable form of a string for failure messages. */
  static String show(String text) {
    String shown = JSON.valueToTree(text).toString();
    return shown.length() > 120 ? shown.substring(0, 117) + "..." : shown;
  }

  /** Streams ids through a new streaming decoder; checks every chunk is well-formed UTF-16. */
  static String stream(Tokenizer tokenizer, int[] ids, boolean skipSpecial, List<String> failures) {
    StreamingDecoder decoder = tokenizer.newStreamingDecoder(skipSpecial);
    StringBuilder all = new StringBuilder();
    for (int id : ids) {
      String chunk = decoder.accept(id);
      if (!wellFormed(chunk)) failures.add("streaming chunk " + show(chunk) + " has a broken character");
      all.append(chunk);
    }
    String rest = decoder.flush();
    if (!wellFormed(rest)) failures.add("streaming flush " + show(rest) + " has a broken character");
    return all.append(rest).toString();
  }

  static boolean wellFormed(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1))) return false;
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }
}
