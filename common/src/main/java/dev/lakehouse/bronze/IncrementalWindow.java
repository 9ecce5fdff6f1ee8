package dev.lakehouse.bronze;

import dev.lakehouse.spec.Lookback;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The cursor range one incremental extraction reads: from the last watermark minus the lookback
 * (so a late commit, a row made visible after rows with a newer cursor, is still caught) up to
 * an upper bound fixed when the run starts (so rows changing during the run wait for the next,
 * and a row stamped in the future cannot push the watermark ahead). The first run has no lower
 * bound; an integer cursor has no upper bound (the extraction's snapshot bounds it).
 *
 * <p>A {@code timestamp} cursor is a wall clock in the source's zone, and a wall clock set back
 * (the end of summer time) shows an hour of times twice. So both bounds are taken over the times
 * the clock has shown, not from one reading of it: the lower bound is the lowest time shown since
 * the watermark's instant less the lookback (the time the clock was set back to, when it was set
 * back since), the upper bound the highest time shown up to now (the end of the hour before it was
 * set back, during the hour shown again). Read from the watermark alone, rows stamped in the hour
 * shown again fall below every later window and are lost.
 */
public record IncrementalWindow(Optional<CursorValue> lower, Optional<CursorValue> upper) {

  /** How long after a wall clock is set back it may still have shown times above the present one. */
  private static final Duration LONGEST_SET_BACK = Duration.ofDays(1);
  private static final Duration MICROSECOND = Duration.ofNanos(1_000);

  /**
   * The window after {@code watermark} (none: the first extraction) for a cursor of {@code kind},
   * at {@code clock}, the source's clock when the extraction starts; wall-clock cursors are read in
   * {@code zone}.
   */
  public static IncrementalWindow after(Optional<CursorValue> watermark, Lookback lookback, CursorValue.Kind kind,
                                        Instant clock, ZoneId zone) {
    return new IncrementalWindow(watermark.map(w -> lowerBound(w, lookback, clock, zone)),
        upperBound(kind, clock, zone));
  }

  private static CursorValue lowerBound(CursorValue watermark, Lookback lookback, Instant clock, ZoneId zone) {
    if (!(watermark instanceof CursorValue.LocalTimestamp local)) {
      return watermark.minus(lookback);
    }
    ZoneRules rules = zone.getRules();
    // The earliest instant the watermark may stand for (a time shown twice stands for two).
    Instant from = local.value().atZone(zone).withEarlierOffsetAtOverlap().toInstant()
        .minus(lookback.time().orElse(Duration.ZERO));
    LocalDateTime lowest = LocalDateTime.ofInstant(from, zone);
    for (ZoneOffsetTransition t = rules.nextTransition(from); t != null && !t.getInstant().isAfter(clock);
         t = rules.nextTransition(t.getInstant())) {
      if (t.isOverlap() && t.getDateTimeAfter().isBefore(lowest)) {
        lowest = t.getDateTimeAfter();
      }
    }
    return new CursorValue.LocalTimestamp(lowest);
  }

  /** The source's clock in the cursor's type: for a wall clock, the highest time it has shown so far. */
  private static Optional<CursorValue> upperBound(CursorValue.Kind kind, Instant clock, ZoneId zone) {
    return switch (kind) {
      case TIMESTAMPTZ -> Optional.of(new CursorValue.TimestampTz(clock));
      case TIMESTAMP -> Optional.of(new CursorValue.LocalTimestamp(highestShown(clock, zone)));
      case DATE -> Optional.of(new CursorValue.DateValue(LocalDate.ofInstant(clock, zone)));
      case INTEGER -> Optional.empty();
    };
  }

  private static LocalDateTime highestShown(Instant clock, ZoneId zone) {
    LocalDateTime highest = LocalDateTime.ofInstant(clock, zone);
    ZoneRules rules = zone.getRules();
    for (ZoneOffsetTransition t = rules.previousTransition(clock.plusNanos(1));
         t != null && t.getInstant().isAfter(clock.minus(LONGEST_SET_BACK)); t = rules.previousTransition(t.getInstant())) {
      LocalDateTime lastBefore = t.getDateTimeBefore().minus(MICROSECOND);
      if (t.isOverlap() && lastBefore.isAfter(highest)) {
        highest = lastBefore;
      }
    }
    return highest;
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
