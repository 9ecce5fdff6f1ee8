package dev.lakehouse.bronze;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.control.Commits;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A table that fails leaves the others alone; a batch committed by a run that died before its watermark is recovered. */
class BronzeRecoveryTest extends EngineTestBase {

  @Test
  void aBatchCommittedWithoutItsWatermarkIsRecordedByTheNextRunAndNotLandedAgain() {
    sourceExecute(
        "CREATE TABLE r_events (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL)",
        "INSERT INTO r_events SELECT g, 'v' || g, now() - g * interval '1 second' FROM generate_series(1, 5) g");
    LakehouseSpec spec = spec("recovery", """
        tables.r_events { primary-key = [id], mode = incremental, cursor = updated_at }""");
    String bronze = spec.paths().bronze("r_events");
    String watermarks = spec.paths().control("watermarks");
    succeeded(run(spec, Stage.BRONZE));

    // A run read a change and committed it as batch 2, then died before recording its watermark:
    // the commit is tagged as bronze tags it, and _control/watermarks still says batch 1.
    sourceExecute("UPDATE r_events SET v = 'crashed', updated_at = now() WHERE id = 1");
    Timestamp changed = (Timestamp) sourceQuery("SELECT updated_at FROM r_events WHERE id = 1").get(0).get(0);
    Commits.tag(spark.read().format("delta").load(bronze).where(col("id").equalTo(1))
            .withColumn("v", lit("crashed"))
            .withColumn("updated_at", lit(changed))
            .withColumn("_batch_id", lit(2L))
            .withColumn("_ingested_at", lit(Timestamp.from(Instant.now())))
            .write().format("delta").mode("append"),
        Commits.Tag.idempotent(BronzeLoader.JOB, "r_events", 2, "crashed-run")).save(bronze);
    long committed = version(bronze);

    RunResult second = succeeded(run(spec, Stage.BRONZE));
    TableRun recovered = outcome(second, Stage.BRONZE, "r_events");
    assertEquals(RunLog.Status.RECOVERED, recovered.status());
    assertEquals(List.of(2L, 1L, "batch 2 of interrupted run crashed-run was committed; recorded it"),
        List.of(recovered.batch(), recovered.rowsWritten(), recovered.detail()));
    assertEquals(committed, version(bronze), "the recovering run records the batch and lands nothing more");
    assertEquals(List.of(List.of(2L, "timestamptz:" + changed.toInstant())),
        sql("SELECT batch_id, cursor FROM (%s) WHERE table_name = 'r_events'", Watermarks.currentSql(watermarks)),
        "the watermark is read back from the recovered batch");
    assertEquals(List.of(List.of("recovered")), sql("SELECT status FROM delta.`%s` WHERE table_name = 'r_events'"
        + " AND run_id = '%s'", spec.paths().control("runs"), second.runId()));

    RunResult third = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(0L, outcome(third, Stage.BRONZE, "r_events").rowsWritten(),
        "the lookback re-reads the recovered change and finds it landed");
    assertEquals(committed, version(bronze));
    assertEquals(List.of(List.of(1, "crashed"), List.of(2, "v2")),
        sql("SELECT id, v FROM delta.`%s` WHERE id <= 2 ORDER BY id", spec.paths().silver("r_events")),
        "silver applies the recovered batch");
  }

  @Test
  void aTableThatFailsDoesNotStopTheOthers() {
    sourceExecute(
        "CREATE TABLE i_good (id int PRIMARY KEY, v text)",
        "INSERT INTO i_good VALUES (1, 'a'), (2, 'b')",
        "CREATE TABLE i_cursor (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO i_cursor (id, v) VALUES (1, 'a')",
        "CREATE TABLE i_nullkey (id int, v text, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO i_nullkey (id, v) VALUES (1, 'a')");
    LakehouseSpec spec = spec("isolation", """
        tables {
          i_cursor { primary-key = [id], mode = incremental, cursor = updated_at }
          i_good { primary-key = [id], mode = full }
          i_nullkey { primary-key = [id], mode = incremental, cursor = updated_at }
        }""");
    succeeded(run(spec, Stage.BRONZE));
    List<Long> before = List.of(version(spec.paths().bronze("i_cursor")), version(spec.paths().bronze("i_nullkey")));

    // Bronze exists for every table; now one's cursor changes type and another gets a NULL key.
    sourceExecute(
        "ALTER TABLE i_cursor ALTER COLUMN updated_at TYPE timestamp",
        "UPDATE i_cursor SET v = 'b', updated_at = now() WHERE id = 1",
        "INSERT INTO i_nullkey (id, v) VALUES (NULL, 'b')",
        "UPDATE i_good SET v = 'changed' WHERE id = 2");
    RunResult second = run(spec, Stage.BRONZE);
    assertEquals(List.of(
            "bronze i_cursor: The watermark of i_cursor is a timestamptz value but the cursor column is now timestamp;"
                + " a changed cursor type needs a new bronze table (or a new cursor column)",
            "bronze i_nullkey: i_nullkey: 1 row of \"public\".\"i_nullkey\" has a NULL in the key (id); nothing of"
                + " i_nullkey was landed (fix the source rows or lakehouse.tables.i_nullkey.primary-key)"),
        second.failureLines());
    assertEquals(before, List.of(version(spec.paths().bronze("i_cursor")), version(spec.paths().bronze("i_nullkey"))),
        "nothing written for the failed tables");
    assertEquals(List.of(2L, 1L), List.of(outcome(second, Stage.BRONZE, "i_good").batch(),
        outcome(second, Stage.BRONZE, "i_good").rowsWritten()));
    assertEquals(List.of(List.of(2, "changed", "U")), sql("SELECT id, v, _op FROM delta.`%s` WHERE _batch_id = 2",
        spec.paths().bronze("i_good")));
    assertEquals(List.of(List.of("i_cursor", 1L), List.of("i_good", 2L), List.of("i_nullkey", 1L)),
        sql("SELECT table_name, batch_id FROM (%s) ORDER BY table_name",
            Watermarks.currentSql(spec.paths().control("watermarks"))), "failed tables keep their watermark");
    assertEquals(List.of(List.of("i_cursor", 1L), List.of("i_nullkey", 1L)),
        sql("SELECT table_name, count(*) FROM delta.`%s` WHERE run_id = '%s' AND status = 'failed'"
            + " AND error IS NOT NULL GROUP BY table_name ORDER BY table_name", spec.paths().control("runs"), second.runId()));
  }
}
