package dev.lakehouse.silver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.bronze.BronzeLoader;
import dev.lakehouse.config.LakehouseConfig;
import dev.lakehouse.testing.LakehouseTestBase;
import io.delta.tables.DeltaTable;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Seed, bronze, silver, then one edge case after another on the same lakehouse. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SilverLoaderTest extends LakehouseTestBase {

  private static int runs;

  @BeforeAll
  static void seed() throws Exception {
    try (Connection c = source()) {
      AcmeSeeder.seed(c, "operations", 1);
    }
  }

  /** bronze then silver, as `lakehouse run` does; returns silver's results by table. */
  private static Map<String, SilverLoader.TableResult> cycle(LakehouseConfig c) {
    String runId = "run-" + ++runs;
    new BronzeLoader(spark, c.source(), c.paths()).load(runId, c.tables())
        .forEach(r -> assertFalse(r.failed(), r.table() + ": " + r.error()));
    return new SilverLoader(spark, c.paths()).load(runId, c.tables()).stream()
        .collect(Collectors.toMap(SilverLoader.TableResult::table, r -> r));
  }

  private static Map<String, SilverLoader.TableResult> cycle() {
    Map<String, SilverLoader.TableResult> results = cycle(config);
    results.values().forEach(r -> assertFalse(r.failed(), r.table() + ": " + r.error()));
    return results;
  }

  private static String silver(String table) {
    return path("silver", table);
  }

  @Test
  @Order(1)
  void firstRunHoldsOneConformedRowPerKeyWithOrphansQuarantined() {
    sourceExecute(
        "UPDATE operations.customers SET email = '  Ana.Silva@Example.COM ' WHERE customer_id = 3",
        "INSERT INTO operations.order_items (order_item_id, order_id, product_id, quantity, unit_price, created_at, updated_at)"
            + " VALUES (900001, 999999, 1, 2, 9.99, now(), now())");
    cycle();
    for (String table : List.of("customers", "products", "orders")) {
      assertEquals(sourceCount("SELECT count(*) FROM operations." + table),
          count("SELECT count(*) FROM delta.`%s` WHERE NOT _is_deleted", silver(table)), table);
    }
    assertEquals(sourceCount("SELECT count(*) FROM operations.order_items") - 1,
        count("SELECT count(*) FROM delta.`%s`", silver("order_items")), "the orphan is held aside");
    assertEquals(List.of(List.of(900001L, 999999L, List.of("relationships(order_id->orders.order_id)"))),
        sql("SELECT order_item_id, order_id, _failed_rules FROM delta.`%s`", path("quarantine", "order_items"))
            .stream().map(r -> List.of(r.get(0), r.get(1), scalaList(r.get(2)))).toList());
    assertEquals("ana.silva@example.com",
        sql("SELECT email FROM delta.`%s` WHERE customer_id = 3", silver("customers")).get(0).get(0));
    assertEquals(1L, count("SELECT failed_rows FROM delta.`%s` WHERE table_name = 'order_items'"
        + " AND rule = 'relationships(order_id->orders.order_id)' AND action = 'quarantine'", path("_control", "dq_results")));
  }

  @Test
  @Order(2)
  void rerunWithoutNewBronzeChangesNothing() {
    long version = DeltaTable.forPath(spark, silver("customers")).history(1).first().getLong(0);
    List<List<Object>> before = sql("SELECT * FROM delta.`%s` ORDER BY customer_id", silver("customers"));
    Map<String, SilverLoader.TableResult> results = new SilverLoader(spark, config.paths()).load("noop", config.tables())
        .stream().collect(Collectors.toMap(SilverLoader.TableResult::table, r -> r));
    assertEquals(0, results.get("customers").rowsIn());
    assertEquals(version, DeltaTable.forPath(spark, silver("customers")).history(1).first().getLong(0));
    assertEquals(before, sql("SELECT * FROM delta.`%s` ORDER BY customer_id", silver("customers")));
  }

  @Test
  @Order(3)
  void aKeyChangedSeveralTimesBetweenSilverRunsLandsItsLatestVersion() {
    // Bronze runs after each change (say hourly), silver once: bronze holds every version.
    BronzeLoader bronze = new BronzeLoader(spark, config.source(), config.paths());
    sourceExecute("UPDATE operations.customers SET city = 'Lyon', updated_at = now() WHERE customer_id = 5",
        "UPDATE operations.orders SET status = 'dispatched', updated_at = now() WHERE order_id = 7");
    bronze.load("hourly-1", config.tables(List.of("customers", "orders")));
    sourceExecute("UPDATE operations.customers SET city = 'Nice', updated_at = now() WHERE customer_id = 5",
        "UPDATE operations.orders SET status = 'delivered', updated_at = now() WHERE order_id = 7");
    Map<String, SilverLoader.TableResult> results = cycle();
    assertEquals(List.of(List.of("Nice")), sql("SELECT city FROM delta.`%s` WHERE customer_id = 5", silver("customers")));
    assertEquals(List.of(List.of("delivered")), sql("SELECT status FROM delta.`%s` WHERE order_id = 7", silver("orders")));
    assertEquals(List.of(List.of("Lyon"), List.of("Nice")), sql("SELECT city FROM delta.`%s` WHERE customer_id = 5"
        + " AND _batch_id > 1 ORDER BY updated_at", path("bronze", "customers")), "bronze keeps both versions for gold");
    assertEquals(2, results.get("customers").toBatch() - results.get("customers").fromBatch() + 1, "two bronze batches applied");
    assertEquals(1, results.get("customers").updated());
  }

  @Test
  @Order(4)
  void aLateCommitOlderThanSilverDoesNotOverwriteIt() {
    sourceExecute("UPDATE operations.customers SET city = 'Stale', updated_at = "
        + "(SELECT max(updated_at) FROM operations.customers WHERE customer_id = 5) - interval '30 seconds'"
        + " WHERE customer_id = 6");
    cycle();
    // Customer 6's own history had nothing newer, so the late version is its latest and applies.
    assertEquals(List.of(List.of("Stale")), sql("SELECT city FROM delta.`%s` WHERE customer_id = 6", silver("customers")));
    // An older version of customer 5 arriving late must not replace the newer 'Nice'.
    sourceExecute("UPDATE operations.customers SET city = 'Older', updated_at = "
        + "(SELECT max(updated_at) FROM operations.customers WHERE customer_id = 5) - interval '1 second'"
        + " WHERE customer_id = 5");
    cycle();
    assertEquals(List.of(List.of("Nice")), sql("SELECT city FROM delta.`%s` WHERE customer_id = 5", silver("customers")));
  }

  @Test
  @Order(5)
  void fullTableDeletesAreSoftAndARe_insertRevives() {
    sourceExecute("DELETE FROM operations.products WHERE product_id = 2");
    Map<String, SilverLoader.TableResult> results = cycle();
    assertEquals(1, results.get("products").deleted());
    assertEquals(List.of(List.of(true)), sql("SELECT _is_deleted FROM delta.`%s` WHERE product_id = 2", silver("products")));
    assertEquals(1L, count("SELECT count(*) FROM delta.`%s` WHERE product_id = 2 AND _deleted_at IS NOT NULL", silver("products")));

    sourceExecute("INSERT INTO operations.products (product_id, sku, name, category, unit_price, is_active, created_at, updated_at)"
        + " VALUES (2, 'SKU-BACK', 'Returned', 'misc', 1.50, true, now(), now())");
    cycle();
    assertEquals(List.of(List.of(false, "Returned")),
        sql("SELECT _is_deleted, name FROM delta.`%s` WHERE product_id = 2", silver("products")));
    assertEquals(1L, count("SELECT count(*) FROM delta.`%s` WHERE product_id = 2 AND _deleted_at IS NULL", silver("products")));
  }

  @Test
  @Order(6)
  void aNewSourceColumnFlowsThroughWithOlderRowsNull() {
    sourceExecute("ALTER TABLE operations.customers ADD COLUMN loyalty_tier text",
        "UPDATE operations.customers SET loyalty_tier = 'gold', updated_at = now() WHERE customer_id = 8");
    cycle();
    assertEquals(List.of(List.of("gold")), sql("SELECT loyalty_tier FROM delta.`%s` WHERE customer_id = 8", silver("customers")));
    assertEquals(List.of(java.util.Arrays.asList((Object) null)),
        sql("SELECT loyalty_tier FROM delta.`%s` WHERE customer_id = 9", silver("customers")));
    assertTrue(List.of(spark.read().format("delta").load(path("bronze", "customers")).columns()).contains("loyalty_tier"));
  }

  @Test
  @Order(7)
  void aFailRuleStopsTheTableAndCommitsNothing() {
    LakehouseConfig strict = config.with(Map.of(
        "lakehouse.tables.orders.quality", "[{ rule = not_null, columns = [delivery_date], action = fail }]"));
    sourceExecute("UPDATE operations.orders SET delivery_date = NULL, updated_at = now() WHERE order_id = 11");
    long version = DeltaTable.forPath(spark, silver("orders")).history(1).first().getLong(0);
    Map<String, SilverLoader.TableResult> results = cycle(strict);
    assertTrue(results.get("orders").failed());
    assertEquals("quality rule not_null(delivery_date) failed for 1 rows (action fail); nothing of bronze batches "
        + results.get("orders").fromBatch() + ".." + results.get("orders").toBatch() + " was committed",
        results.get("orders").error());
    assertEquals(version, DeltaTable.forPath(spark, silver("orders")).history(1).first().getLong(0));
    assertFalse(results.get("customers").failed(), "other tables go on");
    // With the rule relaxed to warn, the same batches apply and the warning is counted.
    LakehouseConfig relaxed = config.with(Map.of(
        "lakehouse.tables.orders.quality", "[{ rule = not_null, columns = [delivery_date], action = warn }]"));
    Map<String, SilverLoader.TableResult> retry = new SilverLoader(spark, relaxed.paths()).load("relaxed", relaxed.tables(List.of("orders")))
        .stream().collect(Collectors.toMap(SilverLoader.TableResult::table, r -> r));
    assertFalse(retry.get("orders").failed(), retry.get("orders").error());
    assertEquals(List.of(java.util.Arrays.asList((Object) null)), sql("SELECT delivery_date FROM delta.`%s` WHERE order_id = 11", silver("orders")));
    assertEquals(1L, count("SELECT failed_rows FROM delta.`%s` WHERE run_id = 'relaxed' AND rule = 'not_null(delivery_date)'",
        path("_control", "dq_results")));
  }

  @Test
  @Order(8)
  void anIncompatibleTypeChangeStopsThatTableAndLeavesItUntouched() {
    sourceExecute("ALTER TABLE operations.order_items ALTER COLUMN quantity TYPE text USING quantity::text",
        "UPDATE operations.order_items SET quantity = 'three', updated_at = now() WHERE order_item_id = 4");
    long bronzeVersion = DeltaTable.forPath(spark, path("bronze", "order_items")).history(1).first().getLong(0);
    String runId = "typechange";
    List<BronzeLoader.TableResult> bronze = new BronzeLoader(spark, config.source(), config.paths())
        .load(runId, config.tables(List.of("order_items", "customers")));
    assertTrue(bronze.get(0).failed());
    assertEquals("Column quantity of \"operations\".\"order_items\" changed type from int to string;"
        + " bronze.order_items is left untouched (migrate it, or rename the source column)", bronze.get(0).error());
    assertFalse(bronze.get(1).failed());
    assertEquals(bronzeVersion, DeltaTable.forPath(spark, path("bronze", "order_items")).history(1).first().getLong(0));
    sourceExecute("ALTER TABLE operations.order_items ALTER COLUMN quantity TYPE integer USING 3");
  }

  @Test
  @Order(9)
  void reconcileSoftDeletesIncrementalKeysTheSourceLostAndAReturnRevives() {
    sourceExecute("DELETE FROM operations.orders WHERE order_id = 12");
    List<SilverReconciler.TableResult> results = new SilverReconciler(spark, config.source(), config.paths())
        .reconcile("reconcile-1", config.tables());
    SilverReconciler.TableResult orders = results.stream().filter(r -> r.table().equals("orders")).findFirst().orElseThrow();
    assertEquals(1, orders.deleted(), orders.toString());
    assertEquals(sourceCount("SELECT count(*) FROM operations.orders"), orders.sourceKeys());
    assertEquals(List.of(List.of(true)), sql("SELECT _is_deleted FROM delta.`%s` WHERE order_id = 12", silver("orders")));
    assertTrue(results.stream().noneMatch(r -> r.table().equals("products")), "full tables need no reconcile");

    sourceExecute("INSERT INTO operations.orders (order_id, customer_id, status, order_date, delivery_date)"
        + " VALUES (12, 1, 'pending', current_date, current_date + 2)");
    cycle();
    assertEquals(List.of(List.of(false, "pending")),
        sql("SELECT _is_deleted, status FROM delta.`%s` WHERE order_id = 12", silver("orders")));
    SilverReconciler.TableResult again = new SilverReconciler(spark, config.source(), config.paths())
        .reconcile("reconcile-2", config.tables(List.of("orders"))).get(0);
    assertEquals(0, again.deleted());
  }

  @SuppressWarnings("unchecked")
  private static List<Object> scalaList(Object value) {
    return value instanceof scala.collection.Seq<?> seq
        ? (List<Object>) scala.jdk.javaapi.CollectionConverters.asJava(seq) : (List<Object>) value;
  }
}
