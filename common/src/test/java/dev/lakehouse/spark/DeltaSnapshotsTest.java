package dev.lakehouse.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import io.delta.tables.DeltaTable;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A table's row count from its commit's checksum equals what a query counts, through appends,
 * a MERGE that rewrites files, and deletes hidden by deletion vectors; it costs no Spark job; and
 * where the checksum cannot tell (files written without statistics) it says so instead of guessing.
 */
class DeltaSnapshotsTest extends LakehouseTestBase {

  private static long queried(String path) {
    return spark.read().format("delta").load(path).count();
  }

  private static OptionalLong fromChecksum(String path) throws Exception {
    AtomicReference<OptionalLong> rows = new AtomicReference<>();
    assertEquals(0, sparkJobsOf(() -> rows.set(DeltaSnapshots.rowsFromChecksum(DeltaSnapshots.latest(spark, path)))),
        "read from the log, no Spark job");
    return rows.get();
  }

  @Test
  void theChecksumCountsTheRowsAQueryCounts() throws Exception {
    String path = lakehouseRoot.resolve("snapshots/counted").toString();
    spark.range(0, 1000).selectExpr("id", "id % 7 AS v").repartition(3).write().format("delta").save(path);
    assertEquals(OptionalLong.of(1000), fromChecksum(path));

    spark.range(1000, 1250).selectExpr("id", "id % 7 AS v").write().format("delta").mode("append").save(path);
    assertEquals(OptionalLong.of(queried(path)), fromChecksum(path));

    // A MERGE that updates, deletes and inserts, first rewriting files, then with deletion vectors.
    DeltaTable.forPath(spark, path).as("t").merge(spark.range(1200, 1300).selectExpr("id", "-1L AS v").as("s"),
        "t.id = s.id").whenMatched("t.id % 2 = 0").delete().whenMatched().updateAll().whenNotMatched().insertAll()
        .execute();
    assertEquals(OptionalLong.of(queried(path)), fromChecksum(path));
    spark.sql("ALTER TABLE delta.`" + path + "` SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')");
    spark.sql("DELETE FROM delta.`" + path + "` WHERE v = 3");
    assertTrue(DeltaSnapshots.latest(spark, path).allFiles().collectAsList().stream().anyMatch(f -> f.deletionVector() != null), "the delete wrote a deletion vector");
    long live = queried(path);
    assertTrue(live < 1300 - 50 && live > 0, "the delete removed rows: " + live);
    assertEquals(OptionalLong.of(live), fromChecksum(path), "rows a deletion vector hides are not counted");
  }

  @Test
  void filesWithoutStatisticsLeaveTheCountToAQuery() throws Exception {
    String path = lakehouseRoot.resolve("snapshots/no-stats").toString();
    String setting = "spark.databricks.delta.stats.collect";
    String before = spark.conf().get(setting, "true");
    spark.conf().set(setting, "false");
    try {
      spark.range(0, 100).write().format("delta").save(path);
    } finally {
      spark.conf().set(setting, before);
    }
    assertEquals(OptionalLong.empty(), fromChecksum(path));
    assertEquals(100, queried(path));
  }
}
