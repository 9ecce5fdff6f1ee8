package dev.lakehouse.spark;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.plans.logical.ResolvedHint;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Test;

/** A MERGE source is broadcast only when it is small in rows and in bytes. */
class MergeSourceTest extends LakehouseTestBase {

  private static boolean broadcast(Dataset<Row> rows) {
    return rows.queryExecution().analyzed() instanceof ResolvedHint hint && hint.hints().strategy().isDefined();
  }

  private static Dataset<Row> checkpointed(Dataset<Row> rows) {
    return rows.localCheckpoint(true, StorageLevel.MEMORY_AND_DISK());
  }

  @Test
  void aNarrowMaterializedSourceIsBroadcastAndItsBytesAreKnown() {
    Dataset<Row> narrow = checkpointed(spark.range(1_000).selectExpr("id", "CAST(id AS STRING) AS name"));
    try {
      long bytes = MergeSource.storedBytes(narrow).orElseThrow();
      assertTrue(bytes > 1_000 && bytes < 1 << 20, "1,000 narrow rows hold " + bytes + " bytes");
      assertTrue(broadcast(MergeSource.sized(narrow, 1_000)));
      assertTrue(broadcast(MergeSource.sized(narrow.where("id > 10").select("name"), 989)),
          "a projection of it is sized by what is stored behind it");
    } finally {
      narrow.unpersist();
    }
  }

  @Test
  void aFewRowsOfWideTextAreNotBroadcast() {
    // 48 rows of 2 MB each: far under the row limit, far over the byte limit.
    Dataset<Row> wide = checkpointed(spark.range(48).selectExpr("id", "repeat('x', 2000000) AS document"));
    try {
      long bytes = MergeSource.storedBytes(wide).orElseThrow();
      assertTrue(bytes > MergeSource.BROADCAST_BYTES, "48 rows of 2 MB hold " + bytes + " bytes");
      assertFalse(broadcast(MergeSource.sized(wide, 48)));
    } finally {
      wide.unpersist();
    }
  }

  @Test
  void tooManyRowsAreNotBroadcastAndAnUnknownSizeIsJudgedByRows() {
    Dataset<Row> planned = spark.range(10).toDF();
    assertTrue(MergeSource.storedBytes(planned).isEmpty(), "a source that is not stored has no known size");
    assertTrue(broadcast(MergeSource.sized(planned, 10)));
    assertFalse(broadcast(MergeSource.sized(planned, MergeSource.BROADCAST_ROWS + 1)));
  }
}
