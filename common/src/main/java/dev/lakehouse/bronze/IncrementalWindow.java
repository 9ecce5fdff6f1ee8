package dev.lakehouse.bronze;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The cursor range one incremental extraction reads: from the last watermark minus the lookback
 * (so a late commit, a row made visible after rows with a newer cursor, is still caught) up to
 * an upper bound fixed when the run starts (so rows changing during the run wait for the next).
 * The first run has no lower bound.
 */
public record IncrementalWindow(Optional<Instant> lower, Instant upper) {

  public static IncrementalWindow after(Optional<Instant> watermark, Duration lookback, Instant upper) {
    return new IncrementalWindow(watermark.map(w -> w.minus(lookback)), upper);
  }

  /** The SQL predicate over the cursor column (already quoted); bounds are inclusive. */
  public String predicate(String cursorColumn) {
    String upperBound = cursorColumn + " <= " + literal(upper);
    return lower.map(l -> cursorColumn + " >= " + literal(l) + " AND " + upperBound).orElse(upperBound);
  }

  /** The new watermark: the highest cursor extracted, never moving backwards. */
  public static Optional<Instant> advance(Optional<Instant> previous, Optional<Instant> extractedMax) {
    if (extractedMax.isEmpty()) {
      return previous;
    }
    return previous.filter(p -> p.isAfter(extractedMax.get())).or(() -> extractedMax);
  }

  static String literal(Instant instant) {
    return "'" + instant + "'::timestamptz";
  }
}
