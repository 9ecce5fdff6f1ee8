package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import io.delta.tables.DeltaTable;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** How one extraction is split into ranges read in parallel, and that the split changes nothing in bronze. */
class ReadPartitionsTest extends EngineTestBase {

  private static final String TABLE = "\"public\".\"parts\"";
  private static final long ROWS = 1500;

  @BeforeAll
  static void createTable() {
    sourceExecute(
        "CREATE TABLE parts (id bigint PRIMARY KEY, grp int, v text, updated_at timestamptz NOT NULL)",
        "INSERT INTO parts SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE g % 50 END, 'value ' || g,"
            + " now() - g * interval '1 second' FROM generate_series(1, " + ROWS + ") g",
        "ANALYZE parts");
  }

  @Test
  void aWholeTableReadIsSplitIntoBlockRangesThatPostgresScansAlone() throws Exception {
    try (Connection c = source()) {
      List<String> blocks = ReadPartitions.planWholeTable(c, TABLE, "id", "int8", "TRUE", 3);
      assertEquals(3, blocks.size(), blocks.toString());
      assertTrue(blocks.stream().allMatch(p -> p.contains("ctid")), blocks.toString());
      assertEveryRowInExactlyOneRange(blocks, "TRUE");
      for (String block : blocks) {
        assertTrue(sourceQuery("EXPLAIN SELECT * FROM " + TABLE + " WHERE " + block).toString().contains("Tid Range Scan"),
            "a block range reads only its blocks: " + block);
      }
      assertEquals(List.of("TRUE"), ReadPartitions.planWholeTable(c, TABLE, "id", "int8", "TRUE", 1));
    }
  }

  @Test
  void aWindowIsSplitIntoValueRangesAndTheFirstTakesTheNulls() throws Exception {
    try (Connection c = source()) {
      String window = "updated_at >= now() - interval '10 minutes' AND updated_at <= now()";
      List<String> byCursor = ReadPartitions.plan(c, TABLE, "updated_at", "timestamptz", window, 3);
      assertEquals(3, byCursor.size(), byCursor.toString());
      assertTrue(byCursor.stream().allMatch(p -> p.startsWith(window + " AND ") && !p.contains("ctid")), byCursor.toString());
      assertEveryRowInExactlyOneRange(byCursor, window);
      assertTrue(sourceCount("SELECT count(*) FROM " + TABLE + " WHERE " + window) < ROWS, "a window, not the table");

      List<String> byNullableColumn = ReadPartitions.plan(c, TABLE, "grp", "int4", "TRUE", 4);
      assertEquals(4, byNullableColumn.size(), byNullableColumn.toString());
      assertTrue(byNullableColumn.get(0).contains("\"grp\" IS NULL"), byNullableColumn.get(0));
      assertEveryRowInExactlyOneRange(byNullableColumn, "TRUE");
    }
  }

  @Test
  void boundsSplitARangeEvenly() {
    assertEquals(List.of(25L, 50L, 75L), ReadPartitions.bounds(0, 100, 4));
    assertEquals(List.of(), ReadPartitions.bounds(5, 5, 4));
    assertEquals(List.of(1L), ReadPartitions.bounds(0, 1, 4));
  }

  @Test
  void partitionedReadsLandTheSameRowsAsASingleReadWithStatisticsOnTheColumnsBronzeIsReadBy() {
    sourceExecute("CREATE TABLE parts_changing AS TABLE parts", "ALTER TABLE parts_changing ADD PRIMARY KEY (id)");
    String tables = """
        tables {
          p_full { source-table = parts_changing, primary-key = [id], mode = full }
          p_inc { source-table = parts_changing, primary-key = [id], mode = incremental, cursor = updated_at, lookback = 1h }
        }""";
    LakehouseSpec three = spec("partitioned", "extract.partitions = 3\n" + tables
        + "\ntables.p_keyless { source-table = parts_changing, primary-key = [], mode = full }");
    LakehouseSpec one = spec("single", "extract.partitions = 1\n" + tables);
    succeeded(run(three, Stage.BRONZE));
    succeeded(run(one, Stage.BRONZE));
    assertEquals(3L, files(three.paths().bronze("p_full")), "three block ranges, three files");
    assertEquals(1L, files(one.paths().bronze("p_full")));
    // Statistics only on the columns bronze is read by: by batch (silver), by key and cursor (the lookback).
    assertEquals("`id`,`updated_at`,`_batch_id`,`_ingested_at`", property(three.paths().bronze("p_inc")));
    assertEquals("`_row_key`,`_batch_id`,`_ingested_at`", property(three.paths().bronze("p_keyless")));
    String stats = spark.read().json(three.paths().bronze("p_inc") + "/_delta_log/00000000000000000000.json")
        .where("add IS NOT NULL").select("add.stats").first().getString(0);
    for (String column : List.of("id", "updated_at", "_batch_id", "_ingested_at")) {
      assertTrue(stats.contains("\"" + column + "\""), column + " has statistics: " + stats);
    }
    for (String column : List.of("grp", "v", "_source", "_op")) {
      assertFalse(stats.contains("\"" + column + "\""), column + " has none: " + stats);
    }
    // Changes spread over the table: the incremental window is split by cursor values.
    sourceExecute("UPDATE parts_changing SET v = 'changed', updated_at = now() WHERE id % 100 = 0");
    succeeded(run(three.withTables(three.tables(List.of("p_inc"))), Stage.BRONZE));
    succeeded(run(one.withTables(one.tables(List.of("p_inc"))), Stage.BRONZE));
    assertEquals(ROWS / 100, count("SELECT count(*) FROM delta.`%s` WHERE _batch_id = 2", three.paths().bronze("p_inc")));
    for (String table : List.of("p_full", "p_inc")) {
      String partitioned = three.paths().bronze(table);
      String single = one.paths().bronze(table);
      assertEquals(rows(single), rows(partitioned), table);
      assertEquals(0L, count("SELECT count(*) FROM ((SELECT * EXCEPT (_ingested_at) FROM delta.`%s`)"
          + " EXCEPT ALL (SELECT * EXCEPT (_ingested_at) FROM delta.`%s`))", partitioned, single), table);
    }
  }

  private static String property(String path) {
    Row detail = DeltaTable.forPath(spark, path).detail().first();
    Map<String, String> properties = detail.getJavaMap(detail.fieldIndex("properties"));
    return properties.get("delta.dataSkippingStatsColumns");
  }

  private static long files(String path) {
    Row detail = DeltaTable.forPath(spark, path).detail().first();
    return detail.getLong(detail.fieldIndex("numFiles"));
  }

  private static void assertEveryRowInExactlyOneRange(List<String> predicates, String window) {
    long sum = 0;
    for (String predicate : predicates) {
      sum += sourceCount("SELECT count(*) FROM " + TABLE + " WHERE " + predicate);
    }
    assertEquals(sourceCount("SELECT count(*) FROM " + TABLE + " WHERE " + window), sum,
        "the ranges neither overlap nor leave a row out: " + predicates);
  }
}
