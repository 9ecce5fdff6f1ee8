package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.bronze.BronzeLoader.TableResult;
import dev.lakehouse.config.LakehouseConfig;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.testing.LakehouseTestBase;
import java.sql.Connection;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Full and incremental loads of the ACME source, run after run, on one lakehouse. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BronzeLoaderTest extends LakehouseTestBase {

  private static BronzeLoader loader;

  @BeforeAll
  static void seed() throws Exception {
    try (Connection c = source()) {
      AcmeSeeder.seed(c, "operations", 1);
    }
    loader = new BronzeLoader(spark, config.source(), config.paths());
  }

  private static Map<String, TableResult> runAll(String runId) {
    List<TableResult> results = loader.load(runId, config.tables());
    results.forEach(r -> assertFalse(r.failed(), r.table() + ": " + r.error()));
    return results.stream().collect(java.util.stream.Collectors.toMap(TableResult::table, r -> r));
  }

  @Test
  @Order(1)
  void firstRunLandsEveryRowWithBatchMetadata() {
    Map<String, TableResult> results = runAll("run-1");
    for (String table : List.of("customers", "products", "orders", "order_items")) {
      long sourceRows = sourceCount("SELECT count(*) FROM operations." + table);
      assertTrue(sourceRows > 0, table);
      assertEquals(sourceRows, results.get(table).rowsRead(), table + " rows read");
      assertEquals(sourceRows, results.get(table).rowsWritten(), table + " rows written");
      assertEquals(sourceRows, count("SELECT count(*) FROM delta.`%s`", path("bronze", table)), table);
      assertEquals(1L, results.get(table).batchId());
      assertEquals(List.of(List.of(1L, "acme.operations." + table)),
          sql("SELECT DISTINCT _batch_id, _source FROM delta.`%s`", path("bronze", table)));
    }
    Timestamp maxUpdated = (Timestamp) sourceQuery("SELECT max(updated_at) FROM operations.orders").get(0).get(0);
    assertEquals(maxUpdated.toInstant(), results.get("orders").watermark().orElseThrow());
    assertTrue(results.get("products").watermark().isEmpty(), "full tables keep no watermark");
  }

  @Test
  @Order(2)
  void rerunWithoutChangesAddsNoIncrementalRowsAndAFullSnapshot() {
    long customers = count("SELECT count(*) FROM delta.`%s`", path("bronze", "customers"));
    Map<String, TableResult> results = runAll("run-2");
    assertEquals(0, results.get("customers").rowsWritten(), "the lookback overlap is not landed twice");
    assertTrue(results.get("customers").rowsRead() > 0, "the lookback window re-read recent rows");
    assertEquals(customers, count("SELECT count(*) FROM delta.`%s`", path("bronze", "customers")));
    long products = sourceCount("SELECT count(*) FROM operations.products");
    assertEquals(products, results.get("products").rowsWritten(), "full mode takes a complete snapshot");
    assertEquals(2 * products, count("SELECT count(*) FROM delta.`%s`", path("bronze", "products")));
    assertEquals(2L, results.get("products").batchId());
  }

  @Test
  @Order(3)
  void changesAndALateCommitInsideTheLookbackAreCaptured() {
    Instant watermark = new dev.lakehouse.control.Watermarks(spark, config.paths().control("watermarks"))
        .read("customers").orElseThrow().watermark().orElseThrow();
    // A normal change, and a late commit: visible only now, stamped 3 minutes before the watermark.
    sourceExecute(
        "UPDATE operations.customers SET city = 'Lisbon', updated_at = now() WHERE customer_id = 1",
        "UPDATE operations.customers SET city = 'Porto', updated_at = timestamptz '"
            + watermark.minusSeconds(180) + "' WHERE customer_id = 2");
    Map<String, TableResult> results = runAll("run-3");
    assertEquals(2, results.get("customers").rowsWritten());
    assertEquals(List.of(List.of(1L, "Lisbon"), List.of(2L, "Porto")), sql(
        "SELECT customer_id, city FROM delta.`%s` WHERE _batch_id = 3 ORDER BY customer_id",
        path("bronze", "customers")));
    assertTrue(results.get("customers").watermark().orElseThrow().isAfter(watermark));
  }

  @Test
  @Order(4)
  void eachKeyAndCursorIsLandedOnce() {
    for (String table : List.of("customers", "orders", "order_items")) {
      String key = table.equals("order_items") ? "order_item_id" : table.substring(0, table.length() - 1) + "_id";
      assertEquals(0L, count("SELECT count(*) FROM (SELECT %s, updated_at FROM delta.`%s`"
          + " GROUP BY %s, updated_at HAVING count(*) > 1)", key, path("bronze", table), key), table);
    }
  }

  @Test
  @Order(5)
  void controlTablesRecordEveryRun() {
    assertEquals(12L, count("SELECT count(*) FROM delta.`%s` WHERE job = 'bronze' AND status = 'succeeded'",
        config.paths().control("runs")));
    assertEquals(List.of(List.of("customers", 3L), List.of("order_items", 3L), List.of("orders", 3L),
            List.of("products", 3L)),
        sql("SELECT table_name, batch_id FROM (%s) ORDER BY table_name",
            Watermarks.currentSql(config.paths().control("watermarks"))));
    assertEquals(12L, count("SELECT count(*) FROM delta.`%s`", config.paths().control("watermarks")),
        "one watermark row per table and run: the history");
  }

  @Test
  @Order(6)
  void wholeTableReadsSplitByBlocksAndWindowsByCursor() throws Exception {
    try (Connection c = source()) {
      String table = "\"operations\".\"order_items\"";
      long total = sourceCount("SELECT count(*) FROM " + table);
      List<String> blocks = ReadPartitions.planWholeTable(c, table, "order_item_id", "int8", "TRUE", 3);
      assertEquals(3, blocks.size(), blocks.toString());
      assertTrue(blocks.stream().allMatch(p -> p.contains("ctid")), blocks.toString());
      assertEveryRowInExactlyOnePredicate(table, blocks, total);
      assertTrue(sourceQuery("EXPLAIN SELECT * FROM " + table + " WHERE " + blocks.get(1)).toString()
          .contains("Tid Range Scan"), "a block range reads only its blocks");

      String window = "updated_at <= now()";
      List<String> values = ReadPartitions.plan(c, table, "updated_at", "timestamptz", window, 3);
      assertEquals(3, values.size(), values.toString());
      assertTrue(values.stream().noneMatch(p -> p.contains("ctid")), values.toString());
      assertEveryRowInExactlyOnePredicate(table, values, total);
    }
  }

  private static void assertEveryRowInExactlyOnePredicate(String table, List<String> predicates, long total) {
    long sum = 0;
    for (String predicate : predicates) {
      sum += sourceCount("SELECT count(*) FROM " + table + " WHERE " + predicate);
    }
    assertEquals(total, sum, "the ranges neither overlap nor leave a row out: " + predicates);
  }

  @Test
  @Order(6)
  void bronzeKeepsStatisticsOnTheColumnsItIsReadBy() {
    org.apache.spark.sql.Row detail = io.delta.tables.DeltaTable.forPath(spark, path("bronze", "order_items"))
        .detail().first();
    Map<String, String> properties = detail.getJavaMap(detail.fieldIndex("properties"));
    assertEquals("order_item_id,updated_at,_batch_id,_ingested_at", properties.get("delta.dataSkippingStatsColumns"));
  }

  @Test
  @Order(6)
  void partitionedReadsReturnTheSameRows() {
    LakehouseConfig three = testConfig(Map.of(
        "lakehouse.root", lakehouseRoot.resolve("partitioned").toString(),
        "lakehouse.tables.orders.partitions", "3",
        "lakehouse.tables.products.partitions", "3"));
    LakehouseConfig one = testConfig(Map.of(
        "lakehouse.root", lakehouseRoot.resolve("single").toString(),
        "lakehouse.tables.orders.partitions", "1",
        "lakehouse.tables.products.partitions", "1"));
    for (LakehouseConfig c : List.of(three, one)) {
      List<TableResult> results = new BronzeLoader(spark, c.source(), c.paths()).load("p", c.tables(List.of("orders", "products")));
      results.forEach(r -> assertEquals(RunLog.Status.SUCCEEDED, r.status(), r.error()));
    }
    for (String table : List.of("orders", "products")) {
      String columns = "* EXCEPT (_ingested_at)";
      assertEquals(0L, count("SELECT count(*) FROM ((SELECT %s FROM delta.`%s`) EXCEPT ALL (SELECT %s FROM delta.`%s`))",
          columns, three.paths().bronze(table), columns, one.paths().bronze(table)));
      assertEquals(count("SELECT count(*) FROM delta.`%s`", one.paths().bronze(table)),
          count("SELECT count(*) FROM delta.`%s`", three.paths().bronze(table)));
    }
  }

  @Test
  void windowBoundsSplitEvenly() {
    assertEquals(List.of(25L, 50L, 75L), ReadPartitions.bounds(0, 100, 4));
    assertEquals(List.of(), ReadPartitions.bounds(5, 5, 4));
    assertEquals(List.of(1L), ReadPartitions.bounds(0, 1, 4));
  }
}
