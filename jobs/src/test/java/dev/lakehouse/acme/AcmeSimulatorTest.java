package dev.lakehouse.acme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the simulator on identically seeded schemas: {@code sim} and {@code twin} with the same seed,
 * {@code other} with another. A test-only trigger logs every row change to {@code audit.changes}, so
 * the tests can see what happened between the before and after states, and in what order.
 */
class AcmeSimulatorTest extends LakehouseTestBase {

  private static final Map<String, String> KEYS = Map.of(
      "customers", "customer_id", "products", "product_id",
      "orders", "order_id", "order_items", "order_item_id");
  private static final List<String> INCREMENTAL = List.of("customers", "orders", "order_items");
  private static final int CHANGES = 2000;

  private static AcmeSimulator.Summary sim;
  private static AcmeSimulator.Summary twin;
  private static AcmeSimulator.Summary other;

  @BeforeAll
  static void simulateOnIdenticalSeeds() throws SQLException {
    sourceExecute("""
        CREATE SCHEMA audit;
        CREATE TABLE audit.changes (
          seq bigserial PRIMARY KEY, schema_name text, table_name text, op text, key bigint, row jsonb);
        CREATE FUNCTION audit.record() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          changed jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
        BEGIN
          INSERT INTO audit.changes (schema_name, table_name, op, key, row)
          VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, (changed ->> TG_ARGV[0])::bigint, changed);
          RETURN NULL;
        END $$""");
    try (Connection c = source()) {
      for (String schema : List.of("sim", "twin", "other")) {
        AcmeSeeder.seed(c, schema, 1);
        audit(schema);
      }
      sourceExecute("CREATE SCHEMA before_sim");
      for (String table : AcmeSchema.TABLES) {
        sourceExecute("CREATE TABLE before_sim." + table + " AS TABLE sim." + table);
      }
      sim = AcmeSimulator.simulate(c, "sim", CHANGES, 42);
      twin = AcmeSimulator.simulate(c, "twin", CHANGES, 42);
      other = AcmeSimulator.simulate(c, "other", CHANGES, 7);
    }
  }

  private static void audit(String schema) {
    for (String table : AcmeSchema.TABLES) {
      sourceExecute("CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON " + schema + "." + table
          + " FOR EACH ROW EXECUTE FUNCTION audit.record('" + KEYS.get(table) + "')");
    }
  }

  private static long audited(String schema, String op) {
    return sourceCount("SELECT count(*) FROM audit.changes WHERE schema_name = '" + schema + "' AND op = '" + op + "'");
  }

  /** Before and after rows of {@code table} in {@code sim}, joined on the key. */
  private static String beforeAfter(String table) {
    return "before_sim." + table + " AS b JOIN sim." + table + " AS a USING (" + KEYS.get(table) + ")";
  }

  @Test
  void makesAboutTheRequestedNumberOfChangesAndCountsThemRight() {
    assertTrue(sim.total() > CHANGES * 0.9 && sim.total() < CHANGES * 1.1, sim.toString());
    assertTrue(sim.inserted() > 0 && sim.updated() > 0 && sim.deleted() > 0, sim.toString());
    assertTrue(sim.orphanItems() > 0 && sim.lateCommits() > 0, sim.toString());
    assertEquals(sim.inserted() + sim.orphanItems(), audited("sim", "INSERT"));
    assertEquals(sim.updated() + sim.lateCommits(), audited("sim", "UPDATE"));
    assertEquals(sim.deleted(), audited("sim", "DELETE"));
    assertTrue(sim.toString().matches("\\d+ changes: \\d+ inserted, \\d+ updated, \\d+ deleted, "
        + "\\d+ orphan items, \\d+ late commits"), sim.toString());
  }

  @Test
  void newRowsTakeNewKeys() {
    assertTrue(sourceCount("SELECT count(*) FROM sim.customers WHERE customer_id > 100") > 0);
    assertTrue(sourceCount("SELECT count(*) FROM sim.orders WHERE order_id > 500") > 0);
    assertTrue(sourceCount("SELECT count(*) FROM sim.order_items i WHERE order_item_id > "
        + "(SELECT max(order_item_id) FROM before_sim.order_items)") > 0);
    assertEquals(0, sourceCount("SELECT count(*) FROM sim.orders o WHERE NOT EXISTS "
        + "(SELECT 1 FROM sim.order_items i WHERE i.order_id = o.order_id)"), "every order keeps an item");
    assertEquals(0, sourceCount("SELECT count(*) FROM sim.orders o WHERE order_id > 500 AND "
        + "(delivery_date - order_date NOT BETWEEN 1 AND 7 OR customer_id NOT IN (SELECT customer_id FROM sim.customers))"));
  }

  @Test
  void orderStatusesOnlyMoveForward() {
    List<List<Object>> moves = sourceQuery("SELECT b.status || '>' || a.status, count(*) FROM "
        + beforeAfter("orders") + " WHERE a.status <> b.status GROUP BY 1 ORDER BY 1");
    List<String> kinds = moves.stream().map(m -> (String) m.get(0)).toList();
    assertTrue(kinds.containsAll(List.of("dispatched>delivered", "pending>cancelled", "pending>dispatched")),
        moves.toString());
    assertTrue(List.of("dispatched>delivered", "pending>cancelled", "pending>delivered", "pending>dispatched")
        .containsAll(kinds), moves.toString());
  }

  @Test
  void customersAndProductsChange() {
    assertTrue(sourceCount("SELECT count(*) FROM " + beforeAfter("customers") + " WHERE a.city <> b.city") > 0);
    assertTrue(sourceCount("SELECT count(*) FROM " + beforeAfter("customers") + " WHERE a.name <> b.name") > 0);
    for (List<Object> place : sourceQuery("SELECT DISTINCT city, country FROM sim.customers")) {
      assertEquals(AcmeSql.COUNTRIES.get(AcmeSql.CITIES.indexOf(place.get(0))), place.get(1), place.toString());
    }
    String typos = " WHERE split_part(email, '@', 2) IN ('exmaple.com', 'example.con', 'exampel.net', 'mial.example')";
    assertTrue(sourceCount("SELECT count(*) FROM before_sim.customers" + typos) > 0);
    assertTrue(sourceCount("SELECT count(*) FROM sim.customers" + typos)
        < sourceCount("SELECT count(*) FROM before_sim.customers" + typos));
    assertTrue(sourceCount("SELECT count(*) FROM " + beforeAfter("products") + " WHERE a.unit_price <> b.unit_price") > 0);
    assertTrue(sourceCount("SELECT count(*) FROM " + beforeAfter("products") + " WHERE a.category <> b.category") > 0);
  }

  @Test
  void rowsAreHardDeleted() {
    // Deleted customers are mostly ones who signed up in this run, so the log is the place to look.
    for (String table : List.of("customers", "orders", "order_items")) {
      String deletions = " FROM audit.changes d WHERE d.schema_name = 'sim' AND d.op = 'DELETE' AND d.table_name = '"
          + table + "'";
      assertTrue(sourceCount("SELECT count(*)" + deletions) > 0, table);
      assertEquals(0, sourceCount("SELECT count(*)" + deletions + " AND EXISTS (SELECT 1 FROM sim." + table
          + " AS t WHERE t." + KEYS.get(table) + " = d.key)"), table + ": deleted rows are gone");
    }
    assertEquals(0, sourceCount("SELECT count(*) FROM audit.changes WHERE schema_name = 'sim' AND op = 'DELETE' "
        + "AND table_name = 'orders' AND row ->> 'status' <> 'cancelled'"), "only cancelled orders are purged");
    assertEquals(0, sourceCount("SELECT count(*) FROM audit.changes d JOIN sim.orders o ON o.customer_id = d.key "
        + "WHERE d.schema_name = 'sim' AND d.op = 'DELETE' AND d.table_name = 'customers'"),
        "only customers without orders are deleted");
  }

  @Test
  void someItemsPointBeyondEveryOrder() {
    assertEquals(sim.orphanItems(), sourceCount("SELECT count(*) FROM sim.order_items i WHERE NOT EXISTS "
        + "(SELECT 1 FROM sim.orders o WHERE o.order_id = i.order_id)"));
    assertEquals(sim.orphanItems(), sourceCount("SELECT count(*) FROM sim.order_items "
        + "WHERE order_id > (SELECT max(order_id) FROM sim.orders)"));
  }

  @Test
  void everyChangeMovesUpdatedAtForward() {
    for (String table : AcmeSchema.TABLES) {
      assertEquals(0, sourceCount("SELECT count(*) FROM sim." + table + " WHERE updated_at < created_at"), table);
      assertEquals(0, sourceCount("SELECT count(*) FROM " + beforeAfter(table)
          + " WHERE to_jsonb(a) - 'updated_at' <> to_jsonb(b) - 'updated_at' AND a.updated_at <= b.updated_at"), table);
      assertEquals(0, sourceCount("SELECT count(*) FROM " + beforeAfter(table)
          + " WHERE to_jsonb(a) - 'updated_at' = to_jsonb(b) - 'updated_at' AND a.updated_at <> b.updated_at"), table);
    }
  }

  @Test
  void theSameSeedMakesTheSameChoices() {
    assertEquals(sim, twin);
    for (String table : AcmeSchema.TABLES) {
      assertEquals(withoutClockValues("sim", table), withoutClockValues("twin", table), table);
      assertNotEquals(withoutClockValues("sim", table), withoutClockValues("other", table), table);
    }
    assertEquals(changeLog("sim"), changeLog("twin"));
    assertNotEquals(changeLog("sim"), changeLog("other"));
  }

  /** A digest of the table without what comes from the clock: timestamps and the dates of new orders. */
  private static String withoutClockValues(String schema, String table) {
    String leadTime = table.equals("orders") ? "t.delivery_date - t.order_date" : "0";
    return (String) sourceQuery("SELECT md5(string_agg((to_jsonb(t) - 'created_at' - 'updated_at' - 'order_date' "
        + "- 'delivery_date')::text || ' ' || (" + leadTime + "), '|' ORDER BY t." + KEYS.get(table) + ")) FROM "
        + schema + "." + table + " AS t").get(0).get(0);
  }

  /** Which keys changed how, in order per key. */
  private static String changeLog(String schema) {
    return (String) sourceQuery("SELECT md5(string_agg(table_name || ' ' || op || ' ' || key, ',' "
        + "ORDER BY table_name, key, seq)) FROM audit.changes WHERE schema_name = '" + schema + "'").get(0).get(0);
  }

  @Test
  void aKeyCanChangeSeveralTimesInOneRun() {
    long customersMovedTwice = sourceCount("""
        SELECT count(*) FROM (
          SELECT key FROM audit.changes
          WHERE schema_name = 'sim' AND table_name = 'customers' AND op = 'UPDATE'
          GROUP BY key
          HAVING count(DISTINCT row ->> 'city') >= 2
             AND count(DISTINCT row ->> 'updated_at') = count(*)) AS moved""");
    assertTrue(customersMovedTwice > 0);
    long ordersDispatchedThenDelivered = sourceCount("""
        SELECT count(*) FROM audit.changes d JOIN audit.changes v USING (schema_name, table_name, key)
        WHERE d.schema_name = 'sim' AND d.table_name = 'orders' AND d.op = 'UPDATE' AND v.op = 'UPDATE'
          AND d.row ->> 'status' = 'dispatched' AND v.row ->> 'status' = 'delivered'
          AND d.seq < v.seq
          AND (d.row ->> 'updated_at')::timestamptz < (v.row ->> 'updated_at')::timestamptz""");
    assertTrue(ordersDispatchedThenDelivered > 0);
  }

  /**
   * What an incremental reader would miss: after one run it keeps the highest updated_at per table as
   * its watermark; rows that the next run changes but dates at or below that watermark are the late
   * commits. Only a look-back catches them.
   */
  @Test
  void lateCommitsLandBehindTheWatermark() throws SQLException {
    AcmeSimulator.Summary second;
    try (Connection c = source()) {
      AcmeSeeder.seed(c, "late", 1);
      AcmeSimulator.simulate(c, "late", 1000, 1);
      sourceExecute("CREATE SCHEMA seen");
      for (String table : INCREMENTAL) {
        sourceExecute("CREATE TABLE seen." + table + " AS SELECT " + KEYS.get(table) + " AS key, updated_at, "
            + "max(updated_at) OVER () AS watermark FROM late." + table);
      }
      second = AcmeSimulator.simulate(c, "late", 1000, 2);
    }
    long missed = 0;
    for (String table : INCREMENTAL) {
      String key = KEYS.get(table);
      String changed = " FROM late." + table + " AS t WHERE NOT EXISTS (SELECT 1 FROM seen." + table
          + " AS s WHERE s.key = t." + key + " AND s.updated_at = t.updated_at)";
      String watermark = "(SELECT max(watermark) FROM seen." + table + ")";
      long behind = sourceCount("SELECT count(*)" + changed + " AND t.updated_at <= " + watermark);
      assertTrue(behind > 0, table);
      assertEquals(0, sourceCount("SELECT count(*)" + changed + " AND t.updated_at <= " + watermark
          + " - interval '6 minutes'"), table + ": late by at most 5 minutes");
      missed += behind;
    }
    assertEquals(second.lateCommits(), missed);
  }
}
