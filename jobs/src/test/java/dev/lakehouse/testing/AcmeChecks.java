package dev.lakehouse.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.gold.Scd2Invariants;
import dev.lakehouse.gold.Scd2Spec;
import dev.lakehouse.spec.DimensionSpec;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.LakehouseSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * What must hold of an ACME lakehouse and its source after any run: the marts equal the questions
 * asked of PostgreSQL, each dimension keeps the SCD2 invariants and agrees with silver key by key,
 * every fact resolves to a real, live member, and the calendar is contiguous.
 */
public final class AcmeChecks {

  private AcmeChecks() {}

  /** Everything below, for the lakehouse {@code spec} built over {@code database}. */
  public static void assertGoldAgrees(String database, LakehouseSpec spec) {
    LakehousePaths paths = spec.paths();
    AcmeMarts.assertEqualTheSource(database, paths);
    for (DimensionSpec dimension : spec.gold().dimensions().values()) {
      assertEquals(List.of(), Scd2Invariants.check(LakehouseTestBase.spark, paths.gold(dimension.table()),
          Scd2Spec.of(dimension)), dimension.table());
      assertDimensionAgreesWithSilver(paths, dimension);
    }
    assertFactsPointAtLiveMembers(paths);
    assertEquals(sourceIds(database, "SELECT i.order_item_id FROM operations.order_items i"
            + " JOIN operations.orders o USING (order_id)"),
        lakehouseIds("SELECT order_item_id FROM delta.`%s`", paths.gold("fact_order_items")),
        "one fact_order_items row per source item whose order exists");
    assertEquals(sourceIds(database, "SELECT order_id FROM operations.orders"),
        lakehouseIds("SELECT order_id FROM delta.`%s`", paths.gold("fact_orders")), "one fact_orders row per order");
    assertCalendarIsContiguous(paths);
  }

  /**
   * For every key: live in silver, exactly one current row with silver's values; deleted in
   * silver, no current row.
   */
  public static void assertDimensionAgreesWithSilver(LakehousePaths paths, DimensionSpec dimension) {
    String key = dimension.naturalKey().get(0);
    List<String> attributes = new ArrayList<>(dimension.tracked());
    attributes.addAll(dimension.overwrite());
    String same = attributes.stream().map(a -> "c.`" + a + "` <=> s.`" + a + "`").collect(Collectors.joining(" AND "));
    List<List<Object>> wrong = LakehouseTestBase.sql("""
        WITH current AS (
          SELECT *, count(*) OVER (PARTITION BY `%1$s`) AS n FROM delta.`%2$s` WHERE is_current)
        SELECT s.`%1$s`, s._is_deleted, c.n, c.valid_from, (%3$s) AS same
        FROM delta.`%4$s` s LEFT JOIN current c ON c.`%1$s` = s.`%1$s`
        WHERE (NOT s._is_deleted AND (c.n IS NULL OR c.n <> 1 OR NOT (%3$s))) OR (s._is_deleted AND c.n IS NOT NULL)
        ORDER BY 1 LIMIT 10""", key, paths.gold(dimension.table()), same, paths.silver(dimension.source()));
    assertEquals(List.of(), wrong, dimension.table() + ": keys whose current row disagrees with silver."
        + dimension.source() + " (key, deleted in silver, current rows, valid_from, same values)");
  }

  /** No fact points at the unknown member, at a tombstone or at a surrogate key the dimension lacks. */
  public static void assertFactsPointAtLiveMembers(LakehousePaths paths) {
    for (String[] ref : List.of(new String[] {"fact_order_items", "customer_sk", "dim_customer"},
        new String[] {"fact_order_items", "product_sk", "dim_product"},
        new String[] {"fact_orders", "customer_sk", "dim_customer"})) {
      List<List<Object>> bad = LakehouseTestBase.sql("""
          SELECT f.%2$s, d.is_deleted, count(*) FROM delta.`%1$s` f LEFT JOIN delta.`%3$s` d ON d.%2$s = f.%2$s
          WHERE f.%2$s = -1 OR d.%2$s IS NULL OR d.is_deleted GROUP BY 1, 2 ORDER BY 1 LIMIT 10""",
          paths.gold(ref[0]), ref[1], paths.gold(ref[2]));
      assertEquals(List.of(), bad, ref[0] + "." + ref[1] + ": facts at the unknown member, a missing key or a tombstone");
    }
  }

  /** One row per day from the earliest to the latest fact date, every fact date in it. */
  public static void assertCalendarIsContiguous(LakehousePaths paths) {
    String calendar = paths.gold("dim_date");
    List<Object> span = LakehouseTestBase.sql("SELECT count(*), count(DISTINCT date_key), datediff(max(date), min(date)) + 1"
        + " FROM delta.`%s`", calendar).get(0);
    assertEquals(span.get(0), span.get(1), "one row per day");
    assertEquals(((Number) span.get(0)).longValue(), ((Number) span.get(2)).longValue(), "no day missing");
    for (String fact : List.of("fact_order_items", "fact_orders")) {
      for (String date : List.of("order_date_key", "delivery_date_key")) {
        assertEquals(0L, LakehouseTestBase.count("SELECT count(*) FROM delta.`%s` f LEFT ANTI JOIN delta.`%s` d"
            + " ON d.date_key = f.%s", paths.gold(fact), calendar, date), fact + "." + date + " outside the calendar");
      }
    }
    assertTrue(((Number) span.get(0)).longValue() > 0, "the calendar is empty");
  }

  private static List<Long> sourceIds(String database, String sql) {
    return AcmeLakehouses.query(database, sql + " ORDER BY 1").stream().map(r -> ((Number) r.get(0)).longValue()).toList();
  }

  private static List<Long> lakehouseIds(String sql, String path) {
    return LakehouseTestBase.sql(sql + " ORDER BY 1", path).stream().map(r -> ((Number) r.get(0)).longValue()).toList();
  }
}
