package dev.lakehouse.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/** Where a layer's progress is read back from: the table's last tagged commit, read from the log's files. */
class CommitsTest extends LakehouseTestBase {

  private static void append(String path, Commits.Tag tag) {
    Dataset<Row> rows = spark.range(3).toDF("id");
    Commits.tag(rows.write().format("delta").mode("append"), tag).save(path);
  }

  @Test
  void theLastTaggedCommitIsFoundPastUntaggedOnesAndByLayer() {
    String path = lakehouseRoot.resolve("commits/by-layer").toString();
    append(path, Commits.Tag.idempotent("bronze", "t", 1, "run-1"));
    append(path, Commits.Tag.idempotent("bronze", "t", 2, "run-2"));
    Commits.record(spark, path, Commits.Tag.of("gold", "t", 0, "run-3").with(Map.of("silver.t", "7:2")));
    spark.sql("OPTIMIZE delta.`" + path + "`");

    Commits.Commit any = Commits.last(spark, path).orElseThrow();
    assertEquals(2, any.version());
    assertEquals("gold", any.layer());
    assertEquals(Map.of("silver.t", "7:2"), any.positions());

    Commits.Commit bronze = Commits.last(spark, path, "bronze").orElseThrow();
    assertEquals(1, bronze.version());
    assertEquals(2, bronze.batch());
    assertEquals("run-2", bronze.runId());
    assertEquals(3, bronze.metric("numOutputRows"));
    assertEquals(0, Commits.lastBatch(spark, path), "the gold commit records positions only");

    assertTrue(Commits.last(spark, path, "silver").isEmpty());
    assertTrue(Commits.last(spark, lakehouseRoot.resolve("commits/none").toString()).isEmpty());
  }

  @Test
  void commitsTheLogCleanedUpAreNotNeededToFindTheLastOne() throws IOException {
    String path = lakehouseRoot.resolve("commits/cleaned").toString();
    append(path, Commits.Tag.idempotent("bronze", "t", 1, "run-1"));
    spark.sql("ALTER TABLE delta.`" + path + "` SET TBLPROPERTIES ('delta.checkpointInterval' = '2')");
    append(path, Commits.Tag.idempotent("bronze", "t", 2, "run-2"));
    append(path, Commits.Tag.idempotent("bronze", "t", 3, "run-3"));
    append(path, Commits.Tag.idempotent("bronze", "t", 4, "run-4"));
    spark.sql("OPTIMIZE delta.`" + path + "`");
    // What the log's clean-up leaves: the checkpoint of version 4 and the commits after it.
    Path log = Path.of(path, "_delta_log");
    assertTrue(Files.exists(log.resolve(String.format("%020d.checkpoint.parquet", 4))));
    for (int version = 0; version < 4; version++) {
      Files.delete(log.resolve(String.format("%020d.json", version)));
    }

    Commits.Commit bronze = Commits.last(spark, path, "bronze").orElseThrow();
    assertEquals(4, bronze.version());
    assertEquals(4, bronze.batch());
    assertTrue(Commits.last(spark, path, "silver").isEmpty(), "searching past the oldest commit left finds nothing");
  }
}
