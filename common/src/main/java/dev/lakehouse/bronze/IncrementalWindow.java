package dev.lakehouse.bronze;

import dev.lakehouse.spec.Lookback;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

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

  /**
   * {@link #predicate(String)}, widened to the rows holding a value in a column bronze has not
   * landed yet ({@code addedColumns}, quoted). PostgreSQL adds a column with a default without
   * writing any row or moving any cursor, yet every row then holds the default: read by the
   * window alone, rows unchanged since would keep NULL in silver for good. Rows beyond the upper
   * bound still wait for the next run.
   */
  public String predicate(String cursorColumn, List<String> addedColumns) {
    String window = predicate(cursorColumn);
    if (addedColumns.isEmpty()) {
      return window;
    }
    String holding = addedColumns.stream().map(c -> c + " IS NOT NULL")
        .collect(Collectors.joining(" OR ", "(", ")"));
    String upperBound = upper.map(u -> " AND " + cursorColumn + " <= " + u.sqlLiteral()).orElse("");
    // Parenthesized whole: a read partition appends its own range with AND.
    return "((" + window + ") OR (" + holding + upperBound + "))";
  }

  /**
   * Every row up to the upper bound, whatever the lower: for the one extraction after something no
   * cursor shows changed every row (a column dropped and added again, a table created again; see
   * {@link SourceIdentity}). Rows beyond the upper bound still wait for the next run.
   */
  public String everyRow(String cursorColumn) {
    return upper.map(u -> cursorColumn + " <= " + u.sqlLiteral()).orElse("TRUE");
  }

  /**
   * The rows stamped after the upper bound (a clock ahead of the database's, a placeholder such as
   * 9999-12-31): they wait until the source's clock passes them, so they are counted and named,
   * never landed early. Empty without an upper bound.
   */
  public Optional<String> beyond(String cursorColumn) {
    return upper.map(u -> cursorColumn + " > " + u.sqlLiteral());
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
