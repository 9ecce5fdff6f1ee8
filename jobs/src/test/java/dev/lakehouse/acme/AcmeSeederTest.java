package dev.lakehouse.acme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AcmeSeederTest extends LakehouseTestBase {

  private static final Map<String, String> KEYS = Map.of(
      "customers", "customer_id", "products", "product_id",
      "orders", "order_id", "order_items", "order_item_id");

  private static AcmeSeeder.Counts seeded;

  @BeforeAll
  static void seedScaleOne() throws SQLException {
    try (Connection c = source()) {
      seeded = AcmeSeeder.seed(c, "operations", 1);
    }
  }

  /** Row count and a digest of every column of every row, in key order. */
  static String contents(String schema, String table) {
    return (String) sourceQuery("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t."
        + KEYS.get(table) + ")), '') FROM \"" + schema + "\"." + table + " AS t").get(0).get(0);
  }

  @Test
  void createIsIdempotentAndBuildsTheIndexes() throws SQLException {
    try (Connection c = source()) {
      AcmeSchema.create(c, "fresh");
      AcmeSchema.create(c, "fresh");
    }
    assertEquals(List.of("customers", "order_items", "orders", "products"), sourceQuery(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'fresh' ORDER BY 1")
        .stream().map(r -> (String) r.get(0)).toList());
    String indexes = sourceQuery("SELECT indexname FROM pg_indexes WHERE schemaname = 'fresh' ORDER BY 1")
        .stream().map(r -> (String) r.get(0)).collect(Collectors.joining(","));
    for (String table : AcmeSchema.TABLES) {
      assertTrue(indexes.contains(table + "_updated_at_idx"), indexes);
      assertTrue(indexes.contains(table + "_created_at_idx"), indexes);
    }
    assertTrue(indexes.contains("order_items_order_id_idx") && indexes.contains("orders_customer_id_idx"), indexes);
    assertEquals(0, sourceCount("""
        SELECT count(*) FROM information_schema.columns
        WHERE table_schema = 'fresh' AND data_type = 'timestamp with time zone' AND is_nullable = 'YES'"""));
    // No foreign keys: the source really has items without an order.
    assertEquals(0, sourceCount("""
        SELECT count(*) FROM information_schema.table_constraints
        WHERE table_schema = 'fresh' AND constraint_type = 'FOREIGN KEY'"""));
    sourceExecute("INSERT INTO fresh.order_items (order_id, product_id, quantity, unit_price) VALUES (999, 1, 1, 1.00)");
    IllegalStateException badStatus = assertThrows(IllegalStateException.class, () ->
        sourceExecute("INSERT INTO fresh.orders (customer_id, status) VALUES (1, 'lost')"));
    assertEquals("23514", ((SQLException) badStatus.getCause()).getSQLState());
  }

  @Test
  void sameScaleGivesIdenticalDataAndAnotherScaleDoesNot() throws SQLException {
    AcmeSeeder.Counts again;
    AcmeSeeder.Counts doubled;
    try (Connection c = source()) {
      again = AcmeSeeder.seed(c, "operations_again", 1);
      doubled = AcmeSeeder.seed(c, "operations_doubled", 2);
    }
    assertEquals(seeded, again);
    for (String table : AcmeSchema.TABLES) {
      assertEquals(contents("operations", table), contents("operations_again", table), table);
      assertNotEquals(contents("operations", table), contents("operations_doubled", table), table);
    }
    assertNotEquals(seeded.byTable(), doubled.byTable());
    assertEquals(200, doubled.customers());
    assertEquals(1000, doubled.orders());
  }

  @Test
  void reseedingReplacesChangedData() throws SQLException {
    try (Connection c = source()) {
      AcmeSeeder.seed(c, "operations_reseeded", 1);
      sourceExecute("DELETE FROM operations_reseeded.orders WHERE order_id <= 10");
      c.setAutoCommit(false);
      AcmeSeeder.seed(c, "operations_reseeded", 1);
      assertFalse(c.getAutoCommit(), "the caller's auto-commit setting is restored");
    }
    assertEquals(contents("operations", "orders"), contents("operations_reseeded", "orders"));
  }

  @Test
  void countsFollowTheScale() {
    assertEquals(100, seeded.customers());
    assertEquals(20, seeded.products());
    assertEquals(500, seeded.orders());
    assertTrue(seeded.orderItems() >= 1300 && seeded.orderItems() <= 1700, seeded.toString());
    for (Map.Entry<String, Long> table : seeded.byTable().entrySet()) {
      assertEquals(table.getValue(), sourceCount("SELECT count(*) FROM operations." + table.getKey()));
    }
    assertEquals(1, sourceCount("SELECT min(order_items) FROM (SELECT count(*) AS order_items "
        + "FROM operations.order_items GROUP BY order_id) AS per_order"));
    assertEquals(5, sourceCount("SELECT max(order_items) FROM (SELECT count(*) AS order_items "
        + "FROM operations.order_items GROUP BY order_id) AS per_order"));
  }

  @Test
  void statusesAreSkewedLikeALiveOrderBook() {
    Map<String, Long> share = sourceQuery("SELECT status, count(*) FROM operations.orders GROUP BY status")
        .stream().collect(Collectors.toMap(r -> (String) r.get(0), r -> ((Number) r.get(1)).longValue()));
    assertEquals(4, share.size(), share.toString());
    assertTrue(share.get("pending") >= 90 && share.get("pending") <= 160, share.toString());
    assertTrue(share.get("dispatched") >= 65 && share.get("dispatched") <= 135, share.toString());
    assertTrue(share.get("delivered") >= 210 && share.get("delivered") <= 290, share.toString());
    assertTrue(share.get("cancelled") >= 8 && share.get("cancelled") <= 45, share.toString());
  }

  @Test
  void datesAndTimestampsAreConsistentAndBeforeTheBaseInstant() {
    for (String table : AcmeSchema.TABLES) {
      assertEquals(0, sourceCount("SELECT count(*) FROM operations." + table
          + " WHERE updated_at < created_at OR updated_at > TIMESTAMPTZ '2026-01-01 00:00:00+00'"), table);
      assertTrue(sourceCount("SELECT count(*) FROM operations." + table + " WHERE updated_at > created_at") > 0, table);
    }
    assertEquals(0, sourceCount("""
        SELECT count(*) FROM operations.orders
        WHERE delivery_date - order_date NOT BETWEEN 1 AND 7
           OR order_date < DATE '2026-01-01' - 91 OR order_date >= DATE '2026-01-01'
           OR order_date <> (created_at AT TIME ZONE 'UTC')::date"""));
    assertEquals(0, sourceCount("""
        SELECT count(*) FROM operations.order_items i
        WHERE NOT EXISTS (SELECT 1 FROM operations.orders o WHERE o.order_id = i.order_id)
           OR NOT EXISTS (SELECT 1 FROM operations.products p WHERE p.product_id = i.product_id)"""));
    assertEquals(0, sourceCount("""
        SELECT count(*) FROM operations.orders o
        WHERE NOT EXISTS (SELECT 1 FROM operations.customers c WHERE c.customer_id = o.customer_id)"""));
    assertEquals(100, sourceCount("SELECT count(*) FROM operations.customers WHERE email ~ '^[a-z]+\\.[a-z]+[0-9]+@'"));
    assertEquals(20, sourceCount("SELECT count(*) FROM operations.products WHERE unit_price > 0 AND sku ~ '^[A-Z]{3}-[0-9]{6}$'"));
  }

  @Test
  void newRowsTakeKeysAfterTheSeededOnes() throws SQLException {
    try (Connection c = source()) {
      AcmeSeeder.seed(c, "keys", 1);
    }
    sourceExecute(
        "INSERT INTO keys.customers (name) VALUES ('New Customer')",
        "INSERT INTO keys.products (sku) VALUES ('NEW-1')",
        "INSERT INTO keys.orders (customer_id, status) VALUES (1, 'pending')",
        "INSERT INTO keys.order_items (order_id) VALUES (501)");
    assertEquals(101, sourceCount("SELECT max(customer_id) FROM keys.customers"));
    assertEquals(21, sourceCount("SELECT max(product_id) FROM keys.products"));
    assertEquals(501, sourceCount("SELECT max(order_id) FROM keys.orders"));
    assertEquals(seeded.orderItems() + 1, sourceCount("SELECT max(order_item_id) FROM keys.order_items"));
  }
}
