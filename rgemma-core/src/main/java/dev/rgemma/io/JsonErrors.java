package dev.rgemma.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import java.util.regex.Pattern;

/**
 * Jackson's parse errors, said for a user. Jackson writes locations as {@code [Source: REDACTED
 * (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 9]}: {@code
 * getMessage()} appends one, and some original messages hold one too ("start marker at [...]").
 * Next to a file name that is noise; this gives {@code line L, column C: } and Jackson's original
 * message, its inner locations shortened to {@code line L, column C}.
 */
public final class JsonErrors {
  private static final Pattern LINE_COLUMN =
      Pattern.compile("\\[Source: [^;\\]]*; line: (\\d+), column: (\\d+)\\]");
  private static final Pattern OTHER_SOURCE = Pattern.compile("\\s*\\[Source: [^\\]]*\\]");

  private JsonErrors() {}

  /** {@code line L, column C: message}, or just the message where Jackson knows no location. */
  public static String describe(JacksonException e) {
    JsonLocation at = e.getLocation();
    if (at == null || at.getLineNr() < 1) {
      return message(e);
    }
    return "line " + at.getLineNr() + (at.getColumnNr() < 1 ? "" : ", column " + at.getColumnNr()) + ": " + message(e);
  }

  /** Jackson's original message without the source noise, and without the error's own location. */
  public static String message(JacksonException e) {
    String message = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
    message = LINE_COLUMN.matcher(message).replaceAll("line $1, column $2");
    return OTHER_SOURCE.matcher(message).replaceAll("");
  }
}
