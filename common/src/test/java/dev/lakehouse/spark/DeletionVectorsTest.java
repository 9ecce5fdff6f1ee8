package dev.lakehouse.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.control.Commits;
import dev.lakehouse.spec.SpecException;
import dev.lakehouse.testing.LakehouseTestBase;
import io.delta.tables.DeltaTable;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * Merged tables start without deletion vectors and get them once they are large, unless Delta's
 * own default for new tables is set, which then decides. Which tables have them after a whole run
 * is checked end to end by MeteringExampleTest.
 */
class DeletionVectorsTest extends LakehouseTestBase {

  private static String newMergedTable(SparkSession session, String name) {
    String path = lakehouseRoot.resolve("dv/" + name).toString();
    session.range(0, 1000).selectExpr("id", "id * 2 AS v").write().format("delta")
        .option("delta.enableChangeDataFeed", "true")
        .option(DeletionVectors.PROPERTY, DeletionVectors.forMergedTable(session)).save(path);
    return path;
  }

  private static void updateOneRow(SparkSession session, String path) {
    DeltaTable.forPath(session, path).as("t").merge(session.range(5, 6).selectExpr("id", "-1L AS v").as("s"), "t.id = s.id")
        .whenMatched().updateAll().execute();
  }

  @Test
  void aMergedTableGetsThemOnceItHasGrownAndKeepsItsData() {
    String path = newMergedTable(spark, "grows");
    assertEquals("false", TableProperties.get(spark, path, DeletionVectors.PROPERTY));

    // Small: the MERGE rewrites the file it touches, no commit is added.
    long version = DeltaSnapshots.latest(spark, path).version();
    assertFalse(DeletionVectors.beforeMerge(spark, path));
    assertEquals(version, DeltaSnapshots.latest(spark, path).version());

    // Past the size: one untagged commit turns them on, the MERGE then marks the row it replaces.
    assertTrue(DeletionVectors.beforeMerge(spark, path, 1));
    assertEquals("true", TableProperties.get(spark, path, DeletionVectors.PROPERTY));
    updateOneRow(spark, path);
    java.util.Map<String, String> metrics = DeltaTable.forPath(spark, path).history(1).select("operationMetrics")
        .first().getJavaMap(0);
    assertEquals("1", metrics.get("numTargetDeletionVectorsAdded"), "the MERGE wrote a deletion vector: " + metrics);
    assertEquals(List.of(-1L), spark.read().format("delta").load(path).where("id = 5").select("v").as(
        org.apache.spark.sql.Encoders.LONG()).collectAsList());
    assertEquals(1000, spark.read().format("delta").load(path).count());
    assertTrue(Commits.last(spark, path).isEmpty(), "the property commit is not a tagged one");
    // Gold reads what changed in silver from its change feed, across the property's commit too.
    assertEquals(List.of("5 -1 update_postimage", "5 10 update_preimage"), spark.read().format("delta")
        .option("readChangeFeed", "true").option("startingVersion", version + 1).load(path)
        .orderBy("_commit_version", "_change_type").selectExpr("concat_ws(' ', id, v, _change_type)")
        .as(org.apache.spark.sql.Encoders.STRING()).collectAsList());

    // On stays on, with no further commit.
    long after = DeltaSnapshots.latest(spark, path).version();
    assertTrue(DeletionVectors.beforeMerge(spark, path, 1));
    assertEquals(after, DeltaSnapshots.latest(spark, path).version());
  }

  @Test
  void deltasDefaultForNewTablesDecidesWhenSet() {
    // A session of its own: its SQL settings do not reach the other tests' session.
    SparkSession session = spark.newSession();
    assertEquals("false", DeletionVectors.forMergedTable(session));

    session.conf().set("spark.databricks.delta.properties.defaults.enableDeletionVectors", "false");
    assertEquals("false", DeletionVectors.forMergedTable(session));
    String never = newMergedTable(session, "never");
    assertFalse(DeletionVectors.beforeMerge(session, never, 1), "Delta's default says none");
    assertEquals("false", TableProperties.get(session, never, DeletionVectors.PROPERTY));

    session.conf().set("spark.databricks.delta.properties.defaults.enableDeletionVectors", "true");
    assertEquals("true", DeletionVectors.forMergedTable(session));
    String always = newMergedTable(session, "always");
    assertTrue(DeletionVectors.beforeMerge(session, always));
  }

  @Test
  void theSizeIsASettingAndABadValueNamesItsKey() {
    SparkSession session = spark.newSession();
    assertEquals(64L << 20, DeletionVectors.fromBytes(session));
    session.conf().set(DeletionVectors.FROM_SIZE, "0");
    String fromTheStart = newMergedTable(session, "from-the-start");
    assertTrue(DeletionVectors.beforeMerge(session, fromTheStart), "0: on at the first MERGE");

    session.conf().set(DeletionVectors.FROM_SIZE, "lots");
    SpecException bad = assertThrows(SpecException.class, () -> DeletionVectors.fromBytes(session));
    assertEquals("lakehouse.spark.conf.\"spark.lakehouse.deletionVectors.fromSize\": 'lots' is not a size such as"
        + " 64m or 1g", bad.getMessage());
  }
}
