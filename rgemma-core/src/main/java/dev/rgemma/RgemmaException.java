package dev.rgemma;

/**
 * An error caused by input that rgemma was given (a checkpoint, a config value, a session file,
 * a request). The message names the file, field or value and what was expected; callers show it
 * to the user as is.
 */
public class RgemmaException extends RuntimeException {
  public RgemmaException(String message) {
    super(message);
  }

  public RgemmaException(String message, Throwable cause) {
    super(message, cause);
  }
}
