package dev.lakehouse.gold;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.acme.AcmeSimulator;
import dev.lakehouse.bronze.BronzeLoader;
import dev.lakehouse.silver.SilverLoader;
import dev.lakehouse.silver.SilverReconciler;
import dev.lakehouse.testing.LakehouseTestBase;
import dev.lakehouse.testing.Marts;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** The whole pipeline into gold, checked against the source and against SCD2's invariants. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GoldBuilderTest extends LakehouseTestBase {

  private static int runs;

  @BeforeAll
  static void seed() throws Exception {
    try (Connection c = source()) {
      AcmeSeeder.seed(c, "operations", 1);
    }
  }

  private static List<GoldBuilder.TableResult> cycle() {
    String runId = "run-" + ++runs;
    new BronzeLoader(spark, config.source(), config.paths()).load(runId, config.tables())
        .forEach(r -> assertFalse(r.failed(), r.table() + ": " + r.error()));
    new SilverLoader(spark, config.paths()).load(runId, config.tables())
        .forEach(r -> assertFalse(r.failed(), r.table() + ": " + r.error()));
    new SilverReconciler(spark, config.source(), config.paths()).reconcile(runId, config.tables());
    return new GoldBuilder(spark, config).build(runId);
  }

  private static void assertInvariants() {
    for (GoldBuilder.Dimension d : GoldBuilder.dimensions(config).values()) {
      assertEquals(List.of(), Scd2Invariants.check(spark, path("gold", d.table()), d.spec()), d.table());
    }
  }

  @Test
  @Order(1)
  void firstRunBuildsDimensionsFactsAndMartsThatMatchTheSource() {
    cycle();
    Marts.assertEqualTheSource(config.paths());
    assertInvariants();
    assertEquals(sourceCount("SELECT count(*) FROM operations.order_items"),
        count("SELECT count(*) FROM delta.`%s`", path("gold", "fact_order_items")));
    assertEquals(sourceCount("SELECT count(*) FROM operations.customers") + 1,
        count("SELECT count(*) FROM delta.`%s`", path("gold", "dim_customer")), "one version each plus unknown");
    assertEquals(0L, count("SELECT count(*) FROM delta.`%s` WHERE customer_sk = -1 OR product_sk = -1",
        path("gold", "fact_order_items")), "every fact resolves to a real member");
    long days = count("SELECT count(*) FROM delta.`%s`", path("gold", "dim_date"));
    assertEquals(sourceCount("SELECT (max(greatest(order_date, delivery_date)) - min(least(order_date, delivery_date)) + 1)"
        + " FROM operations.orders"), days, "a contiguous calendar over every fact date");
  }

  @Test
  @Order(2)
  void aCustomerWhoMovedTwiceGetsTwoVersionsAtTheSourceChangeTimes() {
    BronzeLoader bronze = new BronzeLoader(spark, config.source(), config.paths());
    sourceExecute("UPDATE operations.customers SET city = 'Lyon', updated_at = now() WHERE customer_id = 5");
    bronze.load("hourly", config.tables(List.of("customers")));
    sourceExecute("UPDATE operations.customers SET city = 'Nice', email = 'fixed@example.org', updated_at = now()"
        + " WHERE customer_id = 5");
    cycle();
    List<List<Object>> history = sql("SELECT city, email, valid_from, valid_to, is_current FROM delta.`%s`"
        + " WHERE customer_id = 5 ORDER BY valid_from", path("gold", "dim_customer"));
    assertEquals(3, history.size(), history.toString());
    assertEquals(List.of("Lyon", "Nice"), List.of(history.get(1).get(0), history.get(2).get(0)));
    assertTrue(history.stream().allMatch(r -> r.get(1).equals("fixed@example.org")), "e-mail is overwritten on every version");
    List<List<Object>> sourceTime = sourceQuery("SELECT updated_at FROM operations.customers WHERE customer_id = 5");
    assertEquals(((java.sql.Timestamp) sourceTime.get(0).get(0)).toInstant(),
        ((java.sql.Timestamp) history.get(2).get(2)).toInstant(), "valid_from is the source change time");
    assertEquals(history.get(1).get(3), history.get(2).get(2), "no gap between versions");
    assertEquals(List.of(false, false, true), history.stream().map(r -> r.get(4)).toList());
    assertInvariants();
    Marts.assertEqualTheSource(config.paths());
  }

  @Test
  @Order(3)
  void aStatusChangeUpdatesTheFactAndAnOrderForAnUnknownCustomerGetsAnInferredMember() {
    sourceExecute(
        "UPDATE operations.orders SET status = 'cancelled', updated_at = now() WHERE order_id = 3",
        "INSERT INTO operations.orders (order_id, customer_id, status, order_date, delivery_date)"
            + " VALUES (90001, 777777, 'pending', current_date, current_date + 1)",
        "INSERT INTO operations.order_items (order_item_id, order_id, product_id, quantity, unit_price)"
            + " VALUES (90001, 90001, 1, 2, 3.50)");
    cycle();
    assertEquals(List.of(List.of("cancelled")),
        sql("SELECT DISTINCT status FROM delta.`%s` WHERE order_id = 3", path("gold", "fact_order_items")));
    List<List<Object>> inferred = sql("SELECT customer_sk, is_inferred, name FROM delta.`%s` WHERE customer_id = 777777",
        path("gold", "dim_customer"));
    assertEquals(1, inferred.size());
    assertEquals(true, inferred.get(0).get(1));
    long sk = (Long) inferred.get(0).get(0);
    assertEquals(sk, count("SELECT customer_sk FROM delta.`%s` WHERE order_id = 90001", path("gold", "fact_orders")));
    Marts.assertEqualTheSource(config.paths());

    // The real customer arrives: the inferred row is completed in place, same key, not versioned.
    sourceExecute("INSERT INTO operations.customers (customer_id, name, email, city, country)"
        + " VALUES (777777, 'Late Larry', 'larry@example.org', 'Oslo', 'Norway')");
    cycle();
    assertEquals(List.of(List.of(sk, false, "Late Larry")), sql(
        "SELECT customer_sk, is_inferred, name FROM delta.`%s` WHERE customer_id = 777777", path("gold", "dim_customer")));
    assertInvariants();
    Marts.assertEqualTheSource(config.paths());
  }

  @Test
  @Order(4)
  void aDeletedCustomerKeepsHistoryAndHasNoCurrentRow() {
    sourceExecute("DELETE FROM operations.customers WHERE customer_id = 9 AND NOT EXISTS"
        + " (SELECT 1 FROM operations.orders WHERE customer_id = 9)");
    long deleted = sourceCount("SELECT count(*) FROM operations.customers WHERE customer_id = 9") == 0 ? 1 : 0;
    cycle();
    if (deleted == 1) {
      assertEquals(List.of(List.of(false, false), List.of(true, false)), sql(
          "SELECT is_deleted, is_current FROM delta.`%s` WHERE customer_id = 9 ORDER BY valid_from", path("gold", "dim_customer")));
    }
    assertInvariants();
  }

  @Test
  @Order(5)
  void aRerunWithoutChangesChangesNothing() {
    List<List<Object>> dims = sql("SELECT * FROM delta.`%s` ORDER BY customer_sk", path("gold", "dim_customer"));
    List<List<Object>> facts = sql("SELECT * FROM delta.`%s` ORDER BY order_item_id", path("gold", "fact_order_items"));
    List<GoldBuilder.TableResult> results = new GoldBuilder(spark, config).build("again");
    results.stream().filter(r -> !r.table().startsWith("mart_")).forEach(r ->
        assertEquals(0, r.inserted() + r.updated() + r.deleted(), r.toString()));
    assertEquals(dims, sql("SELECT * FROM delta.`%s` ORDER BY customer_sk", path("gold", "dim_customer")));
    assertEquals(facts, sql("SELECT * FROM delta.`%s` ORDER BY order_item_id", path("gold", "fact_order_items")));
  }

  @Test
  @Order(6)
  void aSimulatedDayKeepsMartsEqualToTheSource() throws Exception {
    try (Connection c = source()) {
      AcmeSimulator.simulate(c, "operations", 800, 7L);
    }
    cycle();
    Marts.assertEqualTheSource(config.paths());
    assertInvariants();
  }
}
