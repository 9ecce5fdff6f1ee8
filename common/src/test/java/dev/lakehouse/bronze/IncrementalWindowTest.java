package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.spec.Lookback;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The window's bounds for each kind of cursor, and for a wall-clock cursor in a zone whose clock
 * is set back or forward (New York: 2026-03-08 02:00 EST to 03:00 EDT, 2026-11-01 02:00 EDT back
 * to 01:00 EST, at 06:00 UTC).
 */
class IncrementalWindowTest {

  private static final ZoneId NEW_YORK = ZoneId.of("America/New_York");
  private static final Lookback TEN_MINUTES = Lookback.of(Duration.ofMinutes(10), "lookback");

  @Test
  void eachKindOfCursorReadsFromTheWatermarkLessTheLookbackToTheClock() {
    Instant clock = Instant.parse("2026-07-01T12:00:00Z");
    assertEquals(window("timestamptz:2026-07-01T11:50:00Z", "timestamptz:2026-07-01T12:00:00Z"),
        after("timestamptz:2026-07-01T12:00:00Z", TEN_MINUTES, CursorValue.Kind.TIMESTAMPTZ, clock));
    assertEquals(window("timestamp:2026-07-01T07:50", "timestamp:2026-07-01T08:00"),
        after("timestamp:2026-07-01T08:00", TEN_MINUTES, CursorValue.Kind.TIMESTAMP, clock));
    assertEquals(window("date:2026-06-30", "date:2026-07-01"),
        after("date:2026-07-01", TEN_MINUTES, CursorValue.Kind.DATE, clock));
    assertEquals(new IncrementalWindow(Optional.of(CursorValue.decode("integer:95")), Optional.empty()),
        after("integer:100", Lookback.units(5, "lookback"), CursorValue.Kind.INTEGER, clock));
    assertEquals(new IncrementalWindow(Optional.empty(),
            Optional.of(CursorValue.decode("timestamp:2026-07-01T08:00"))),
        IncrementalWindow.after(Optional.empty(), TEN_MINUTES, CursorValue.Kind.TIMESTAMP, clock, NEW_YORK),
        "the first extraction has no lower bound");
  }

  /**
   * Rows stamped in the hour the clock shows again are below the hour's first showing: the window
   * reaches down to where the clock was set back, and up to the end of the hour shown first, until
   * the watermark's instant less the lookback is past the setback.
   */
  @Test
  void aWallClockSetBackIsReadFromTheTimeItWasSetBackTo() {
    Instant secondShowing = Instant.parse("2026-11-01T06:30:00Z");  // 01:30 EST
    assertEquals(window("timestamp:2026-11-01T01:00", "timestamp:2026-11-01T01:59:59.999999"),
        after("timestamp:2026-11-01T01:49", TEN_MINUTES, CursorValue.Kind.TIMESTAMP, secondShowing),
        "a row stamped 01:10 EST is read; from 01:39 to 01:30 nothing would be");
    assertEquals(window("timestamp:2026-11-01T01:00", "timestamp:2026-11-01T02:05"),
        after("timestamp:2026-11-01T01:49", TEN_MINUTES, CursorValue.Kind.TIMESTAMP,
            Instant.parse("2026-11-01T07:05:00Z")), "the hour is over: read up to the clock");
    assertEquals(window("timestamp:2026-11-01T01:55", "timestamp:2026-11-01T02:20"),
        after("timestamp:2026-11-01T02:05", TEN_MINUTES, CursorValue.Kind.TIMESTAMP,
            Instant.parse("2026-11-01T07:20:00Z")), "a watermark after the setback reads as usual");
    assertEquals(window("timestamp:2026-11-01T01:35", "timestamp:2026-11-01T01:50"),
        after("timestamp:2026-11-01T01:45", TEN_MINUTES, CursorValue.Kind.TIMESTAMP,
            Instant.parse("2026-11-01T05:50:00Z")), "01:50 EDT, before the setback: as usual");
  }

  /** Ten minutes before 03:05 EDT is 01:55 EST: the lookback is real time, not wall-clock minutes. */
  @Test
  void aWallClockSetForwardKeepsTheLookbackInRealTime() {
    assertEquals(window("timestamp:2026-03-08T01:55", "timestamp:2026-03-08T03:30"),
        after("timestamp:2026-03-08T03:05", TEN_MINUTES, CursorValue.Kind.TIMESTAMP,
            Instant.parse("2026-03-08T07:30:00Z")));
  }

  @Test
  void onlyTheHighestCursorExtractedMovesTheWatermark() {
    Optional<CursorValue> high = Optional.of(CursorValue.decode("timestamp:2026-11-01T01:49"));
    Optional<CursorValue> low = Optional.of(CursorValue.decode("timestamp:2026-11-01T01:10"));
    assertEquals(high, IncrementalWindow.advance(high, low));
    assertEquals(high, IncrementalWindow.advance(low, high));
    assertEquals(high, IncrementalWindow.advance(high, Optional.empty()));
    assertEquals(List.of("changed >= '2026-11-01T01:00'::timestamp AND changed <= '2026-11-01T01:59:59.999999'::timestamp"),
        List.of(window("timestamp:2026-11-01T01:00", "timestamp:2026-11-01T01:59:59.999999").predicate("changed")));
  }

  private static IncrementalWindow after(String watermark, Lookback lookback, CursorValue.Kind kind, Instant clock) {
    return IncrementalWindow.after(Optional.of(CursorValue.decode(watermark)), lookback, kind, clock, NEW_YORK);
  }

  private static IncrementalWindow window(String lower, String upper) {
    return new IncrementalWindow(Optional.of(CursorValue.decode(lower)), Optional.of(CursorValue.decode(upper)));
  }
}
