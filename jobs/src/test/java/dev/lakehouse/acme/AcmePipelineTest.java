package dev.lakehouse.acme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.control.Commits;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.AcmeChecks;
import dev.lakehouse.testing.AcmeLakehouses;
import dev.lakehouse.testing.AcmeLakehouses.Built;
import dev.lakehouse.testing.LakehouseTestBase;
import io.delta.tables.DeltaTable;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * ACME through the whole pipeline into gold: after the first run and after a simulated day the
 * marts equal the same questions asked of PostgreSQL, the dimensions keep SCD2's invariants and
 * agree with silver, facts resolve to live members; and the cases that used to go wrong.
 */
class AcmePipelineTest extends LakehouseTestBase {

  private static Built fork(Built shared, String name) {
    return AcmeLakehouses.fork(shared, name);
  }

  private static String gold(Built lakehouse, String table) {
    return lakehouse.spec().paths().gold(table);
  }

  private static String silver(Built lakehouse, String table) {
    return lakehouse.spec().paths().silver(table);
  }

  @Test
  void theFirstRunMatchesTheSource() {
    Built day0 = AcmeLakehouses.day0();
    AcmeChecks.assertGoldAgrees(day0.database(), day0.spec());
    String db = day0.database();
    assertEquals(AcmeLakehouses.count(db, "SELECT count(*) FROM operations.customers") + 1,
        count("SELECT count(*) FROM delta.`%s`", gold(day0, "dim_customer")), "one version per customer, plus unknown");
    assertEquals(AcmeLakehouses.count(db, "SELECT count(*) FROM operations.products") + 1,
        count("SELECT count(*) FROM delta.`%s`", gold(day0, "dim_product")), "one version per product, plus unknown");
    assertEquals(AcmeLakehouses.count(db, "SELECT max(greatest(order_date, delivery_date))"
            + " - min(least(order_date, delivery_date)) + 1 FROM operations.orders"),
        count("SELECT count(*) FROM delta.`%s`", gold(day0, "dim_date")), "the calendar spans every order's dates");
  }

  @Test
  void aSimulatedDayKeepsGoldEqualToTheSource() {
    Built day1 = AcmeLakehouses.day1().built();
    AcmeChecks.assertGoldAgrees(day1.database(), day1.spec());
    assertTrue(count("SELECT count(*) FROM (SELECT customer_id FROM delta.`%s` WHERE NOT is_deleted"
        + " GROUP BY customer_id HAVING count(*) > 1)", gold(day1, "dim_customer")) > 0, "customers who moved: versions");
    assertTrue(count("SELECT count(*) FROM delta.`%s`", day1.spec().paths().quarantine("order_items")) > 0,
        "items whose order does not exist are held aside");
  }

  /**
   * A live key with no current row: a customer hard-deleted (reconcile sees it) and inserted again
   * with an updated_at older than the moment the delete was seen (a late commit inside the
   * lookback), and a product deleted from the full table and restored with the identical row and
   * the same updated_at. Each must end with exactly one current row holding silver's values,
   * opened 1 µs after its tombstone, and facts placed after its return must not point at the
   * tombstone.
   */
  @Test
  void aDeletedKeyThatComesBackHasExactlyOneCurrentRow() {
    Built lh = fork(AcmeLakehouses.day0(), "revived");
    LakehouseSpec spec = lh.spec();
    String db = lh.database();
    long customer = 7;
    long product = 3;
    executeIn(db,
        "CREATE TABLE saved_product AS SELECT * FROM operations.products WHERE product_id = " + product,
        "DELETE FROM operations.customers WHERE customer_id = " + customer,
        "DELETE FROM operations.products WHERE product_id = " + product,
        // Moves the customers' watermark to now, so the customer's return below is a late commit.
        "UPDATE operations.customers SET city = 'Lyon', updated_at = now() WHERE customer_id = 8");
    succeeded(runAll(spec));
    assertEquals(List.of(List.of(true, false)), sql("SELECT is_deleted, is_current FROM delta.`%s` WHERE customer_id = %d"
        + " ORDER BY valid_from DESC LIMIT 1", gold(lh, "dim_customer"), customer), "the delete is a tombstone");
    Timestamp detected = (Timestamp) sql("SELECT _deleted_at FROM delta.`%s` WHERE customer_id = %d",
        silver(lh, "customers"), customer).get(0).get(0);

    executeIn(db,
        "INSERT INTO operations.customers (customer_id, name, email, city, country, created_at, updated_at)"
            + " VALUES (" + customer + ", 'Returning Rita', 'rita@example.org', 'Nice', 'France',"
            + " TIMESTAMPTZ '" + detected.toInstant() + "' - interval '2 hours',"
            + " least(TIMESTAMPTZ '" + detected.toInstant() + "' - interval '1 minute',"
            + " (SELECT updated_at FROM operations.customers WHERE customer_id = 8) - interval '1 second'))",
        "INSERT INTO operations.products SELECT * FROM saved_product",
        "INSERT INTO operations.orders (order_id, customer_id, status, order_date, delivery_date)"
            + " VALUES (90001, " + customer + ", 'pending', current_date, current_date + 2)",
        "INSERT INTO operations.order_items (order_item_id, order_id, product_id, quantity, unit_price)"
            + " VALUES (90001, 90001, " + product + ", 2, 3.50)");
    assertTrue(AcmeLakehouses.count(db, "SELECT count(*) FROM operations.customers WHERE customer_id = " + customer
        + " AND updated_at < (SELECT max(updated_at) FROM operations.customers)") == 1, "a late commit");
    succeeded(runAll(spec));

    for (String[] member : List.of(new String[] {"dim_customer", "customer_id", Long.toString(customer)},
        new String[] {"dim_product", "product_id", Long.toString(product)})) {
      List<List<Object>> rows = sql("SELECT valid_from, valid_to, is_current, is_deleted FROM delta.`%s` WHERE %s = %s"
          + " ORDER BY valid_from", gold(lh, member[0]), member[1], member[2]);
      List<Object> revived = rows.get(rows.size() - 1);
      List<Object> tombstone = rows.get(rows.size() - 2);
      assertEquals(List.of(true, false), revived.subList(2, 4), member[0] + " " + member[2] + ": " + rows);
      assertEquals(List.of(false, true), tombstone.subList(2, 4), member[0] + " " + member[2] + ": " + rows);
      assertEquals(1, rows.stream().filter(r -> r.get(2).equals(true)).count(), member[0] + ": one current row " + rows);
      assertEquals(micros(tombstone.get(0)) + 1, micros(revived.get(0)),
          member[0] + " " + member[2] + ": the revived version opens 1 µs after the tombstone " + rows);
      assertEquals(revived.get(0), tombstone.get(1), "the tombstone ends where the revived version starts");
    }
    assertEquals(List.of(List.of("Nice", "Returning Rita")), sql("SELECT city, name FROM delta.`%s` WHERE customer_id = %d"
        + " AND is_current", gold(lh, "dim_customer"), customer));
    assertEquals(List.of(List.of(true, true)), sql("""
        SELECT c.is_current, p.is_current FROM delta.`%s` f
        JOIN delta.`%s` c ON c.customer_sk = f.customer_sk JOIN delta.`%s` p ON p.product_sk = f.product_sk
        WHERE f.order_item_id = 90001""", gold(lh, "fact_order_items"), gold(lh, "dim_customer"),
        gold(lh, "dim_product")), "a fact placed after the return points at the returned versions");
    AcmeChecks.assertGoldAgrees(db, spec);
  }

  private static long micros(Object timestamp) {
    java.time.Instant instant = ((Timestamp) timestamp).toInstant();
    return instant.getEpochSecond() * 1_000_000 + instant.getNano() / 1_000;
  }

  private static long version(String path) {
    return Commits.version(spark, path).orElseThrow();
  }

  /** Every Delta table under a root and its version. */
  private static Map<String, Long> versions(Path root) {
    Map<String, Long> versions = new java.util.TreeMap<>();
    for (String layer : List.of("bronze", "silver", "gold", "quarantine", "_control")) {
      java.io.File[] tables = root.resolve(layer).toFile().listFiles();
      if (tables == null) {
        continue;
      }
      for (java.io.File table : tables) {
        if (new java.io.File(table, "_delta_log").isDirectory()) {
          versions.put(layer + "." + table.getName(), version(table.getPath()));
        }
      }
    }
    return versions;
  }

  /** After the simulated day (deletes, tombstones, quarantined items, late commits): a run with nothing new. */
  @Test
  void aRunWithoutSourceChangesWritesOnlyTheRunLog() {
    Built lh = fork(AcmeLakehouses.day1().built(), "unchanged");
    Map<String, Long> before = versions(lh.root());
    RunResult run = succeeded(runAll(lh.spec()));
    Map<String, Long> after = versions(lh.root());
    assertTrue(after.get("_control.runs") > before.get("_control.runs"), "the run is logged");
    assertEquals(before.get("_control.runs") + 1, after.get("_control.runs"), "in one commit for the whole run");
    after.remove("_control.runs");
    before.remove("_control.runs");
    assertEquals(before, after, "no table but _control/runs gets a commit");
    for (TableRun table : run.tables()) {
      assertEquals(0, table.rowsWritten(), table.toString());
    }
  }

  /**
   * A product gets a version dated back into its order history: the fact MERGE touches exactly
   * that product's items placed since (re-keyed to the new version), and fact_orders, which has no
   * product, is not written at all.
   */
  @Test
  void aChangeToOneProductRecomputesOnlyThatProductsFacts() {
    Built lh = fork(AcmeLakehouses.day0(), "one-product");
    String db = lh.database();
    // The product with the most items, and the creation time of its middle order.
    long product = AcmeLakehouses.count(db, "SELECT product_id FROM operations.order_items GROUP BY product_id"
        + " ORDER BY count(*) DESC, product_id LIMIT 1");
    String middle = AcmeLakehouses.query(db, "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY o.created_at)::text"
        + " FROM operations.order_items i JOIN operations.orders o USING (order_id) WHERE i.product_id = " + product)
        .get(0).get(0).toString();
    long moved = AcmeLakehouses.count(db, "SELECT count(*) FROM operations.order_items i JOIN operations.orders o"
        + " USING (order_id) WHERE i.product_id = " + product + " AND o.created_at >= TIMESTAMPTZ '" + middle + "'");
    assertTrue(AcmeLakehouses.count(db, "SELECT count(*) FROM operations.products WHERE product_id = " + product
        + " AND updated_at < TIMESTAMPTZ '" + middle + "'") == 1, "the new version is newer than the stored one");
    String facts = gold(lh, "fact_order_items");
    long itemsVersion = version(facts);
    long ordersVersion = version(gold(lh, "fact_orders"));

    executeIn(db, "UPDATE operations.products SET name = name || ' II', updated_at = TIMESTAMPTZ '" + middle + "'"
        + " WHERE product_id = " + product);
    RunResult run = succeeded(runAll(lh.spec()));

    TableRun items = run.of(Stage.GOLD).stream().filter(t -> t.table().equals("fact_order_items")).findFirst().orElseThrow();
    assertEquals(Map.of("inserted", 0L, "updated", moved, "deleted", 0L), items.counts(), "the run's counts");
    List<List<Object>> history = DeltaTable.forPath(spark, facts).history()
        .where("version > " + itemsVersion)
        .selectExpr("version", "operation", "operationMetrics['numSourceRows']", "operationMetrics['numTargetRowsUpdated']")
        .collectAsList().stream().map(r -> List.of(r.get(0), r.get(1), r.get(2), r.get(3))).toList();
    assertEquals(List.of(List.of(itemsVersion + 1, "MERGE", Long.toString(moved), Long.toString(moved))), history,
        "one MERGE whose source is the product's re-keyed items only");
    assertEquals(0L, count("""
        SELECT count(*) FROM (SELECT * FROM delta.`%1$s` EXCEPT SELECT * FROM delta.`%1$s` VERSION AS OF %2$d) f
        WHERE order_item_id NOT IN (%3$s)""", facts, itemsVersion,
        String.join(",", AcmeLakehouses.query(db, "SELECT order_item_id FROM operations.order_items WHERE product_id = "
            + product).stream().map(r -> r.get(0).toString()).toList())), "only that product's facts changed");
    assertEquals(ordersVersion, version(gold(lh, "fact_orders")),
        "fact_orders is not written");
    AcmeChecks.assertGoldAgrees(db, lh.spec());
  }

  /** No gold section, then dimensions without facts: bronze and silver (and the dimensions) still run. */
  @Test
  void lessGoldRunsLess() throws Exception {
    Built shared = AcmeLakehouses.day0();
    Built lh = fork(shared, "less-gold");
    deleteRecursively(lh.root().resolve("gold"));
    executeIn(lh.database(), "UPDATE operations.customers SET city = 'Lyon', updated_at = now() WHERE customer_id = 5");

    RunResult noGold = succeeded(runAll(specWithout(lh, "lakehouse.gold")));
    assertTrue(noGold.of(Stage.GOLD).isEmpty(), noGold.tables().toString());
    assertFalse(lh.root().resolve("gold").toFile().exists(), "no gold table is written");
    assertEquals(List.of(List.of("Lyon")), sql("SELECT city FROM delta.`%s` WHERE customer_id = 5",
        silver(lh, "customers")), "silver moved on");

    LakehouseSpec dimensionsOnly = specWithout(lh, "lakehouse.gold.facts", "lakehouse.gold.marts");
    assertTrue(dimensionsOnly.gold().facts().isEmpty() && !dimensionsOnly.gold().dimensions().isEmpty());
    RunResult dimensions = succeeded(runAll(dimensionsOnly));
    assertEquals(List.of("dim_customer", "dim_product"),
        dimensions.of(Stage.GOLD).stream().map(TableRun::table).sorted().toList());
    String[] written = lh.root().resolve("gold").toFile().list();
    java.util.Arrays.sort(written);
    assertEquals(List.of("dim_customer", "dim_product"), List.of(written));
    for (var dimension : dimensionsOnly.gold().dimensions().values()) {
      AcmeChecks.assertDimensionAgreesWithSilver(dimensionsOnly.paths(), dimension);
    }
  }

  /** The shipped configuration for {@code lh} with some paths removed, as if they had never been written. */
  private static LakehouseSpec specWithout(Built lh, String... removed) {
    com.typesafe.config.Config files = com.typesafe.config.ConfigFactory.parseFile(confDir().resolve("local.conf").toFile())
        .withFallback(com.typesafe.config.ConfigFactory.parseFile(confDir().resolve("application.conf").toFile()));
    for (String path : removed) {
      files = files.withoutPath(path);
    }
    com.typesafe.config.Config target = com.typesafe.config.ConfigFactory.parseMap(Map.of(
        "lakehouse.root", lh.root().toString(),
        "lakehouse.source.url", urlOf(lh.database()),
        "lakehouse.source.user", dev.lakehouse.source.EmbeddedSource.SUPERUSER,
        "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"", "2"));
    return dev.lakehouse.spec.LakehouseConfig.of(target.withFallback(files)).spec();
  }
}
