package dev.lakehouse.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.testing.LakehouseTestBase;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * Merged tables get deletion vectors unless Delta's own default for new tables is set, which then
 * decides. Which tables are created with them is checked end to end by MeteringExampleTest.
 */
class DeletionVectorsTest extends LakehouseTestBase {

  @Test
  void mergedTablesHaveThemUnlessDeltasDefaultSaysOtherwise() {
    // A session of its own: its SQL settings do not reach the other tests' session.
    SparkSession session = spark.newSession();
    assertEquals("true", DeletionVectors.forMergedTable(session));
    session.conf().set("spark.databricks.delta.properties.defaults.enableDeletionVectors", "false");
    assertEquals("false", DeletionVectors.forMergedTable(session));
    session.conf().set("spark.databricks.delta.properties.defaults.enableDeletionVectors", "true");
    assertEquals("true", DeletionVectors.forMergedTable(session));
  }
}
