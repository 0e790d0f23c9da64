package dev.rgemma.sampling;

import java.util.Arrays;
import java.util.Set;

/**
 * Constrains generation to one JSON object (JSON mode): before each token is chosen, {@link #mask}
 * sets the logits of the tokens that cannot continue the text towards a valid object to negative
 * infinity; {@link #accept} advances over the chosen token. The check runs on each token's bytes
 * (RFC 8259 syntax at the byte level: bytes of 0x80 and above only inside strings, as well-formed
 * UTF-8), so byte-fallback pieces work and cannot leave a broken character. Once the object is closed only the stop tokens remain, so the generation ends; they
 * are refused before. Whitespace between tokens is one space, or a newline and at most {@link
 * #MAX_INDENT} spaces or tabs (as llama.cpp's JSON grammar has it), so a model cannot stall the
 * object in blank lines forever. Nesting is at most {@link #MAX_DEPTH} levels deep: at that depth
 * a free value (JSON mode without a schema, or a schema's {@code {}}) cannot open an object or an
 * array, while any other value and the closing bracket remain, so the text stays on its way to a
 * valid object; {@link JsonSchema} refuses schemas that would need deeper nesting. Not thread-safe:
 * one per generation.
 */
public final class JsonConstraint {
  /** Most containers open at once (the root object counts). */
  public static final int MAX_DEPTH = 48;
  /** Most spaces or tabs after a newline between tokens. */
  public static final int MAX_INDENT = 20;

  private final byte[][] tokenBytes;
  private final Set<Integer> stopTokens;
  private final int[] stops; // the same, unboxed for the per-token loop
  private final boolean[] plain; // ASCII without quote, backslash or control bytes: stays inside a string
  private final State state;
  private final State trial;
  private final boolean[] firstByte = new boolean[256];

  /**
   * Any one JSON object.
   *
   * @param tokenBytes each token's bytes mid-text (empty for special tokens), by id
   * @param stopTokens the ids that end a generation (end of sequence, end of turn)
   */
  public JsonConstraint(byte[][] tokenBytes, Set<Integer> stopTokens) {
    this(tokenBytes, stopTokens, JsonSchema.ANY_OBJECT);
  }

  /** One JSON object that {@code schema} accepts (see {@link JsonSchema} for the subset). */
  public JsonConstraint(byte[][] tokenBytes, Set<Integer> stopTokens, JsonSchema schema) {
    this.state = new State(schema.root);
    this.trial = new State(schema.root);
    this.tokenBytes = tokenBytes;
    this.stopTokens = Set.copyOf(stopTokens);
    this.stops = stopTokens.stream().mapToInt(Integer::intValue).sorted().toArray();
    this.plain = new boolean[tokenBytes.length];
    for (int id = 0; id < tokenBytes.length; id++) {
      boolean inside = tokenBytes[id].length > 0;
      for (byte b : tokenBytes[id]) {
        inside &= b >= 0x20 && b != '"' && b != '\\'; // a byte of 0x80 and above is negative here
      }
      plain[id] = inside;
    }
  }

  /** Whether the text so far is one whole JSON object. */
  public boolean complete() {
    return state.mode == DONE;
  }

  /**
   * Sets {@code logits[id]} to negative infinity for every token that cannot come next; returns how
   * many remain possible (0 only if the vocabulary lacks the pieces JSON needs).
   */
  public int mask(float[] logits) {
    int allowed = 0;
    boolean done = complete();
    // Inside a string, outside an escape, a token without quotes, backslashes or control bytes
    // stays in the string: most of a vocabulary, decided without stepping through its bytes.
    boolean inString = state.mode == STRING && state.sub >> 1 == 0 && state.utf8 == 0;
    // Which bytes may come first: a token whose first byte may not is out without a trial.
    for (int b = 0; b < 256; b++) {
      trial.copyFrom(state);
      firstByte[b] = trial.step(b);
    }
    for (int id = 0; id < logits.length; id++) {
      boolean ok;
      if (isStop(id)) {
        ok = done;
      } else if (done || id >= tokenBytes.length || tokenBytes[id].length == 0) {
        ok = false; // special and empty tokens add nothing: they could repeat forever
      } else {
        byte[] bytes = tokenBytes[id];
        ok = inString && plain[id]
            || firstByte[bytes[0] & 0xFF] && (bytes.length == 1 || fits(bytes));
      }
      if (ok) {
        allowed++;
      } else {
        logits[id] = Float.NEGATIVE_INFINITY;
      }
    }
    return allowed;
  }

  /**
   * Chooses the next token under the constraint: {@code sampler} draws from a masked copy of
   * {@code logits}, and the constraint advances over the token. Returns -1 when no token can
   * continue (a vocabulary without the pieces JSON needs).
   */
  public int sample(Sampler sampler, float[] logits, TokenHistory history) {
    float[] choices = logits.clone();
    if (mask(choices) == 0) {
      return -1;
    }
    int token = sampler.sample(choices, history);
    accept(token);
    return token;
  }

  private boolean isStop(int id) {
    for (int stop : stops) {
      if (stop == id) {
        return true;
      }
    }
    return false;
  }

  /** Advances over a chosen token (a stop token changes nothing). */
  public void accept(int id) {
    if (isStop(id) || id >= tokenBytes.length) {
      return;
    }
    for (byte b : tokenBytes[id]) {
      if (!state.step(b & 0xFF)) {
        throw new IllegalStateException("token " + id + " does not continue the JSON text: it was not masked");
      }
    }
  }

  private boolean fits(byte[] bytes) {
    trial.copyFrom(state);
    for (byte b : bytes) {
      if (!trial.step(b & 0xFF)) {
        return false;
      }
    }
    return true;
  }

  // Modes: what may come next.
  private static final int TOP = 0; // the start: whitespace or '{'
  private static final int VALUE = 1; // a value of node `expect` (after ':' or an array's ',')
  private static final int ARRAY_FIRST = 2; // a value of node `expect` or ']'
  private static final int OBJECT_FIRST = 3; // a key or '}' (if nothing required is left)
  private static final int OBJECT_KEY = 4; // a key (after an object's ',')
  private static final int STRING = 5; // inside a string value or a free key: sub = escape state * 2 + (is a key)
  private static final int AFTER_KEY = 6; // ':'
  private static final int AFTER_VALUE = 7; // ',' or the container's closing bracket
  private static final int NUMBER = 8; // sub = phase (see numberByte)
  private static final int LITERAL = 9; // sub = literal * 8 + position
  private static final int DONE = 10; // the object is closed
  private static final int KEY = 11; // inside a schema property's name: candidates, position
  private static final int ENUM = 12; // inside one of an enum's values: candidates, position

  private static final byte[][] LITERALS = {
    "true".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
    "false".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
    "null".getBytes(java.nio.charset.StandardCharsets.US_ASCII)
  };

  /**
   * The syntax state after some bytes; {@link #step} returns false for a byte that cannot come
   * next. Containers are frames: their schema node and, for an object with properties, the index of
   * the first property that may still come.
   */
  static final class State {
    private final JsonSchema.Node root;
    int mode = TOP;
    int sub;
    int whitespace; // the whitespace run: 0 none, 1 one space, 2 + k a newline and k spaces or tabs
    int depth;
    // The frames; a trial state borrows those of the state it copied until it changes one (a trial
    // runs for each token of the vocabulary, and most never open, close or name a member).
    JsonSchema.Node[] frames;
    int[] next; // object frames: the first property index that may still come
    private final JsonSchema.Node[] ownFrames = new JsonSchema.Node[MAX_DEPTH];
    private final int[] ownNext = new int[MAX_DEPTH];
    private boolean borrowed;
    JsonSchema.Node expect; // the node of the value being read or about to start
    long candidates; // KEY / ENUM: which names or values still match
    int position; // KEY / ENUM: bytes matched
    boolean integer; // NUMBER: no fraction or exponent
    int utf8; // STRING: continuation bytes the current UTF-8 character still needs

    State(JsonSchema.Node root) {
      this.root = root;
      this.frames = ownFrames;
      this.next = ownNext;
    }

    void copyFrom(State other) {
      mode = other.mode;
      sub = other.sub;
      whitespace = other.whitespace;
      depth = other.depth;
      frames = other.frames;
      next = other.next;
      borrowed = true;
      expect = other.expect;
      candidates = other.candidates;
      position = other.position;
      integer = other.integer;
      utf8 = other.utf8;
    }

    boolean step(int b) {
      boolean space = b == ' ' || b == '\n' || b == '\t' || b == '\r';
      if (space && mode != STRING && mode != KEY && mode != ENUM) {
        return blank(b);
      }
      switch (mode) {
        case TOP:
          return b == '{' && open(root);
        case VALUE:
          return startValue(b);
        case ARRAY_FIRST:
          return b == ']' ? close() : startValue(b);
        case OBJECT_FIRST:
          if (b == '}') {
            return close();
          }
          return b == '"' && startKey();
        case OBJECT_KEY:
          return b == '"' && startKey();
        case STRING:
          return stringByte(b);
        case KEY:
          return keyByte(b);
        case ENUM:
          return enumByte(b);
        case AFTER_KEY:
          if (b != ':') {
            return false;
          }
          mode = VALUE;
          whitespace = 0;
          return true;
        case AFTER_VALUE: {
          JsonSchema.Node frame = frames[depth - 1];
          boolean inObject = frame.kind != JsonSchema.Kind.ARRAY;
          if (b == ',') {
            if (inObject) {
              if (frame.kind == JsonSchema.Kind.OBJECT && next[depth - 1] >= frame.names.length) {
                return false; // no property left to come
              }
              mode = OBJECT_KEY;
            } else {
              expect = frame.items;
              mode = VALUE;
            }
            whitespace = 0;
            return true;
          }
          return (b == '}' && inObject || b == ']' && !inObject) && close();
        }
        case NUMBER:
          return numberByte(b);
        case LITERAL: {
          byte[] literal = LITERALS[sub >> 3];
          int at = sub & 7;
          if (b != literal[at]) {
            return false;
          }
          if (at + 1 == literal.length) {
            valueDone();
          } else {
            sub++;
          }
          return true;
        }
        case DONE:
          return false;
        default:
          throw new IllegalStateException("mode " + mode);
      }
    }

    /** Whitespace between tokens (not in a string, not after the object). */
    private boolean blank(int b) {
      if (mode == DONE || mode == LITERAL || mode == NUMBER && !numberCanEnd()) {
        return false;
      }
      if (mode == NUMBER) {
        valueDone();
      }
      if (b == ' ' && whitespace == 0) {
        whitespace = 1;
        return true;
      }
      if (b == '\n' && whitespace == 0) {
        whitespace = 2;
        return true;
      }
      if ((b == ' ' || b == '\t') && whitespace >= 2 && whitespace < 2 + MAX_INDENT) {
        whitespace++;
        return true;
      }
      return false; // '\r', a second space, a second newline, deeper indentation
    }

    private boolean numberCanEnd() {
      return sub == 1 || sub == 2 || sub == 4 || sub == 7;
    }

    /** The first byte of a value of node {@link #expect}. */
    private boolean startValue(int b) {
      whitespace = 0;
      if (expect.kind == JsonSchema.Kind.UNION) {
        JsonSchema.Node member = expect.byFirstByte[b];
        if (member == null) {
          return false;
        }
        expect = member; // the first byte tells which member the value is
      }
      JsonSchema.Node node = expect;
      JsonSchema.Kind kind = node.kind;
      boolean any = kind == JsonSchema.Kind.ANY;
      switch (b) {
        case '{':
          return (any || kind == JsonSchema.Kind.OBJECT || kind == JsonSchema.Kind.ANY_OBJECT)
              && open(any ? JsonSchema.ANY_OBJECT.root : node);
        case '[':
          return (any || kind == JsonSchema.Kind.ARRAY) && open(any ? ANY_ARRAY : node);
        case '"':
          if (kind == JsonSchema.Kind.ENUM) {
            return startEnum(b);
          }
          return (any || kind == JsonSchema.Kind.STRING) && string(false);
        case 't':
        case 'f':
          if (kind == JsonSchema.Kind.ENUM) {
            return startEnum(b);
          }
          return (any || kind == JsonSchema.Kind.BOOLEAN) && literal(b == 't' ? 0 : 1);
        case 'n':
          if (kind == JsonSchema.Kind.ENUM) {
            return startEnum(b);
          }
          return (any || kind == JsonSchema.Kind.NULL) && literal(2);
        default:
          boolean number = any || kind == JsonSchema.Kind.NUMBER || kind == JsonSchema.Kind.INTEGER;
          if (!number || !(b == '-' || b >= '0' && b <= '9')) {
            return false;
          }
          integer = kind == JsonSchema.Kind.INTEGER;
          return number(b == '-' ? 0 : b == '0' ? 1 : 2);
      }
    }

    /** Before a frame changes: a trial takes its own copy of the frames it borrowed. */
    private void own() {
      if (borrowed) {
        System.arraycopy(frames, 0, ownFrames, 0, depth);
        System.arraycopy(next, 0, ownNext, 0, depth);
        frames = ownFrames;
        next = ownNext;
        borrowed = false;
      }
    }

    private boolean open(JsonSchema.Node node) {
      if (depth == MAX_DEPTH) {
        return false;
      }
      own();
      frames[depth] = node;
      next[depth] = 0;
      depth++;
      if (node.kind == JsonSchema.Kind.ARRAY) {
        expect = node.items;
        mode = ARRAY_FIRST;
      } else {
        mode = OBJECT_FIRST;
      }
      whitespace = 0;
      return true;
    }

    /** Closes the innermost container, if it may close now. */
    private boolean close() {
      JsonSchema.Node frame = frames[depth - 1];
      if (frame.kind == JsonSchema.Kind.OBJECT) {
        for (int i = next[depth - 1]; i < frame.names.length; i++) {
          if (frame.required[i]) {
            return false; // a required property has not come
          }
        }
      }
      depth--;
      valueDone();
      return true;
    }

    private void valueDone() {
      mode = depth == 0 ? DONE : AFTER_VALUE;
      whitespace = 0;
    }

    /** The opening quote of a key: a free string, or one of the properties that may come next. */
    private boolean startKey() {
      whitespace = 0;
      JsonSchema.Node frame = frames[depth - 1];
      if (frame.kind == JsonSchema.Kind.ANY_OBJECT) {
        return string(true);
      }
      // From the next property up to and including the first required one: none can be skipped.
      long allowed = 0;
      for (int i = next[depth - 1]; i < frame.names.length; i++) {
        allowed |= 1L << i;
        if (frame.required[i]) {
          break;
        }
      }
      if (allowed == 0) {
        return false;
      }
      candidates = allowed;
      position = 0;
      mode = KEY;
      return true;
    }

    private boolean keyByte(int b) {
      JsonSchema.Node frame = frames[depth - 1];
      long left = 0;
      int complete = -1;
      for (long c = candidates; c != 0; c &= c - 1) {
        int i = Long.numberOfTrailingZeros(c);
        byte[] name = frame.names[i];
        if (position < name.length && (name[position] & 0xFF) == b) {
          left |= 1L << i;
        } else if (position == name.length && b == '"') {
          complete = i;
        }
      }
      if (complete >= 0) {
        own();
        next[depth - 1] = complete + 1;
        expect = frame.properties[complete];
        mode = AFTER_KEY;
        whitespace = 0;
        return true;
      }
      if (left == 0) {
        return false;
      }
      candidates = left;
      position++;
      return true;
    }

    private boolean startEnum(int b) {
      candidates = (1L << expect.values.length) - 1; // at most 63 values (JsonSchema.MAX_ENUM_VALUES)
      position = 0;
      mode = ENUM;
      return enumByte(b);
    }

    private boolean enumByte(int b) {
      byte[][] values = expect.values;
      long left = 0;
      boolean complete = false;
      for (long c = candidates; c != 0; c &= c - 1) {
        int i = Long.numberOfTrailingZeros(c);
        if (position < values[i].length && (values[i][position] & 0xFF) == b) {
          left |= 1L << i;
          complete |= position + 1 == values[i].length;
        }
      }
      if (left == 0) {
        return false;
      }
      if (complete) {
        valueDone(); // strings end at their quote, literals at their last letter: no value is a prefix of another
        return true;
      }
      candidates = left;
      position++;
      return true;
    }

    private boolean string(boolean key) {
      mode = STRING;
      sub = key ? 1 : 0;
      whitespace = 0;
      return true;
    }

    private boolean number(int phase) {
      mode = NUMBER;
      sub = phase;
      return true;
    }

    private boolean literal(int which) {
      mode = LITERAL;
      sub = which * 8 + 1;
      return true;
    }

    /** Inside a string; escape state: 0 plain, 1 after a backslash, 2-5 in a \\u escape (hex digits seen + 2). */
    private boolean stringByte(int b) {
      int escape = sub >> 1;
      boolean key = (sub & 1) != 0;
      if (utf8 > 0) {
        if (b < 0x80 || b > 0xBF) {
          return false; // a character's continuation bytes must come, and only they
        }
        utf8--;
        return true;
      }
      if (escape == 0 && b >= 0x80) {
        // Well-formed UTF-8 only: a lead byte says how many continuation bytes follow.
        utf8 = b >= 0xC2 && b <= 0xDF ? 1 : b >= 0xE0 && b <= 0xEF ? 2 : b >= 0xF0 && b <= 0xF4 ? 3 : -1;
        if (utf8 < 0) {
          utf8 = 0;
          return false;
        }
        return true;
      }
      if (escape == 0) {
        if (b == '"') {
          if (key) {
            mode = AFTER_KEY;
            expect = JsonSchema.ANY;
            whitespace = 0;
          } else {
            valueDone();
          }
          return true;
        }
        if (b == '\\') {
          sub = 2 | sub & 1;
          return true;
        }
        return b >= 0x20; // control characters must be escaped
      }
      if (escape == 1) {
        if (b == 'u') {
          sub = 4 | sub & 1;
          return true;
        }
        if ("\"\\/bfnrt".indexOf(b) < 0) {
          return false;
        }
        sub &= 1;
        return true;
      }
      if (Character.digit(b, 16) < 0) {
        return false;
      }
      escape = escape == 5 ? 0 : escape + 1;
      sub = escape << 1 | sub & 1;
      return true;
    }

    /**
     * Number phases: 0 after '-', 1 after a leading '0', 2 in the integer digits, 3 after '.', 4 in
     * the fraction, 5 after 'e', 6 after the exponent's sign, 7 in the exponent. A byte that cannot
     * extend a number in phases 1, 2, 4 or 7 ends it and is read as what follows the value. An
     * integer has no fraction or exponent.
     */
    private boolean numberByte(int b) {
      boolean digit = b >= '0' && b <= '9';
      boolean exponent = (b == 'e' || b == 'E') && !integer;
      boolean point = b == '.' && !integer;
      switch (sub) {
        case 0:
          return digit && number(b == '0' ? 1 : 2);
        case 1:
          if (point) {
            return number(3);
          }
          return exponent ? number(5) : endNumber(b);
        case 2:
          if (digit) {
            return true;
          }
          if (point) {
            return number(3);
          }
          return exponent ? number(5) : endNumber(b);
        case 3:
          return digit && number(4);
        case 4:
          if (digit) {
            return true;
          }
          return exponent ? number(5) : endNumber(b);
        case 5:
          if (b == '+' || b == '-') {
            return number(6);
          }
          return digit && number(7);
        case 6:
          return digit && number(7);
        case 7:
          return digit || endNumber(b);
        default:
          throw new IllegalStateException("number phase " + sub);
      }
    }

    private boolean endNumber(int b) {
      if (b == '.' || b == 'e' || b == 'E') {
        return false; // an integer's fraction or exponent: not a new value either
      }
      valueDone(); // numbers only occur inside the object, so depth > 0
      return step(b);
    }
  }

  /** The frame of an array of any values. */
  private static final JsonSchema.Node ANY_ARRAY =
      new JsonSchema.Node(JsonSchema.Kind.ARRAY, null, null, null, JsonSchema.Node.of(JsonSchema.Kind.ANY), null);

  @Override
  public String toString() {
    return "JsonConstraint[mode " + state.mode + ", depth " + state.depth + ", tokens " + tokenBytes.length
        + ", stops " + Arrays.toString(stopTokens.toArray()) + "]";
  }
}
