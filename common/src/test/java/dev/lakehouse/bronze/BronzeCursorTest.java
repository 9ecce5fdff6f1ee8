package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.time.zone.ZoneRulesProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Incremental extraction with each kind of cursor: timestamptz, timestamp without time zone (read
 * in the source's zone, here Asia/Tokyo, so a UTC reading would be nine hours off), date, and an
 * increasing integer with its lookback in cursor units. For each: the first run, a change, a late
 * commit inside the lookback (caught) and one outside it (missed), a typed watermark, and a run
 * without changes that lands nothing. The two time cursors are also read with method = jdbc, which
 * must land the same types as the COPY reader.
 */
class BronzeCursorTest extends EngineTestBase {

  private static final ZoneId TOKYO = ZoneId.of("Asia/Tokyo");
  private static final String TOKYO_NOW = "(now() AT TIME ZONE 'Asia/Tokyo')";
  /** Table name, cursor type, cursor value of row g (1..5; row 5 is the watermark). */
  private static final List<List<String>> TABLES = List.of(
      List.of("cur_tstz", "timestamptz", "now() - (6 - g) * interval '1 minute'"),
      List.of("cur_ts", "timestamp", TOKYO_NOW + " - (6 - g) * interval '1 minute'"),
      List.of("cur_date", "date", TOKYO_NOW + "::date - 1 - (5 - g) * 2"),
      List.of("cur_int", "bigint", "g * 10"));

  @Test
  void everyCursorTypeFindsChangesAndLateCommitsAndRecordsATypedWatermark() {
    for (List<String> t : TABLES) {
      sourceExecute("CREATE TABLE " + t.get(0) + " (id int PRIMARY KEY, v text, changed " + t.get(1) + " NOT NULL)",
          "INSERT INTO " + t.get(0) + " SELECT g, 'v' || g, " + t.get(2) + " FROM generate_series(1, 5) g");
    }
    LakehouseSpec spec = spec("cursors", """
        source.time-zone = "Asia/Tokyo"
        tables {
          cur_tstz { primary-key = [id], mode = incremental, cursor = changed, lookback = 10m }
          cur_tstz_jdbc { source-table = cur_tstz, method = jdbc, primary-key = [id], mode = incremental, cursor = changed }
          cur_ts { primary-key = [id], mode = incremental, cursor = changed, lookback = 10m }
          cur_ts_jdbc { source-table = cur_ts, method = jdbc, primary-key = [id], mode = incremental, cursor = changed }
          cur_date { primary-key = [id], mode = incremental, cursor = changed, lookback = 1d }
          cur_int { primary-key = [id], mode = incremental, cursor = changed, lookback = 5 }
        }""");
    List<String> names = List.of("cur_tstz", "cur_tstz_jdbc", "cur_ts", "cur_ts_jdbc", "cur_date", "cur_int");

    RunResult first = succeeded(run(spec, Stage.BRONZE));
    for (String table : names) {
      assertEquals(List.of(5L, 5L), List.of(outcome(first, Stage.BRONZE, table).rowsRead(),
          outcome(first, Stage.BRONZE, table).rowsWritten()), table);
    }
    assertWatermarks(spec, 1);
    for (String table : names) {
      assertEquals(spark.read().format("delta").load(spec.paths().bronze(table.replace("_jdbc", ""))).schema()
          .apply("changed").dataType(), spark.read().format("delta").load(spec.paths().bronze(table)).schema()
          .apply("changed").dataType(), table + ": the same type whichever the method");
    }

    // A change (id 1), a late commit inside the lookback (id 6) and one older than it (id 7).
    Map<String, List<String>> late = Map.of(
        "cur_tstz", List.of("now()", "%s - interval '3 minutes'", "%s - interval '30 minutes'"),
        "cur_ts", List.of(TOKYO_NOW, "%s - interval '3 minutes'", "%s - interval '30 minutes'"),
        "cur_date", List.of(TOKYO_NOW + "::date", "%s - 1", "%s - 3"),
        "cur_int", List.of("60", "%s - 3", "%s - 8"));
    for (List<String> t : TABLES) {
      String table = t.get(0);
      String max = "(SELECT max(changed) FROM " + table + ")";
      sourceExecute(
          "INSERT INTO " + table + " VALUES (6, 'late', " + late.get(table).get(1).formatted(max) + ")",
          "INSERT INTO " + table + " VALUES (7, 'too late', " + late.get(table).get(2).formatted(max) + ")",
          "UPDATE " + table + " SET v = 'changed', changed = " + late.get(table).get(0) + " WHERE id = 1");
    }
    RunResult second = succeeded(run(spec, Stage.BRONZE));
    for (String table : names) {
      assertEquals(2L, outcome(second, Stage.BRONZE, table).rowsWritten(), table);
      assertEquals(List.of(List.of(1, "changed"), List.of(6, "late")),
          sql("SELECT id, v FROM delta.`%s` WHERE _batch_id = 2 ORDER BY id", spec.paths().bronze(table)), table);
      assertEquals(0L, count("SELECT count(*) FROM delta.`%s` WHERE id = 7", spec.paths().bronze(table)),
          table + ": a commit older than the lookback is not seen");
    }
    assertWatermarks(spec, 2);

    List<Long> versions = names.stream().map(t -> version(spec.paths().bronze(t))).toList();
    RunResult third = succeeded(run(spec, Stage.BRONZE));
    for (String table : names) {
      TableRun t = outcome(third, Stage.BRONZE, table);
      assertEquals(List.of(0L, "nothing new"), java.util.Arrays.asList(t.rowsWritten(), t.detail()), table);
    }
    assertEquals(versions, names.stream().map(t -> version(spec.paths().bronze(t))).toList(),
        "a run without changes commits nothing");
  }

  /**
   * Cursors before 1582 (a placeholder such as 0001-01-01, or old data) keep their exact value in
   * the watermark, the window and the lookback: a {@code java.sql.Timestamp} on the way would move
   * them by days (Spark reads it on the old Julian calendar), and a late commit inside the
   * lookback would be missed. Times before 1678 also compare without overflowing.
   */
  @Test
  void cursorsBeforeTheGregorianCalendarKeepTheirExactValue() {
    sourceExecute(
        "CREATE TABLE cur_old_tstz (id int PRIMARY KEY, changed timestamptz NOT NULL)",
        "INSERT INTO cur_old_tstz VALUES (1, '1500-06-01 12:00:00+00'), (2, '1500-06-01 12:30:00+00')",
        "CREATE TABLE cur_old_date (id int PRIMARY KEY, changed date NOT NULL)",
        "INSERT INTO cur_old_date VALUES (1, '0001-01-01'), (2, '0001-01-03')",
        "CREATE TABLE cur_old_ts (id int PRIMARY KEY, changed timestamp NOT NULL)",
        "INSERT INTO cur_old_ts VALUES (1, '1200-03-01 23:00:00'), (2, '1200-03-01 23:30:00')");
    LakehouseSpec spec = spec("old-cursors", """
        tables {
          cur_old_tstz { primary-key = [id], mode = incremental, cursor = changed, lookback = 10m }
          cur_old_date { primary-key = [id], mode = incremental, cursor = changed, lookback = 1d }
          cur_old_ts { primary-key = [id], mode = incremental, cursor = changed, lookback = 10m }
        }""");
    succeeded(run(spec, Stage.BRONZE));
    String current = dev.lakehouse.control.Watermarks.currentSql(spec.paths().control("watermarks"));
    assertEquals(List.of(
            List.of("cur_old_date", "date:0001-01-03", "0001-01-03 00:00:00"),
            List.of("cur_old_ts", "timestamp:1200-03-01T23:30", "1200-03-01 23:30:00"),
            List.of("cur_old_tstz", "timestamptz:1500-06-01T12:30:00Z", "1500-06-01 12:30:00")),
        sql("SELECT table_name, cursor, CAST(watermark AS STRING) FROM (%s) ORDER BY table_name", current));

    sourceExecute("INSERT INTO cur_old_tstz VALUES (3, '1500-06-01 12:25:00+00')",
        "INSERT INTO cur_old_date VALUES (3, '0001-01-02')",
        "INSERT INTO cur_old_ts VALUES (3, '1200-03-01 23:25:00')");
    RunResult second = succeeded(run(spec, Stage.BRONZE));
    for (String table : List.of("cur_old_tstz", "cur_old_date", "cur_old_ts")) {
      assertEquals(1L, outcome(second, Stage.BRONZE, table).rowsWritten(), table + ": the late commit, once");
      assertEquals(List.of(List.of(3)),
          sql("SELECT id FROM delta.`%s` WHERE _batch_id = 2", spec.paths().bronze(table)), table);
    }
  }

  /**
   * A row stamped after the source's clock waits (landing it would push the watermark past every
   * change to come), and the run says so: how many rows and the latest stamp, so a far-future
   * placeholder that would never land is not silent.
   */
  @Test
  void rowsStampedAfterTheSourcesClockWaitAndAreNamed() {
    sourceExecute("CREATE TABLE cur_future (id int PRIMARY KEY, changed timestamptz NOT NULL)",
        "INSERT INTO cur_future VALUES (1, now() - interval '1 hour'), (2, now() + interval '1 day'),"
            + " (3, '9999-12-31 23:00:00+00')");
    LakehouseSpec spec = spec("future-cursor",
        "tables.cur_future { primary-key = [id], mode = incremental, cursor = changed }");
    TableRun first = outcome(succeeded(run(spec, Stage.BRONZE)), Stage.BRONZE, "cur_future");
    assertEquals(1L, first.rowsWritten());
    assertTrue(first.detail().startsWith("2 rows have a cursor after the source's clock (latest changed"
        + " 9999-12-31 23:00:00+00); they land once the clock passes them; watermark timestamptz:"), first.detail());
    assertEquals(List.of(List.of(1)), sql("SELECT id FROM delta.`%s`", spec.paths().bronze("cur_future")));

    sourceExecute("UPDATE cur_future SET changed = now() WHERE id = 2");
    TableRun second = outcome(succeeded(run(spec, Stage.BRONZE)), Stage.BRONZE, "cur_future");
    assertEquals(1L, second.rowsWritten());
    assertTrue(second.detail().startsWith("1 row has a cursor after the source's clock (latest changed"
        + " 9999-12-31 23:00:00+00); it lands once the clock passes it; watermark timestamptz:"), second.detail());
  }

  /**
   * An application that writes Tokyo's wall-clock time, read in UTC (no source.time-zone): its
   * stamps are nine hours ahead of the clock, so they wait, and the note says which zone reads them.
   */
  @Test
  void wallClockStampsAheadOfTheClockNameTheZoneTheyAreReadIn() {
    sourceExecute("CREATE TABLE cur_zone (id int PRIMARY KEY, changed timestamp NOT NULL)",
        "INSERT INTO cur_zone VALUES (1, " + TOKYO_NOW + "), (2, now() AT TIME ZONE 'UTC' - interval '1 hour')");
    LakehouseSpec spec = spec("zone-ahead", "tables.cur_zone { primary-key = [id], mode = incremental, cursor = changed }");
    TableRun first = outcome(succeeded(run(spec, Stage.BRONZE)), Stage.BRONZE, "cur_zone");
    assertEquals(1L, first.rowsWritten());
    assertTrue(first.detail().startsWith("1 row has a cursor after the source's clock (latest changed "), first.detail());
    assertTrue(first.detail().contains("; it lands once the clock passes it (changed is a wall-clock time read in"
        + " lakehouse.source.time-zone, UTC: if the application writes another zone's time, set that zone);"),
        first.detail());
  }

  /**
   * A source whose wall clock was set back an hour, twenty minutes ago (a zone of the test's own,
   * {@link SetBackZone}): rows stamped before the setback carry times above the clock's, and rows
   * stamped since, times below the watermark those left. Both land: the first run reads up to the
   * end of the hour shown first, the next from the time the clock was set back to.
   */
  @Test
  void aWallClockSetBackLandsTheHourItShowsTwice() {
    Instant setBack = SetBackZone.instant();
    ZoneId zone = ZoneId.of(SetBackZone.ID);
    // Stamped 10 to 6 minutes before the setback, as the clock showed then: 50 to 54 minutes past it.
    LocalDateTime firstShowing = LocalDateTime.ofInstant(setBack.minus(Duration.ofMinutes(10)), zone);
    sourceExecute("CREATE TABLE cur_set_back (id int PRIMARY KEY, v text, changed timestamp NOT NULL)",
        "INSERT INTO cur_set_back SELECT g, 'v' || g, '" + firstShowing + "'::timestamp + (g - 1) * interval '1 minute'"
            + " FROM generate_series(1, 5) g");
    LakehouseSpec spec = spec("set-back", "source.time-zone = \"" + SetBackZone.ID + "\"\n"
        + "tables.cur_set_back { primary-key = [id], mode = incremental, cursor = changed, lookback = 10m }");
    TableRun first = outcome(succeeded(run(spec, Stage.BRONZE)), Stage.BRONZE, "cur_set_back");
    assertEquals(5L, first.rowsWritten(), "stamped before the setback, above the clock now: " + first.detail());

    // Stamped now, shown for the second time: twenty minutes past the setback, below the watermark.
    String now = "'" + LocalDateTime.ofInstant(Instant.now(), zone) + "'::timestamp";
    sourceExecute("UPDATE cur_set_back SET v = 'changed', changed = " + now + " WHERE id = 1",
        "INSERT INTO cur_set_back VALUES (6, 'new', " + now + ")");
    TableRun second = outcome(succeeded(run(spec, Stage.BRONZE)), Stage.BRONZE, "cur_set_back");
    assertEquals(2L, second.rowsWritten(), second.detail());
    assertEquals(List.of(List.of(1, "changed"), List.of(6, "new")),
        sql("SELECT id, v FROM delta.`%s` WHERE _batch_id = 2 ORDER BY id", spec.paths().bronze("cur_set_back")));
  }

  /**
   * A zone whose clock was set back from UTC+1 to UTC twenty minutes before its first use in this
   * JVM, as a zone's clock is at the end of its summer time: the hour before shows again.
   */
  private static final class SetBackZone {
    static final String ID = "Lakehouse/SetBack";
    private static final Instant AT = Instant.now().minus(Duration.ofMinutes(20)).truncatedTo(ChronoUnit.SECONDS);

    static {
      ZoneOffset summer = ZoneOffset.ofHours(1);
      ZoneOffsetTransition back = ZoneOffsetTransition.of(LocalDateTime.ofInstant(AT, summer), summer, ZoneOffset.UTC);
      ZoneRules rules = ZoneRules.of(ZoneOffset.UTC, summer, List.of(), List.of(back), List.of());
      ZoneRulesProvider.registerProvider(new ZoneRulesProvider() {
        @Override
        protected Set<String> provideZoneIds() {
          return Set.of(ID);
        }

        @Override
        protected ZoneRules provideRules(String zoneId, boolean forCaching) {
          return rules;
        }

        @Override
        protected NavigableMap<String, ZoneRules> provideVersions(String zoneId) {
          return new TreeMap<>(Map.of("1", rules));
        }
      });
    }

    static Instant instant() {
      return AT;
    }
  }

  /** Each table's current watermark: its batch, its typed cursor, and the instant it stands for. */
  private static void assertWatermarks(LakehouseSpec spec, long batch) {
    List<List<Object>> expected = new ArrayList<>();
    Timestamp tstz = (Timestamp) sourceQuery("SELECT max(changed) FROM cur_tstz").get(0).get(0);
    expected.add(List.of("cur_date", batch, "date:" + date("cur_date"), Timestamp.from(date("cur_date").atStartOfDay(TOKYO).toInstant())));
    expected.add(List.of("cur_int", batch, "integer:" + sourceQuery("SELECT max(changed) FROM cur_int").get(0).get(0)));
    expected.add(List.of("cur_ts", batch, "timestamp:" + local("cur_ts"), Timestamp.from(local("cur_ts").atZone(TOKYO).toInstant())));
    expected.add(List.of("cur_ts_jdbc", batch, "timestamp:" + local("cur_ts"), Timestamp.from(local("cur_ts").atZone(TOKYO).toInstant())));
    expected.add(List.of("cur_tstz", batch, "timestamptz:" + tstz.toInstant(), tstz));
    expected.add(List.of("cur_tstz_jdbc", batch, "timestamptz:" + tstz.toInstant(), tstz));
    List<List<Object>> actual = new ArrayList<>();
    for (List<Object> row : sql("SELECT table_name, batch_id, cursor, watermark FROM (%s) ORDER BY table_name",
        dev.lakehouse.control.Watermarks.currentSql(spec.paths().control("watermarks")))) {
      actual.add(row.get(3) == null ? row.subList(0, 3) : row);
    }
    assertEquals(expected, actual);
  }

  private static LocalDateTime local(String table) {
    return ((Timestamp) sourceQuery("SELECT max(changed) FROM " + table).get(0).get(0)).toLocalDateTime();
  }

  private static LocalDate date(String table) {
    return ((java.sql.Date) sourceQuery("SELECT max(changed) FROM " + table).get(0).get(0)).toLocalDate();
  }
}
