package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.sql.Timestamp;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Full and incremental tables landed run after run: what bronze holds, what it skips, what it records. */
class BronzeLoadTest extends EngineTestBase {

  @Test
  void everyRowLandsWithItsBatchColumnsAndEveryRunIsRecorded() {
    sourceExecute(
        "CREATE TABLE l_items (id int PRIMARY KEY, name text)",
        "INSERT INTO l_items SELECT g, 'item ' || g FROM generate_series(1, 6) g",
        "CREATE TABLE l_events (id bigint PRIMARY KEY, kind text, updated_at timestamptz NOT NULL)",
        "INSERT INTO l_events SELECT g, 'k' || g, now() - g * interval '1 minute' FROM generate_series(1, 5) g");
    LakehouseSpec spec = spec("load", """
        tables {
          l_items { primary-key = [id], mode = full }
          l_snapshot { source-table = l_items, primary-key = [id], mode = full, land = snapshot }
          l_events { primary-key = [id], mode = incremental, cursor = updated_at }
        }""");
    String items = spec.paths().bronze("l_items");
    String snapshot = spec.paths().bronze("l_snapshot");
    String events = spec.paths().bronze("l_events");
    String watermarks = spec.paths().control("watermarks");
    String runs = spec.paths().control("runs");

    RunResult first = succeeded(run(spec, Stage.BRONZE));
    for (String table : List.of("l_items", "l_snapshot", "l_events")) {
      TableRun t = outcome(first, Stage.BRONZE, table);
      long sourceRows = table.equals("l_events") ? 5 : 6;
      assertEquals(List.of(1L, sourceRows, sourceRows), List.of(t.batch(), t.rowsRead(), t.rowsWritten()), table);
    }
    String source = database + ".public.";
    assertEquals(List.of(List.of(1L, source + "l_items", "S", 6L, 6L)),
        sql("SELECT _batch_id, _source, _op, count(*), count(_ingested_at) FROM delta.`%s`"
            + " GROUP BY ALL", items));
    assertEquals(List.of(List.of(1L, source + "l_events", "U", 5L, 5L)),
        sql("SELECT _batch_id, _source, _op, count(*), count(_ingested_at) FROM delta.`%s`"
            + " GROUP BY ALL", events));
    assertEquals(sourceQuery("SELECT id::bigint, kind, updated_at FROM l_events ORDER BY id").toString(),
        sql("SELECT id, kind, updated_at FROM delta.`%s` ORDER BY id", events).toString(), "values as in the source");
    Timestamp maxCursor = (Timestamp) sourceQuery("SELECT max(updated_at) FROM l_events").get(0).get(0);
    assertEquals(List.of(
            Arrays.asList("l_events", 1L, "timestamptz:" + maxCursor.toInstant(), maxCursor),
            Arrays.asList("l_items", 1L, null, null),
            Arrays.asList("l_snapshot", 1L, null, null)),
        sql("SELECT table_name, batch_id, cursor, watermark FROM delta.`%s` ORDER BY table_name", watermarks),
        "one typed watermark per table; full tables have no cursor");
    assertEquals(List.of(List.of("bronze", "l_events", 1L, 5L, 5L, "succeeded", "watermark timestamptz:"
            + maxCursor.toInstant())),
        sql("SELECT job, table_name, batch_id, rows_read, rows_written, status, detail FROM delta.`%s`"
            + " WHERE table_name = 'l_events'", runs));

    // A change in each table: only the change lands (the snapshot table lands everything again).
    sourceExecute("UPDATE l_items SET name = 'renamed' WHERE id = 2",
        "INSERT INTO l_events VALUES (6, 'new', now())");
    RunResult second = succeeded(run(spec, Stage.BRONZE));
    assertEquals(List.of(2L, 6L, 1L), counts(outcome(second, Stage.BRONZE, "l_items")));
    assertEquals(List.of(2L, 6L, 6L), counts(outcome(second, Stage.BRONZE, "l_snapshot")));
    assertEquals(List.of(List.of(2L, 2, "renamed", "U")),
        sql("SELECT _batch_id, id, name, _op FROM delta.`%s` WHERE _batch_id = 2", items));
    assertEquals(List.of(List.of(2L, 6L, "new", "U")),
        sql("SELECT _batch_id, id, kind, _op FROM delta.`%s` WHERE _batch_id = 2", events));
    assertEquals(List.of(List.of(2L, "S", 6L)),
        sql("SELECT _batch_id, _op, count(*) FROM delta.`%s` WHERE _batch_id = 2 GROUP BY ALL", snapshot));
    assertEquals(List.of(List.of("l_events", 2L), List.of("l_items", 2L), List.of("l_snapshot", 2L)),
        sql("SELECT table_name, count(*) FROM delta.`%s` GROUP BY table_name ORDER BY table_name", watermarks),
        "one watermark row per table and run");

    // No change: nothing lands and nothing is committed, except the snapshot table's whole snapshot.
    long itemsVersion = version(items);
    long eventsVersion = version(events);
    long watermarksVersion = version(watermarks);
    RunResult third = succeeded(run(spec, Stage.BRONZE));
    TableRun itemsRun = outcome(third, Stage.BRONZE, "l_items");
    TableRun eventsRun = outcome(third, Stage.BRONZE, "l_events");
    assertEquals(List.of(6L, 0L, "nothing new"), List.of(itemsRun.rowsRead(), itemsRun.rowsWritten(), itemsRun.detail()));
    assertTrue(eventsRun.rowsRead() > 0, "the lookback re-read the recent rows");
    assertEquals(List.of(0L, "nothing new"), List.of(eventsRun.rowsWritten(), eventsRun.detail()));
    assertEquals(itemsVersion, version(items), "full table: nothing committed");
    assertEquals(eventsVersion, version(events), "incremental table: nothing committed");
    assertEquals(List.of(3L, 6L, 6L), counts(outcome(third, Stage.BRONZE, "l_snapshot")));
    assertEquals(18L, rows(snapshot), "land = snapshot: the whole table every run");
    assertEquals(watermarksVersion + 1, version(watermarks), "one commit of watermarks, for the snapshot table only");
    assertEquals(List.of(List.of("l_events", 2L), List.of("l_items", 2L), List.of("l_snapshot", 3L)),
        sql("SELECT table_name, max(batch_id) FROM delta.`%s` GROUP BY table_name ORDER BY table_name", watermarks));
    assertEquals(9L, count("SELECT count(*) FROM delta.`%s` WHERE job = 'bronze' AND status = 'succeeded'", runs),
        "_control/runs: one row per table and run");
  }

  @Test
  void aFullTableLandsOnlyChangedRowsAndDeleteMarkers() {
    sourceExecute(
        "CREATE TABLE c_items (id int PRIMARY KEY, name text, price numeric(8,2))",
        "INSERT INTO c_items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 5) g",
        "CREATE TABLE c_tags (tag text, label text)",
        "INSERT INTO c_tags VALUES ('a', 'x'), ('a', 'x'), ('b', NULL), ('c', 'z')");
    LakehouseSpec spec = spec("changed", """
        tables {
          c_items { primary-key = [id], mode = full }
          c_tags { primary-key = [], mode = full }
        }""");
    String items = spec.paths().bronze("c_items");
    String tags = spec.paths().bronze("c_tags");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(4L, count("SELECT count(DISTINCT _row_key, _row_copy) FROM delta.`%s`", tags),
        "identical keyless rows are told apart by their copy number");

    sourceExecute(
        "UPDATE c_items SET price = 99 WHERE id = 2",
        "INSERT INTO c_items VALUES (9, 'new', 1)",
        "DELETE FROM c_items WHERE id = 3",
        "DELETE FROM c_tags WHERE ctid = (SELECT min(ctid) FROM c_tags WHERE tag = 'a')",
        "UPDATE c_tags SET label = 'y' WHERE tag = 'b'");
    RunResult second = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of(2L, 5L, 3L), counts(outcome(second, Stage.BRONZE, "c_items")));
    assertEquals(Arrays.asList(
            Arrays.asList(2, "item 2", new java.math.BigDecimal("99.00"), "U"),
            Arrays.asList(3, null, null, "D"),
            Arrays.asList(9, "new", new java.math.BigDecimal("1.00"), "U")),
        sql("SELECT id, name, price, _op FROM delta.`%s` WHERE _batch_id = 2 ORDER BY id", items),
        "changed and new rows as U, a deleted key as a D marker, unchanged rows not at all");
    assertEquals(List.of(List.of("b", "y", "U")),
        sql("SELECT tag, label, _op FROM delta.`%s` WHERE _batch_id = 2 AND _op <> 'D'", tags),
        "keyless rows compared whole: a changed row is a new row");
    assertEquals(List.of(Arrays.asList("a", "x", 2), Arrays.asList("b", null, 1)),
        sql("SELECT old.tag, old.label, old._row_copy FROM delta.`%s` marker JOIN delta.`%s` old"
            + " USING (_row_key, _row_copy) WHERE marker._batch_id = 2 AND marker._op = 'D' AND old._batch_id = 1"
            + " ORDER BY old.tag", tags, tags),
        "the old row of a changed one and the copy no longer there get delete markers");
    assertEquals(sourceQuery("SELECT tag, label FROM c_tags ORDER BY tag, label").toString(),
        sql("SELECT tag, label FROM delta.`%s` WHERE NOT _is_deleted ORDER BY tag, label",
            spec.paths().silver("c_tags")).toString(), "silver's live keyless rows are the source's");
    assertEquals(sourceQuery("SELECT id, name, price FROM c_items ORDER BY id").toString(),
        sql("SELECT id, name, price FROM delta.`%s` WHERE NOT _is_deleted ORDER BY id",
            spec.paths().silver("c_items")).toString());

    long itemsVersion = version(items);
    long tagsVersion = version(tags);
    RunResult third = succeeded(run(spec, Stage.BRONZE));
    assertEquals(0L, outcome(third, Stage.BRONZE, "c_items").rowsWritten());
    assertEquals(0L, outcome(third, Stage.BRONZE, "c_tags").rowsWritten());
    assertEquals(List.of(itemsVersion, tagsVersion), List.of(version(items), version(tags)),
        "after the delete markers, an unchanged source commits nothing");
  }

  @Test
  void theLookbackCatchesLateCommitsWithoutLandingAnyRowTwice() {
    sourceExecute(
        "CREATE TABLE k_events (id int PRIMARY KEY, value text, updated_at timestamptz NOT NULL)",
        "INSERT INTO k_events SELECT g, 'v' || g, now() - g * interval '1 second' FROM generate_series(1, 5) g");
    LakehouseSpec spec = spec("lookback", """
        tables.k_events { primary-key = [id], mode = incremental, cursor = updated_at, lookback = 10m }""");
    String bronze = spec.paths().bronze("k_events");
    succeeded(run(spec, Stage.BRONZE));

    sourceExecute(
        // Late commits: visible only now, stamped before the watermark; the first inside the lookback.
        "UPDATE k_events SET value = 'late', updated_at = (SELECT max(updated_at) FROM k_events)"
            + " - interval '3 minutes' WHERE id = 2",
        "UPDATE k_events SET value = 'too late', updated_at = (SELECT max(updated_at) FROM k_events)"
            + " - interval '20 minutes' WHERE id = 4",
        // Changed without moving its cursor, which the lookback still covers.
        "UPDATE k_events SET value = 'same cursor' WHERE id = 3",
        "UPDATE k_events SET value = 'changed', updated_at = now() WHERE id = 1");
    TableRun second = outcome(succeeded(run(spec, Stage.BRONZE)), Stage.BRONZE, "k_events");
    assertEquals(4L, second.rowsRead(), "the window re-reads every row inside the lookback");
    assertEquals(3L, second.rowsWritten());
    assertEquals(List.of(List.of(1, "changed"), List.of(2, "late"), List.of(3, "same cursor")),
        sql("SELECT id, value FROM delta.`%s` WHERE _batch_id = 2 ORDER BY id", bronze),
        "identical re-read rows stay out; a late commit and a changed row land; a commit older than the lookback is missed");
    assertEquals(0L, count("SELECT count(*) FROM (SELECT id, updated_at, value FROM delta.`%s`"
        + " GROUP BY ALL HAVING count(*) > 1)", bronze), "no version landed twice");

    long version = version(bronze);
    TableRun third = outcome(succeeded(run(spec, Stage.BRONZE)), Stage.BRONZE, "k_events");
    assertEquals(List.of(4L, 0L), List.of(third.rowsRead(), third.rowsWritten()));
    assertEquals(version, version(bronze));
  }

  private static List<Long> counts(TableRun t) {
    return List.of(t.batch(), t.rowsRead(), t.rowsWritten());
  }
}
