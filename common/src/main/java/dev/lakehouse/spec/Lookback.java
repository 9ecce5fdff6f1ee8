package dev.lakehouse.spec;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * How far behind its watermark an incremental table re-reads, for late commits: a duration for a
 * time cursor ({@code 10m}), a number of cursor units for an integer cursor ({@code 1000}).
 * {@code setting} is the configuration key it came from: the table's own, or the default
 * {@code lakehouse.extract.lookback}.
 */
public record Lookback(Optional<Duration> time, OptionalLong units, String setting) {

  public static Lookback of(Duration duration, String setting) {
    return new Lookback(Optional.of(duration), OptionalLong.empty(), setting);
  }

  public static Lookback units(long units, String setting) {
    return new Lookback(Optional.empty(), OptionalLong.of(units), setting);
  }

  /**
   * Why this lookback cannot go with a cursor (named {@code cursor}, of type {@code cursorType}),
   * if it cannot: an integer cursor counts units, a time cursor a duration. Zero fits either.
   */
  public Optional<String> problemWith(String table, String cursor, String cursorType, boolean integerCursor) {
    boolean fits = integerCursor ? time.isEmpty() || time.get().isZero() : units.isEmpty() || units.getAsLong() == 0;
    if (fits) {
      return Optional.empty();
    }
    String own = "lakehouse.tables." + table + ".lookback";
    String given = setting.equals(own) ? "is " + this : "the default " + setting + " (" + this + ") applies";
    return Optional.of(own + ": " + given + ", but cursor " + cursor + " is " + cursorType + ": give "
        + (integerCursor ? "a number of cursor units (how far below the watermark each run reads again), e.g. 1000"
            : "a duration, e.g. 10m"));
  }

  @Override
  public String toString() {
    return time.map(Durations::written).orElseGet(() -> Long.toString(units.orElse(0)));
  }
}
