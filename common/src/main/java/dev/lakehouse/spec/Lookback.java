package dev.lakehouse.spec;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * How far behind its watermark an incremental table re-reads, for late commits: a duration for a
 * time cursor ({@code 10m}), a number of cursor units for an integer cursor ({@code 1000}).
 */
public record Lookback(Optional<Duration> time, OptionalLong units) {

  public static Lookback of(Duration duration) {
    return new Lookback(Optional.of(duration), OptionalLong.empty());
  }

  public static Lookback units(long units) {
    return new Lookback(Optional.empty(), OptionalLong.of(units));
  }

  @Override
  public String toString() {
    return time.map(Duration::toString).orElseGet(() -> Long.toString(units.orElse(0)));
  }
}
