package dev.lakehouse.bronze;

import dev.lakehouse.spec.Lookback;
import java.util.Optional;

/**
 * The cursor range one incremental extraction reads: from the last watermark minus the lookback
 * (so a late commit, a row made visible after rows with a newer cursor, is still caught) up to
 * an upper bound fixed when the run starts (so rows changing during the run wait for the next,
 * and a row stamped in the future cannot push the watermark ahead). The first run has no lower
 * bound; an integer cursor has no upper bound (the extraction's snapshot bounds it).
 */
public record IncrementalWindow(Optional<CursorValue> lower, Optional<CursorValue> upper) {

  public static IncrementalWindow after(Optional<CursorValue> watermark, Lookback lookback,
                                        Optional<CursorValue> upper) {
    return new IncrementalWindow(watermark.map(w -> w.minus(lookback)), upper);
  }

  /** The SQL predicate over the cursor column (already quoted); bounds are inclusive. */
  public String predicate(String cursorColumn) {
    String lowerBound = lower.map(l -> cursorColumn + " >= " + l.sqlLiteral()).orElse(null);
    String upperBound = upper.map(u -> cursorColumn + " <= " + u.sqlLiteral()).orElse(null);
    if (lowerBound != null && upperBound != null) {
      return lowerBound + " AND " + upperBound;
    }
    return lowerBound != null ? lowerBound : upperBound != null ? upperBound : "TRUE";
  }

  /** The new watermark: the highest cursor extracted, never moving backwards. */
  public static Optional<CursorValue> advance(Optional<CursorValue> previous, Optional<CursorValue> extractedMax) {
    if (extractedMax.isEmpty()) {
      return previous;
    }
    if (previous.isPresent() && previous.get().kind() == extractedMax.get().kind()
        && previous.get().compareTo(extractedMax.get()) > 0) {
      return previous;
    }
    return extractedMax;
  }
}
