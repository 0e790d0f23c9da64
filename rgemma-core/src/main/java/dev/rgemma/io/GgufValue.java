package dev.rgemma.io;

import java.util.List;
import java.util.Objects;

/**
 * One GGUF metadata value with its GGUF type. Integers of every width are held as {@code Long}
 * (UINT64 as its two's-complement bits), FLOAT32 as {@code Float}, FLOAT64 as {@code Double},
 * BOOL as {@code Boolean}, STRING as {@code String}, ARRAY as a {@code List} of such values
 * (elements all of {@link #elementType()}; nested arrays are lists of {@code GgufValue}).
 */
public record GgufValue(Type type, Type elementType, Object value) {
  /** GGUF metadata value types, with their on-disk ids. */
  public enum Type {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4),
    BOOL(7, 1), STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    final int id;
    /** Smallest encoded size, used to bound counts read from untrusted files. */
    final int minBytes;

    Type(int id, int minBytes) {
      this.id = id;
      this.minBytes = minBytes;
    }

    public int id() {
      return id;
    }

    static Type ofId(long id) {
      for (Type t : values()) {
        if (t.id == id) {
          return t;
        }
      }
      return null;
    }

    boolean isInteger() {
      return switch (this) {
        case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
        default -> false;
      };
    }
  }

  public GgufValue {
    Objects.requireNonNull(type);
    Objects.requireNonNull(value);
    if ((type == Type.ARRAY) != (elementType != null)) {
      throw new IllegalArgumentException("element type is given for arrays and only for arrays");
    }
  }

  public static GgufValue ofString(String value) {
    return new GgufValue(Type.STRING, null, value);
  }

  public static GgufValue ofUint32(long value) {
    if (value < 0 || value > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("UINT32 out of range: " + value);
    }
    return new GgufValue(Type.UINT32, null, value);
  }

  public static GgufValue ofInt32(int value) {
    return new GgufValue(Type.INT32, null, (long) value);
  }

  public static GgufValue ofUint64(long value) {
    return new GgufValue(Type.UINT64, null, value);
  }

  public static GgufValue ofInt64(long value) {
    return new GgufValue(Type.INT64, null, value);
  }

  public static GgufValue ofFloat32(float value) {
    return new GgufValue(Type.FLOAT32, null, value);
  }

  public static GgufValue ofFloat64(double value) {
    return new GgufValue(Type.FLOAT64, null, value);
  }

  public static GgufValue ofBool(boolean value) {
    return new GgufValue(Type.BOOL, null, value);
  }

  /** An integer of the given GGUF integer type (range-checked). */
  public static GgufValue ofInteger(Type type, long value) {
    long min;
    long max;
    switch (type) {
      case UINT8 -> { min = 0; max = 0xFF; }
      case INT8 -> { min = Byte.MIN_VALUE; max = Byte.MAX_VALUE; }
      case UINT16 -> { min = 0; max = 0xFFFF; }
      case INT16 -> { min = Short.MIN_VALUE; max = Short.MAX_VALUE; }
      case UINT32 -> { min = 0; max = 0xFFFF_FFFFL; }
      case INT32 -> { min = Integer.MIN_VALUE; max = Integer.MAX_VALUE; }
      case UINT64, INT64 -> { min = Long.MIN_VALUE; max = Long.MAX_VALUE; }
      default -> throw new IllegalArgumentException(type + " is not an integer type");
    }
    if (value < min || value > max) {
      throw new IllegalArgumentException(type + " out of range: " + value);
    }
    return new GgufValue(type, null, value);
  }

  /** An array; {@code values} must match {@code elementType} (see the class comment). */
  public static GgufValue ofArray(Type elementType, List<?> values) {
    for (Object v : values) {
      checkElement(elementType, v);
    }
    return new GgufValue(Type.ARRAY, elementType, List.copyOf(values));
  }

  private static void checkElement(Type type, Object v) {
    boolean ok = switch (type) {
      case STRING -> v instanceof String;
      case FLOAT32 -> v instanceof Float;
      case FLOAT64 -> v instanceof Double;
      case BOOL -> v instanceof Boolean;
      case ARRAY -> v instanceof GgufValue g && g.type() == Type.ARRAY;
      default -> v instanceof Long;
    };
    if (!ok) {
      throw new IllegalArgumentException("array element " + v + " does not fit type " + type);
    }
  }

  public String asString() {
    return (String) expect(Type.STRING);
  }

  /** Any integer type as a long. */
  public long asLong() {
    if (!type.isInteger()) {
      throw new IllegalStateException("value is " + type + ", not an integer");
    }
    return (Long) value;
  }

  public float asFloat() {
    return switch (type) {
      case FLOAT32 -> (Float) value;
      case FLOAT64 -> (float) (double) (Double) value;
      default -> throw new IllegalStateException("value is " + type + ", not a float");
    };
  }

  public boolean asBool() {
    return (Boolean) expect(Type.BOOL);
  }

  public List<?> asList() {
    return (List<?>) expect(Type.ARRAY);
  }

  private Object expect(Type wanted) {
    if (type != wanted) {
      throw new IllegalStateException("value is " + type + ", not " + wanted);
    }
    return value;
  }
}
