package dev.lakehouse;

/**
 * An error whose message is meant for the person running the job: one line, no stack trace,
 * never a password. The command line prints it and exits non-zero.
 */
public class LakehouseException extends RuntimeException {

  public LakehouseException(String message) {
    super(message);
  }

  public LakehouseException(String message, Throwable cause) {
    super(message, cause);
  }
}
