package dev.rgemma.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds whole tokens (added tokens, control symbols) in text before anything else sees it: at
 * each position the longest token wins, and scanning resumes after it (transformers.js's
 * DictionarySplitter, the same leftmost-longest rule as Hugging Face's added-token matcher).
 */
final class TokenMatcher {
  private static final class Node {
    final Map<Character, Node> children = new HashMap<>(4);
    int tokenId = -1;
  }

  private final Node root = new Node();
  private final boolean[] startsToken = new boolean[65536]; // by first UTF-16 unit: a quick reject
  private boolean empty = true;

  void add(String token, int id) {
    if (token.isEmpty()) return;
    startsToken[token.charAt(0)] = true;
    Node node = root;
    for (int i = 0; i < token.length(); i++) {
      node = node.children.computeIfAbsent(token.charAt(i), c -> new Node());
    }
    node.tokenId = id;
    empty = false;
  }

  /** A piece of the input: either text between tokens ({@code tokenId < 0}) or one token. */
  record Segment(String text, int tokenId) {
    boolean isToken() {
      return tokenId >= 0;
    }
  }

  List<Segment> split(String text) {
    List<Segment> segments = new ArrayList<>();
    if (empty) {
      if (!text.isEmpty()) segments.add(new Segment(text, -1));
      return segments;
    }
    int start = 0;
    int i = 0;
    while (i < text.length()) {
      if (!startsToken[text.charAt(i)]) {
        i++;
        continue;
      }
      Node node = root;
      int matchEnd = -1;
      int matchId = -1;
      for (int j = i; j < text.length(); j++) {
        node = node.children.get(text.charAt(j));
        if (node == null) break;
        if (node.tokenId >= 0) {
          matchEnd = j + 1;
          matchId = node.tokenId;
        }
      }
      if (matchEnd < 0) {
        i++;
        continue;
      }
      if (i > start) segments.add(new Segment(text.substring(start, i), -1));
      segments.add(new Segment(text.substring(i, matchEnd), matchId));
      i = matchEnd;
      start = i;
    }
    if (start < text.length()) segments.add(new Segment(text.substring(start), -1));
    return segments;
  }
}
