package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Three bronze runs over four kinds of table (every Spark run costs seconds, so they share the
 * runs): a full table landing changes, the same table landing snapshots, a keyless full table and
 * an incremental table. The first run lands everything; the second a change of every kind; the
 * third, with the source unchanged, nothing but the snapshot.
 */
class BronzeLoadTest extends EngineTestBase {

  @Test
  void eachRunLandsWhatIsNewOnceWithItsBatchColumnsAndRecordsIt() {
    sourceExecute(
        "CREATE TABLE l_items (id int PRIMARY KEY, name text, price numeric(8,2))",
        "INSERT INTO l_items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 5) g",
        "CREATE TABLE l_tags (tag text, label text)",
        "INSERT INTO l_tags VALUES ('a', 'x'), ('a', 'x'), ('b', NULL), ('c', 'z')",
        "CREATE TABLE l_events (id int PRIMARY KEY, value text, updated_at timestamptz NOT NULL)",
        "INSERT INTO l_events SELECT g, 'v' || g, now() - g * interval '1 second' FROM generate_series(1, 5) g");
    LakehouseSpec spec = spec("load", """
        tables {
          l_items { primary-key = [id], mode = full }
          l_snapshot { source-table = l_items, primary-key = [id], mode = full, land = snapshot }
          l_tags { primary-key = [], mode = full }
          l_events { primary-key = [id], mode = incremental, cursor = updated_at, lookback = 10m }
        }""");
    List<String> names = List.of("l_events", "l_items", "l_snapshot", "l_tags");
    String items = spec.paths().bronze("l_items");
    String snapshot = spec.paths().bronze("l_snapshot");
    String tags = spec.paths().bronze("l_tags");
    String events = spec.paths().bronze("l_events");
    String watermarks = spec.paths().control("watermarks");
    String runs = spec.paths().control("runs");

    // 1. Everything lands, each row with its batch, source, operation and landing time.
    RunResult first = succeeded(run(spec, Stage.BRONZE));
    assertEquals(List.of(List.of(1L, 5L, 5L), List.of(1L, 5L, 5L), List.of(1L, 5L, 5L), List.of(1L, 4L, 4L)),
        names.stream().map(t -> counts(outcome(first, Stage.BRONZE, t))).toList(), "batch, rows read, rows written");
    String source = database + ".public.";
    assertEquals(List.of(List.of(1L, source + "l_items", "S", 5L, 5L)),
        sql("SELECT _batch_id, _source, _op, count(*), count(_ingested_at) FROM delta.`%s` GROUP BY ALL", items));
    assertEquals(List.of(List.of(1L, source + "l_events", "U", 5L, 5L)),
        sql("SELECT _batch_id, _source, _op, count(*), count(_ingested_at) FROM delta.`%s` GROUP BY ALL", events));
    assertEquals(sourceQuery("SELECT id, value, updated_at FROM l_events ORDER BY id").toString(),
        sql("SELECT id, value, updated_at FROM delta.`%s` ORDER BY id", events).toString(), "values as in the source");
    assertEquals(4L, count("SELECT count(DISTINCT _row_key, _row_copy) FROM delta.`%s`", tags),
        "identical keyless rows are told apart by their copy number");
    Timestamp maxCursor = (Timestamp) sourceQuery("SELECT max(updated_at) FROM l_events").get(0).get(0);
    assertEquals(List.of(
            Arrays.asList("l_events", 1L, "timestamptz:" + maxCursor.toInstant(), maxCursor),
            Arrays.asList("l_items", 1L, null, null),
            Arrays.asList("l_snapshot", 1L, null, null),
            Arrays.asList("l_tags", 1L, null, null)),
        sql("SELECT table_name, batch_id, cursor, watermark FROM delta.`%s` ORDER BY table_name", watermarks),
        "_control/watermarks: one row per table, typed cursors for incremental tables");
    assertEquals(List.of(List.of("bronze", 1L, 5L, 5L, "succeeded", "watermark timestamptz:" + maxCursor.toInstant())),
        sql("SELECT job, batch_id, rows_read, rows_written, status, detail FROM delta.`%s`"
            + " WHERE table_name = 'l_events'", runs));

    // 2. A change of every kind.
    sourceExecute(
        "UPDATE l_items SET price = 99 WHERE id = 2",
        "INSERT INTO l_items VALUES (9, 'new', 1)",
        "DELETE FROM l_items WHERE id = 3",
        "DELETE FROM l_tags WHERE ctid = (SELECT min(ctid) FROM l_tags WHERE tag = 'a')",
        "UPDATE l_tags SET label = 'y' WHERE tag = 'b'",
        // Late commits: visible only now, stamped before the watermark; the first inside the lookback.
        "UPDATE l_events SET value = 'late', updated_at = (SELECT max(updated_at) FROM l_events)"
            + " - interval '3 minutes' WHERE id = 2",
        "UPDATE l_events SET value = 'too late', updated_at = (SELECT max(updated_at) FROM l_events)"
            + " - interval '20 minutes' WHERE id = 4",
        // Changed without moving its cursor, which the lookback still covers.
        "UPDATE l_events SET value = 'same cursor' WHERE id = 3",
        "UPDATE l_events SET value = 'changed', updated_at = now() WHERE id = 1");
    RunResult second = succeeded(run(spec, Stage.BRONZE));
    assertEquals(List.of(List.of(2L, 4L, 3L), List.of(2L, 5L, 3L), List.of(2L, 5L, 5L), List.of(2L, 3L, 3L)),
        names.stream().map(t -> counts(outcome(second, Stage.BRONZE, t))).toList(), "batch, rows read, rows written");
    assertEquals(Arrays.asList(
            Arrays.asList(2, "item 2", new BigDecimal("99.00"), "U"),
            Arrays.asList(3, null, null, "D"),
            Arrays.asList(9, "new", new BigDecimal("1.00"), "U")),
        sql("SELECT id, name, price, _op FROM delta.`%s` WHERE _batch_id = 2 ORDER BY id", items),
        "land = changed: changed and new rows as U, a deleted key as a D marker, unchanged rows not at all");
    assertEquals(List.of(List.of(2L, "S", 5L)),
        sql("SELECT _batch_id, _op, count(*) FROM delta.`%s` WHERE _batch_id = 2 GROUP BY ALL", snapshot),
        "land = snapshot: the whole table");
    assertEquals(List.of(List.of("b", "y", "U")),
        sql("SELECT tag, label, _op FROM delta.`%s` WHERE _batch_id = 2 AND _op <> 'D'", tags),
        "keyless rows are compared whole: a changed row is a new row");
    assertEquals(List.of(Arrays.asList("a", "x", 2), Arrays.asList("b", null, 1)),
        sql("SELECT old.tag, old.label, old._row_copy FROM delta.`%s` marker JOIN delta.`%s` old"
            + " USING (_row_key, _row_copy) WHERE marker._batch_id = 2 AND marker._op = 'D' AND old._batch_id = 1"
            + " ORDER BY old.tag", tags, tags),
        "the old version of the changed row and the copy no longer there get delete markers");
    assertEquals(List.of(List.of(1, "changed"), List.of(2, "late"), List.of(3, "same cursor")),
        sql("SELECT id, value FROM delta.`%s` WHERE _batch_id = 2 ORDER BY id", events),
        "the lookback re-reads 4 rows: identical ones stay out, a late commit and a row changed in place land;"
            + " a commit older than the lookback is missed");
    assertEquals(List.of(List.of("l_events", 2L), List.of("l_items", 2L), List.of("l_snapshot", 2L), List.of("l_tags", 2L)),
        sql("SELECT table_name, count(*) FROM delta.`%s` GROUP BY table_name ORDER BY table_name", watermarks),
        "one watermark row per table and run");

    // 3. No change: nothing lands and nothing is committed, except the snapshot table's snapshot.
    List<Long> versions = List.of(version(items), version(tags), version(events));
    long watermarksVersion = version(watermarks);
    RunResult third = succeeded(run(spec, Stage.BRONZE));
    assertEquals(List.of(List.of(2L, 4L, 0L), List.of(2L, 5L, 0L), List.of(3L, 5L, 5L), List.of(2L, 3L, 0L)),
        names.stream().map(t -> counts(outcome(third, Stage.BRONZE, t))).toList(), "batch, rows read, rows written");
    assertEquals(List.of("nothing new", "nothing new", "nothing new"),
        List.of("l_events", "l_items", "l_tags").stream().map(t -> outcome(third, Stage.BRONZE, t).detail()).toList());
    assertEquals(versions, List.of(version(items), version(tags), version(events)), "no commit to their bronze tables");
    assertEquals(15L, rows(snapshot));
    assertEquals(watermarksVersion + 1, version(watermarks), "one watermark commit, for the snapshot table only");
    assertEquals(0L, count("SELECT count(*) FROM (SELECT id, updated_at, value FROM delta.`%s`"
        + " GROUP BY ALL HAVING count(*) > 1)", events), "no version of an incremental row landed twice");
    assertEquals(12L, count("SELECT count(*) FROM delta.`%s` WHERE job = 'bronze' AND status = 'succeeded'", runs),
        "_control/runs: one row per table and run");

    // Silver applies a keyless table's markers and rows: its live rows are the source's.
    succeeded(run(spec.withTables(spec.tables(List.of("l_tags"))), Stage.SILVER));
    assertEquals(sourceQuery("SELECT tag, label FROM l_tags ORDER BY tag, label").toString(),
        sql("SELECT tag, label FROM delta.`%s` WHERE NOT _is_deleted ORDER BY tag, label",
            spec.paths().silver("l_tags")).toString());
  }

  private static List<Long> counts(TableRun t) {
    return List.of(t.batch(), t.rowsRead(), t.rowsWritten());
  }

  /**
   * Tables that are empty on the first run, of every kind: each lands an empty batch 1, so silver,
   * a dimension, a fact, the calendar and a mart start from empty tables, not from none (a mart
   * over the calendar failed); their first rows land on the next run. Emptied again, the full tables land their deletes
   * (a table landing snapshots too: an empty snapshot has no row for silver to compare).
   * No run waits forever for Spark's count of an empty read (an empty keyless table did).
   */
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void tablesEmptyOnTheFirstRunLandNothingThenTheirFirstRows() {
    sourceExecute(
        "CREATE TABLE e_items (id int PRIMARY KEY, name text)",
        "CREATE TABLE e_tags (tag text, label text)",
        "CREATE VIEW e_tagged AS SELECT tag, label FROM e_tags WHERE label IS NOT NULL",
        "CREATE TABLE e_events (id int PRIMARY KEY, updated_at timestamptz NOT NULL)");
    LakehouseSpec spec = spec("empty", """
        tables {
          e_items { primary-key = [id], mode = full }
          e_snapshot { source-table = e_items, primary-key = [id], mode = full, land = snapshot }
          e_tags { primary-key = [], mode = full }
          e_tagged { primary-key = [], mode = full }
          e_events { primary-key = [id], mode = incremental, cursor = updated_at }
        }
        gold {
          dimensions.item { source = e_items, natural-key = [id], tracked = [name] }
          facts.fact_events {
            grain = [id]
            query = "SELECT id, updated_at, CAST(updated_at AS DATE) AS day, id AS item_id FROM silver.e_events"
            dimensions = [ { dimension = item, key = [item_id], as-of = updated_at } ]
            dates = [day]
            touched-by = [ { table = e_events, column = id } ]
          }
          marts.mart_events_by_day = "SELECT d.date, count(*) AS events FROM gold.fact_events f JOIN gold.dim_date d ON d.date_key = f.day_key GROUP BY d.date"
        }""");
    List<String> names = List.of("e_events", "e_items", "e_snapshot", "e_tagged", "e_tags");
    List<String> gold = List.of("dim_item", "fact_events", "dim_date", "mart_events_by_day");
    RunResult first = succeeded(runAll(spec));
    // The dimension holds its unknown member only.
    assertEquals(List.of(1L, 0L, 0L, 0L), gold.stream()
        .map(t -> count("SELECT count(*) FROM delta.`%s`", spec.paths().gold(t))).toList(), "gold, empty");
    for (String table : names) {
      assertEquals(List.of(1L, 0L, 0L), List.of(outcome(first, Stage.BRONZE, table).batch(),
          outcome(first, Stage.BRONZE, table).rowsRead(), outcome(first, Stage.BRONZE, table).rowsWritten()), table);
      assertEquals(0L, count("SELECT count(*) FROM delta.`%s`", spec.paths().silver(table)), table + " in silver");
    }

    sourceExecute("INSERT INTO e_items VALUES (1, 'one'), (2, 'two')",
        "INSERT INTO e_tags VALUES ('a', 'x'), ('a', 'x'), ('b', NULL)",
        "INSERT INTO e_events VALUES (1, now() - interval '1 minute')");
    RunResult second = succeeded(runAll(spec));
    assertEquals(List.of(3L, 1L, 1L, 1L), gold.stream()
        .map(t -> count("SELECT count(*) FROM delta.`%s`", spec.paths().gold(t))).toList(), "gold after the first rows");
    Map<String, Long> landed = Map.of("e_events", 1L, "e_items", 2L, "e_snapshot", 2L, "e_tagged", 2L, "e_tags", 3L);
    for (String table : names) {
      assertEquals(landed.get(table), outcome(second, Stage.BRONZE, table).rowsWritten(), table);
      assertEquals(landed.get(table), count("SELECT count(*) FROM delta.`%s` WHERE NOT _is_deleted",
          spec.paths().silver(table)), table + " in silver");
    }

    // Empty again: the full tables land their keys' and rows' deletes, and silver holds no live row.
    sourceExecute("DELETE FROM e_items", "DELETE FROM e_tags");
    RunResult third = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    Map<String, Long> deletes = Map.of("e_events", 0L, "e_items", 2L, "e_snapshot", 2L, "e_tagged", 2L, "e_tags", 3L);
    for (String table : names) {
      assertEquals(deletes.get(table), outcome(third, Stage.BRONZE, table).rowsWritten(), table);
      assertEquals(table.equals("e_events") ? 1L : 0L, count("SELECT count(*) FROM delta.`%s` WHERE NOT _is_deleted",
          spec.paths().silver(table)), table + " in silver");
    }

    // A key back after the empty snapshot is live again.
    sourceExecute("INSERT INTO e_items VALUES (1, 'one again')");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    for (String table : List.of("e_items", "e_snapshot")) {
      assertEquals(List.of(List.of(1, "one again")),
          sql("SELECT id, name FROM delta.`%s` WHERE NOT _is_deleted", spec.paths().silver(table)), table);
    }
  }
}
