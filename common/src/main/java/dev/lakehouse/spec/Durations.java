package dev.lakehouse.spec;

import java.time.Duration;

/**
 * Durations as a configuration file writes them, for messages and reports: {@code 7d}, not
 * {@code PT168H}.
 */
public final class Durations {

  private Durations() {}

  /** {@code d} in the largest unit that holds it exactly: {@code 7d}, {@code 2h}, {@code 90s}, {@code 1500ms}. */
  public static String written(Duration d) {
    if (d.getNano() % 1_000_000 != 0) {
      return d.toNanos() + "ns";
    }
    if (d.getNano() != 0) {
      return d.toMillis() + "ms";
    }
    long s = d.getSeconds();
    if (s != 0 && s % 86400 == 0) {
      return s / 86400 + "d";
    }
    if (s != 0 && s % 3600 == 0) {
      return s / 3600 + "h";
    }
    if (s != 0 && s % 60 == 0) {
      return s / 60 + "m";
    }
    return s + "s";
  }
}
