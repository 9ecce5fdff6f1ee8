package dev.lakehouse.acme;

import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Fills the ACME tables with reproducible data: the same scale always gives the same rows, byte for
 * byte, timestamps included. Rows are generated inside PostgreSQL from {@code generate_series} and
 * hashes of the row number, so even millions of rows load in seconds without crossing the wire.
 *
 * <p>At scale S: 100·S customers, max(10, 20·S) products, 500·S orders over the 90 days before
 * {@link #BASE_INSTANT}, and 1 to 5 items per order (about 1,500·S). Keys are 1..n in creation order,
 * and the key sequences continue after them. Statuses are skewed like a live order book: about 25%
 * pending, 20% dispatched, 50% delivered, 5% cancelled. About 3% of e-mail addresses have a mistyped
 * domain, for the simulator to fix. Every item's order exists; gaps come from the simulator.
 */
public final class AcmeSeeder {

  /** Seed data is dated back from this instant, never from the clock, so it is reproducible. */
  public static final Instant BASE_INSTANT = Instant.parse("2026-01-01T00:00:00Z");

  /** Rows loaded per table. */
  public record Counts(long customers, long products, long orders, long orderItems) {

    public long total() {
      return customers + products + orders + orderItems;
    }

    public Map<String, Long> byTable() {
      Map<String, Long> counts = new LinkedHashMap<>();
      counts.put("customers", customers);
      counts.put("products", products);
      counts.put("orders", orders);
      counts.put("order_items", orderItems);
      return counts;
    }

    @Override
    public String toString() {
      return customers + " customers, " + products + " products, " + orders + " orders, "
          + orderItems + " order items";
    }
  }

  private static final long MICROS_PER_DAY = 86_400_000_000L;

  // Seed data has one fixed stream of pseudo-random numbers; the simulator's seeds are separate.
  private static final long SEED = 0;

  private AcmeSeeder() {}

  /**
   * Drops and recreates the four tables in {@code schema} and loads scale {@code scale}, in one
   * transaction: a failure leaves the previous contents in place. The connection's auto-commit
   * setting is restored afterwards; call it with no transaction open, as it commits or rolls back.
   */
  public static Counts seed(Connection connection, String schema, int scale) {
    if (scale < 1) {
      throw new IllegalArgumentException("scale must be at least 1, not " + scale);
    }
    AcmeSql sql = new AcmeSql(schema, SEED);
    try {
      boolean autoCommit = connection.getAutoCommit();
      connection.setAutoCommit(false);
      try (Statement statement = connection.createStatement()) {
        // Sorting the order items and building the indexes fit in memory at scale 1000.
        statement.execute("SET LOCAL work_mem = '256MB'");
        statement.execute("SET LOCAL maintenance_work_mem = '512MB'");
        AcmeSql.installFunctions(statement);
        AcmeSchema.drop(connection, schema);
        AcmeSchema.createTables(connection, schema);
        long customers = statement.executeUpdate(customers(sql, 100L * scale));
        long products = statement.executeUpdate(products(sql, Math.max(10L, 20L * scale)));
        long orders = statement.executeUpdate(orders(sql, 500L * scale, customers));
        long items = statement.executeUpdate(orderItems(sql, products));
        AcmeSchema.createIndexes(connection, schema);
        // Keys were given explicitly; new rows must continue after them.
        statement.execute(sql.render("""
            SELECT setval({customers_seq}, (SELECT max(customer_id) FROM {customers})),
                   setval({products_seq}, (SELECT max(product_id) FROM {products})),
                   setval({orders_seq}, (SELECT max(order_id) FROM {orders})),
                   setval({order_items_seq}, (SELECT max(order_item_id) FROM {order_items}))"""));
        for (String table : AcmeSchema.TABLES) {
          statement.execute(sql.render("ANALYZE {" + table + "}"));
        }
        connection.commit();
        return new Counts(customers, products, orders, items);
      } catch (SQLException | RuntimeException e) {
        connection.rollback();
        throw e;
      } finally {
        connection.setAutoCommit(autoCommit);
      }
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot seed the ACME tables in schema '" + schema + "'", e);
    }
  }

  /**
   * Customers joined between 730 and 90 days before the base instant, keys in joining order.
   * 40% changed something since; 4% are inactive.
   */
  private static String customers(AcmeSql sql, long count) {
    return sql.render("""
        INSERT INTO {customers} (customer_id, name, email, city, country, is_active, created_at, updated_at)
        SELECT i,
               first_name || ' ' || last_name,
               lower(first_name) || '.' || lower(last_name) || i || '@' || domain,
               {cities}[place], {countries}[place],
               pg_temp.acme_draw(i, {seed}, 5, 100) >= 4,
               {base} - created_before * interval '1 microsecond',
               {base} - (created_before - CASE WHEN pg_temp.acme_draw(i, {seed}, 6, 100) < 40
                                               THEN pg_temp.acme_draw(i, {seed}, 7, created_before)
                                               ELSE 0 END) * interval '1 microsecond'
        FROM (
          SELECT i,
                 {first_names}[1 + pg_temp.acme_draw(i, {seed}, 1, {first_names_count})] AS first_name,
                 {last_names}[1 + pg_temp.acme_draw(i, {seed}, 2, {last_names_count})] AS last_name,
                 CASE WHEN pg_temp.acme_draw(i, {seed}, 3, 100) < 3
                      THEN {typo_domains}[1 + pg_temp.acme_draw(i, {seed}, 4, {typo_domains_count})]
                      ELSE {domains}[1 + pg_temp.acme_draw(i, {seed}, 4, {domains_count})] END AS domain,
                 1 + pg_temp.acme_draw(i, {seed}, 8, {cities_count}) AS place,
                 {oldest} - (i - 1) * {step} - pg_temp.acme_draw(i, {seed}, 9, {step}) AS created_before
          FROM generate_series(1, {count}::bigint) AS i
        ) AS c""",
        "count", count, "oldest", 730 * MICROS_PER_DAY, "step", 640 * MICROS_PER_DAY / count);
  }

  /**
   * Products added between 1000 and 120 days before the base instant; the SKU carries the category
   * it was created in. Half have changed since; 8% are discontinued.
   */
  private static String products(AcmeSql sql, long count) {
    return sql.render("""
        INSERT INTO {products} (product_id, sku, name, category, unit_price, is_active, created_at, updated_at)
        SELECT i,
               upper(left({noun_categories}[kind], 3)) || '-' || lpad(i::text, 6, '0'),
               {adjectives}[1 + pg_temp.acme_draw(i, {seed}, 21, {adjectives_count})] || ' ' || {nouns}[kind],
               {noun_categories}[kind],
               round((99 + pg_temp.acme_draw(i, {seed}, 22, 29900)) / 100.0, 2),
               pg_temp.acme_draw(i, {seed}, 23, 100) >= 8,
               {base} - created_before * interval '1 microsecond',
               {base} - (created_before - CASE WHEN pg_temp.acme_draw(i, {seed}, 24, 100) < 50
                                               THEN pg_temp.acme_draw(i, {seed}, 25, created_before)
                                               ELSE 0 END) * interval '1 microsecond'
        FROM (
          SELECT i,
                 1 + pg_temp.acme_draw(i, {seed}, 26, {nouns_count}) AS kind,
                 {oldest} - (i - 1) * {step} - pg_temp.acme_draw(i, {seed}, 27, {step}) AS created_before
          FROM generate_series(1, {count}::bigint) AS i
        ) AS p""",
        "count", count, "oldest", 1000 * MICROS_PER_DAY, "step", 880 * MICROS_PER_DAY / count);
  }

  /**
   * Orders placed over the 90 days before the base instant, keys in placing order. The delivery date
   * is the promised one, 1 to 7 days after the order date. updated_at is the last status change:
   * none for pending, up to 2 days later for dispatched, 7 for delivered, 1 for cancelled, and never
   * after the base instant.
   */
  private static String orders(AcmeSql sql, long count, long customers) {
    return sql.render("""
        INSERT INTO {orders} (order_id, customer_id, status, order_date, delivery_date, created_at, updated_at)
        SELECT i, customer_id, status, order_date,
               order_date + (1 + pg_temp.acme_draw(i, {seed}, 33, 7))::integer,
               created_at,
               created_at + CASE status
                              WHEN 'pending' THEN 0
                              ELSE pg_temp.acme_draw(i, {seed}, 34, least(created_before, CASE status
                                     WHEN 'dispatched' THEN 2 * {day}
                                     WHEN 'delivered' THEN 7 * {day}
                                     ELSE {day} END))
                            END * interval '1 microsecond'
        FROM (
          SELECT i, created_before, placed AS created_at,
                 (placed AT TIME ZONE 'UTC')::date AS order_date,
                 1 + pg_temp.acme_draw(i, {seed}, 31, {customer_count}) AS customer_id,
                 CASE WHEN r < 25 THEN 'pending'
                      WHEN r < 45 THEN 'dispatched'
                      WHEN r < 95 THEN 'delivered'
                      ELSE 'cancelled' END AS status
          FROM (
            SELECT i, created_before, pg_temp.acme_draw(i, {seed}, 32, 100) AS r,
                   {base} - created_before * interval '1 microsecond' AS placed
            FROM (
              SELECT i, {oldest} - (i - 1) * {step} - pg_temp.acme_draw(i, {seed}, 30, {step}) AS created_before
              FROM generate_series(1, {count}::bigint) AS i
            ) AS t
          ) AS r
        ) AS o""",
        "count", count, "customer_count", customers, "day", MICROS_PER_DAY,
        "oldest", 90 * MICROS_PER_DAY, "step", 90 * MICROS_PER_DAY / count);
  }

  /**
   * 1 to 5 items per order, written with the order (same created_at), at the product's price or
   * 10% off. 5% had their quantity changed within the hour after.
   */
  private static String orderItems(AcmeSql sql, long products) {
    return sql.render("""
        INSERT INTO {order_items} (order_item_id, order_id, product_id, quantity, unit_price, created_at, updated_at)
        SELECT row_number() OVER (ORDER BY i.order_id, i.line),
               i.order_id, p.product_id,
               CASE WHEN i.r < 55 THEN 1
                    WHEN i.r < 80 THEN 2
                    WHEN i.r < 92 THEN 3
                    ELSE 4 + pg_temp.acme_draw(i.k, {seed}, 43, 7) END,
               CASE WHEN pg_temp.acme_draw(i.k, {seed}, 44, 100) < 10
                    THEN round(p.unit_price * 0.9, 2) ELSE p.unit_price END,
               i.created_at,
               i.created_at + CASE WHEN pg_temp.acme_draw(i.k, {seed}, 45, 100) < 5
                                   THEN pg_temp.acme_draw(i.k, {seed}, 46, least(3600000000,
                                          (extract(epoch FROM {base} - i.created_at) * 1000000)::bigint))
                                   ELSE 0 END * interval '1 microsecond'
        FROM (
          SELECT o.order_id, o.created_at, line, o.order_id * 8 + line AS k,
                 pg_temp.acme_draw(o.order_id * 8 + line, {seed}, 42, 100) AS r
          FROM {orders} AS o
          CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.acme_draw(o.order_id, {seed}, 40, 5)) AS line
        ) AS i
        JOIN {products} AS p ON p.product_id = 1 + pg_temp.acme_draw(i.k, {seed}, 41, {product_count})""",
        "product_count", products);
  }
}
