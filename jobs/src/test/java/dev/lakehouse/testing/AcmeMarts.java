package dev.lakehouse.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.lakehouse.spec.LakehousePaths;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * ACME's four marts checked against the business questions asked directly of the source
 * (PostgreSQL schema {@code operations}): the pipeline test, the cluster run and the S3 run all
 * use the same answers.
 */
public final class AcmeMarts {

  /** Each mart's question asked directly of the source, columns in the mart's order. */
  public static final Map<String, String> SOURCE_SQL = Map.of(
      "mart_open_orders_by_delivery_date_status", """
          SELECT o.delivery_date, o.status, count(*), coalesce(sum(t.items), 0), coalesce(sum(t.amount), 0)
          FROM operations.orders o LEFT JOIN (SELECT order_id, count(*) AS items, sum(quantity * unit_price) AS amount
            FROM operations.order_items GROUP BY order_id) t USING (order_id)
          WHERE o.status IN ('pending', 'dispatched') GROUP BY o.delivery_date, o.status""",
      "mart_pending_items_by_product", """
          SELECT i.product_id, p.name, p.category, sum(i.quantity), count(DISTINCT i.order_id), sum(i.quantity * i.unit_price)
          FROM operations.order_items i JOIN operations.orders o USING (order_id)
          LEFT JOIN operations.products p ON p.product_id = i.product_id
          WHERE o.status = 'pending' GROUP BY i.product_id, p.name, p.category""",
      "mart_top_customers_pending_orders", """
          SELECT o.customer_id, c.name, c.city, count(*), coalesce(sum(t.amount), 0), rank() OVER (ORDER BY count(*) DESC)
          FROM operations.orders o LEFT JOIN operations.customers c ON c.customer_id = o.customer_id
          LEFT JOIN (SELECT order_id, sum(quantity * unit_price) AS amount FROM operations.order_items GROUP BY order_id) t
            ON t.order_id = o.order_id
          WHERE o.status = 'pending' GROUP BY o.customer_id, c.name, c.city""",
      "mart_top_delivery_dates", """
          SELECT o.delivery_date, to_char(o.delivery_date, 'FMDay'), count(*), coalesce(sum(t.items), 0),
                 rank() OVER (ORDER BY count(*) DESC)
          FROM operations.orders o LEFT JOIN (SELECT order_id, count(*) AS items FROM operations.order_items
            GROUP BY order_id) t USING (order_id)
          WHERE o.status <> 'cancelled' GROUP BY o.delivery_date""");

  private AcmeMarts() {}

  /** Every mart of the lakehouse at {@code paths} holds exactly the answer of the test class's database. */
  public static void assertEqualTheSource(LakehousePaths paths) {
    assertEqualTheSource(LakehouseTestBase.database, paths);
  }

  /** Every mart of the lakehouse at {@code paths} holds exactly {@code database}'s answer, and it is not empty. */
  public static void assertEqualTheSource(String database, LakehousePaths paths) {
    for (Map.Entry<String, String> mart : SOURCE_SQL.entrySet()) {
      List<String> expected = normalize(AcmeLakehouses.query(database, mart.getValue()));
      List<String> actual = normalize(LakehouseTestBase.sql("SELECT * FROM delta.`%s`", paths.gold(mart.getKey())));
      assertFalse(expected.isEmpty(), mart.getKey());
      assertEquals(expected, actual, mart.getKey());
    }
  }

  /** Rows as sorted strings, numbers without trailing zeros, so PostgreSQL and Spark values compare. */
  private static List<String> normalize(List<List<Object>> rows) {
    List<String> result = new ArrayList<>();
    for (List<Object> row : rows) {
      List<String> cells = new ArrayList<>();
      for (Object value : row) {
        if (value instanceof Number n) {
          cells.add(new BigDecimal(n.toString()).stripTrailingZeros().toPlainString());
        } else {
          cells.add(String.valueOf(value));
        }
      }
      result.add(String.join("|", cells));
    }
    result.sort(null);
    return result;
  }
}
