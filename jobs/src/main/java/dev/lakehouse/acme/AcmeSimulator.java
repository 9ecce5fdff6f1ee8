package dev.lakehouse.acme;

import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * A day of activity on the ACME order system, for exercising incremental extraction: inserts,
 * updates and hard deletes, items whose order does not exist, and late commits.
 *
 * <p>What changes is decided by hashing keys with the seed, so the same seed on the same data
 * touches the same keys in the same ways (provided nothing changed in the 5 minutes before, which
 * decides what late commits may touch); new rows take their keys from the sequences. Timestamps
 * come from the clock: each change sets {@code updated_at} to {@code clock_timestamp()}, and never
 * lower than the row's previous value, so a key changed twice in a run (a customer who moves twice,
 * an order going pending → dispatched → delivered) gets two distinct, increasing times.
 *
 * <p>Late commits are written last, in their own transaction, with {@code updated_at} 1 to 5 minutes
 * older than the moment they become visible, like a transaction that started early and committed
 * late: a reader that kept the highest {@code updated_at} it saw as its watermark misses them.
 * They only touch rows unchanged for 5 minutes, so a row's {@code updated_at} never goes backwards.
 *
 * <p>Each statement commits on its own, like separate application transactions; the late commits
 * share one. The connection's auto-commit setting is restored afterwards; call it with no
 * transaction open, as switching auto-commit on commits one.
 */
public final class AcmeSimulator {

  /**
   * Row changes by kind; the kinds do not overlap. Orphan items are inserts whose order does not
   * exist, late commits are updates that became visible after newer ones.
   */
  public record Summary(int inserted, int updated, int deleted, int orphanItems, int lateCommits) {

    public int total() {
      return inserted + updated + deleted + orphanItems + lateCommits;
    }

    @Override
    public String toString() {
      return total() + " changes: " + inserted + " inserted, " + updated + " updated, " + deleted
          + " deleted, " + orphanItems + " orphan items, " + lateCommits + " late commits";
    }
  }

  /** How many of each change to attempt; the new orders take what the other kinds leave. */
  private record Plan(
      int newCustomers, int orphanItems, int moves, int secondMoves, int renames, int emailFixes,
      int priceChanges, int categoryChanges, int dispatches, int cancellations, int chainedDeliveries,
      int deliveries, int quantityChanges, int itemDeletes, int orderDeletes, int customerDeletes,
      int lateCommits, int newOrders) {

    static Plan of(int changes, long products) {
      int newCustomers = share(changes, 30, 1);
      int orphanItems = share(changes, 5, 1);
      int moves = share(changes, 40, 1);
      int secondMoves = Math.max(1, moves / 10);
      int renames = share(changes, 10, 1);
      int emailFixes = share(changes, 10, 1);
      // The catalogue is small: change at most a quarter of the prices and a tenth of the categories.
      int priceChanges = (int) Math.min(share(changes, 10, 1), Math.max(1, products / 4));
      int categoryChanges = (int) Math.min(share(changes, 5, 1), Math.max(1, products / 10));
      int dispatches = share(changes, 100, 1);
      int cancellations = share(changes, 20, 1);
      int deliveries = share(changes, 100, 1);
      int chainedDeliveries = Math.max(1, deliveries / 5);
      int quantityChanges = share(changes, 20, 1);
      int itemDeletes = share(changes, 5, 1);
      int orderDeletes = share(changes, 2, 1);
      int customerDeletes = share(changes, 1, 1);
      int lateCommits = share(changes, 10, 3);
      // A purged order takes its items (about 3) with it; a new order is about 4 rows with its items.
      int planned = newCustomers + orphanItems + moves + secondMoves + renames + emailFixes + priceChanges
          + categoryChanges + dispatches + cancellations + deliveries + quantityChanges + itemDeletes
          + 4 * orderDeletes + customerDeletes + lateCommits;
      int newOrders = Math.max(1, (changes - planned) / 4);
      return new Plan(newCustomers, orphanItems, moves, secondMoves, renames, emailFixes, priceChanges,
          categoryChanges, dispatches, cancellations, chainedDeliveries, deliveries, quantityChanges,
          itemDeletes, orderDeletes, customerDeletes, lateCommits, newOrders);
    }

    private static int share(int changes, int perMille, int atLeast) {
      return (int) Math.max(atLeast, Math.round(changes * perMille / 1000.0));
    }
  }

  /** A normal change: now, but always after the row's previous change. */
  private static final String NOW = "greatest(clock_timestamp(), %s.updated_at + interval '1 microsecond')";

  /** Rows a late commit may touch: unchanged for longer than the largest lateness. */
  private static final String QUIET = "updated_at < now() - interval '5 minutes'";

  private final Connection connection;
  private final AcmeSql sql;

  private AcmeSimulator(Connection connection, String schema, long seed) {
    this.connection = connection;
    this.sql = new AcmeSql(schema, seed);
  }

  /** Makes about {@code changes} row changes in {@code schema}, chosen by {@code seed}. */
  public static Summary simulate(Connection connection, String schema, int changes, long seed) {
    if (changes < 0) {
      throw new IllegalArgumentException("changes must not be negative, not " + changes);
    }
    try {
      boolean autoCommit = connection.getAutoCommit();
      connection.setAutoCommit(true);
      try {
        return new AcmeSimulator(connection, schema, seed).run(changes);
      } finally {
        connection.setAutoCommit(autoCommit);
      }
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot simulate ACME activity in schema '" + schema + "'", e);
    }
  }

  private Summary run(int changes) throws SQLException {
    if (changes == 0) {
      return new Summary(0, 0, 0, 0, 0);
    }
    try (Statement statement = connection.createStatement()) {
      AcmeSql.installFunctions(statement);
    }
    Plan plan = Plan.of(changes, count("SELECT count(*) FROM {products}"));

    int inserted = insertCustomers(plan.newCustomers());
    inserted += insertOrders(plan.newOrders());
    int orphanItems = insertOrphanItems(plan.orphanItems());

    List<Long> moved = moveCustomers("is_active", null, plan.moves(), 50, NOW.formatted("c"));
    int updated = moved.size();
    updated += moveCustomers("customer_id = ANY(?)", moved, plan.secondMoves(), 60, NOW.formatted("c")).size();
    updated += renameCustomers(plan.renames());
    updated += fixEmailTypos(plan.emailFixes());
    updated += changePrices(plan.priceChanges());
    updated += recategorize(plan.categoryChanges());

    List<Long> dispatched = changeStatus("status = 'pending'", null, "dispatched", plan.dispatches(), 71,
        NOW.formatted("o"));
    updated += dispatched.size();
    updated += changeStatus("status = 'pending'", null, "cancelled", plan.cancellations(), 72,
        NOW.formatted("o")).size();
    updated += changeStatus("status = 'dispatched' AND order_id = ANY(?)", dispatched, "delivered",
        plan.chainedDeliveries(), 73, NOW.formatted("o")).size();
    updated += changeStatus("status = 'dispatched'", null, "delivered",
        plan.deliveries() - plan.chainedDeliveries(), 74, NOW.formatted("o")).size();
    updated += changeQuantities("true", "true", plan.quantityChanges(), 80, NOW.formatted("i"));

    int deleted = deleteItemsOfPendingOrders(plan.itemDeletes());
    deleted += deleteCancelledOrders(plan.orderDeletes());
    deleted += deleteCustomersWithoutOrders(plan.customerDeletes());

    int lateCommits = commitLate(plan.lateCommits());
    return new Summary(inserted, updated, deleted, orphanItems, lateCommits);
  }

  /** New sign-ups; a few mistype their e-mail domain, as in the seed data. */
  private int insertCustomers(int count) throws SQLException {
    return execute("""
        INSERT INTO {customers} (customer_id, name, email, city, country, is_active, created_at, updated_at)
        SELECT customer_id, first_name || ' ' || last_name,
               lower(first_name) || '.' || lower(last_name) || customer_id || '@' || domain,
               {cities}[place], {countries}[place], true, ts, ts
        FROM (
          SELECT g, nextval({customers_seq}) AS customer_id, clock_timestamp() AS ts,
                 {first_names}[1 + pg_temp.acme_draw(g, {seed}, 11, {first_names_count})] AS first_name,
                 {last_names}[1 + pg_temp.acme_draw(g, {seed}, 12, {last_names_count})] AS last_name,
                 CASE WHEN pg_temp.acme_draw(g, {seed}, 13, 100) < 3
                      THEN {typo_domains}[1 + pg_temp.acme_draw(g, {seed}, 14, {typo_domains_count})]
                      ELSE {domains}[1 + pg_temp.acme_draw(g, {seed}, 14, {domains_count})] END AS domain,
                 1 + pg_temp.acme_draw(g, {seed}, 15, {cities_count}) AS place
          FROM generate_series(1, {count}) AS g
        ) AS signup
        ORDER BY g""", "count", count);
  }

  /** Pending orders of active customers, each with 1 to 5 items of active products at today's price. */
  private int insertOrders(int count) throws SQLException {
    long[] rows = counts("""
        WITH customer_pool AS (
          SELECT array_agg(customer_id ORDER BY customer_id) AS ids FROM {customers} WHERE is_active
        ), product_pool AS (
          SELECT array_agg(product_id ORDER BY product_id) AS ids FROM {products} WHERE is_active
        ), new_orders AS (
          INSERT INTO {orders} (order_id, customer_id, status, order_date, delivery_date, created_at, updated_at)
          SELECT n.order_id, cp.ids[1 + pg_temp.acme_draw(n.order_id, {seed}, 21, cardinality(cp.ids))],
                 'pending', n.day, n.day + (1 + pg_temp.acme_draw(n.order_id, {seed}, 22, 7))::integer, n.ts, n.ts
          FROM (
            SELECT g, order_id, ts, (ts AT TIME ZONE 'UTC')::date AS day
            FROM (SELECT g, nextval({orders_seq}) AS order_id, clock_timestamp() AS ts
                  FROM generate_series(1, {count}) AS g) AS placed
          ) AS n
          CROSS JOIN customer_pool AS cp
          ORDER BY n.g
          RETURNING order_id, created_at
        ), new_items AS (
          INSERT INTO {order_items} (order_id, product_id, quantity, unit_price, created_at, updated_at)
          SELECT o.order_id, p.product_id, 1 + pg_temp.acme_draw(o.order_id * 8 + line, {seed}, 25, 3),
                 p.unit_price, o.created_at, o.created_at
          FROM new_orders AS o
          CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.acme_draw(o.order_id, {seed}, 23, 5)) AS line
          CROSS JOIN product_pool AS pp
          JOIN {products} AS p
            ON p.product_id = pp.ids[1 + pg_temp.acme_draw(o.order_id * 8 + line, {seed}, 24, cardinality(pp.ids))]
          ORDER BY o.order_id, line
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM new_orders), (SELECT count(*) FROM new_items)""", "count", count);
    return (int) (rows[0] + rows[1]);
  }

  /**
   * Items whose order never arrived: the order's transaction took a key and failed, its items were
   * committed anyway. The burnt key is beyond every existing order and is never reused.
   */
  private int insertOrphanItems(int count) throws SQLException {
    return execute("""
        WITH product_pool AS (
          SELECT array_agg(product_id ORDER BY product_id) AS ids FROM {products} WHERE is_active
        )
        INSERT INTO {order_items} (order_id, product_id, quantity, unit_price, created_at, updated_at)
        SELECT n.order_id, p.product_id, 1 + pg_temp.acme_draw(n.g, {seed}, 31, 3), p.unit_price, n.ts, n.ts
        FROM (SELECT g, nextval({orders_seq}) AS order_id, clock_timestamp() AS ts
              FROM generate_series(1, {count}) AS g) AS n
        CROSS JOIN product_pool AS pp
        JOIN {products} AS p ON p.product_id = pp.ids[1 + pg_temp.acme_draw(n.g, {seed}, 32, cardinality(pp.ids))]
        ORDER BY n.g""", "count", count);
  }

  /**
   * Customers matching {@code candidates} move to another city (and its country). Purposes
   * {@code purpose} (who) and {@code purpose + 1} (where to) are used.
   */
  private List<Long> moveCustomers(String candidates, List<Long> keys, int count, int purpose, String updatedAt)
      throws SQLException {
    return keys("""
        UPDATE {customers} AS c
        SET city = {cities}[m.place], country = {countries}[m.place], updated_at = {updated_at}
        FROM (
          SELECT customer_id,
                 CASE WHEN {cities}[k] IS NOT DISTINCT FROM city THEN k % {cities_count} + 1 ELSE k END AS place
          FROM (
            SELECT customer_id, city, 1 + pg_temp.acme_draw(customer_id, {seed}, {purpose} + 1, {cities_count}) AS k
            FROM {customers}
            WHERE {candidates}
            ORDER BY pg_temp.acme_rank(customer_id, {seed}, {purpose}), customer_id
            LIMIT {count}
          ) AS chosen
        ) AS m
        WHERE c.customer_id = m.customer_id
        RETURNING c.customer_id""", keys,
        "candidates", candidates, "count", count, "purpose", purpose, "updated_at", updatedAt);
  }

  /** Customers take a new last name (the e-mail address stays). */
  private int renameCustomers(int count) throws SQLException {
    return execute("""
        UPDATE {customers} AS c
        SET name = m.first_name || ' ' || {last_names}[m.last], updated_at = {updated_at}
        FROM (
          SELECT customer_id, first_name,
                 CASE WHEN {last_names}[k] = last_name THEN k % {last_names_count} + 1 ELSE k END AS last
          FROM (
            SELECT customer_id, split_part(name, ' ', 1) AS first_name, split_part(name, ' ', 2) AS last_name,
                   1 + pg_temp.acme_draw(customer_id, {seed}, 54, {last_names_count}) AS k
            FROM {customers}
            ORDER BY pg_temp.acme_rank(customer_id, {seed}, 53), customer_id
            LIMIT {count}
          ) AS chosen
        ) AS m
        WHERE c.customer_id = m.customer_id""", "count", count, "updated_at", NOW.formatted("c"));
  }

  /** Customers correct a mistyped e-mail domain. */
  private int fixEmailTypos(int count) throws SQLException {
    return execute("""
        UPDATE {customers} AS c
        SET email = split_part(c.email, '@', 1) || '@'
                    || {typo_fixes}[array_position({typo_domains}, split_part(c.email, '@', 2))],
            updated_at = {updated_at}
        WHERE c.customer_id IN (
          SELECT customer_id FROM {customers}
          WHERE split_part(email, '@', 2) = ANY({typo_domains})
          ORDER BY pg_temp.acme_rank(customer_id, {seed}, 55), customer_id
          LIMIT {count})""", "count", count, "updated_at", NOW.formatted("c"));
  }

  /** Price changes of 1% to 15% either way, to the cent. */
  private int changePrices(int count) throws SQLException {
    return execute("""
        UPDATE {products} AS p
        SET unit_price = greatest(0.49, round(p.unit_price * (100 + m.percent) / 100, 2)), updated_at = {updated_at}
        FROM (
          SELECT product_id, CASE WHEN d < 15 THEN d - 15 ELSE d - 14 END AS percent
          FROM (
            SELECT product_id, pg_temp.acme_draw(product_id, {seed}, 66, 30) AS d
            FROM {products}
            ORDER BY pg_temp.acme_rank(product_id, {seed}, 65), product_id
            LIMIT {count}
          ) AS chosen
        ) AS m
        WHERE p.product_id = m.product_id""", "count", count, "updated_at", NOW.formatted("p"));
  }

  /** Products moved to another category. */
  private int recategorize(int count) throws SQLException {
    return execute("""
        UPDATE {products} AS p
        SET category = {categories}[m.place], updated_at = {updated_at}
        FROM (
          SELECT product_id,
                 CASE WHEN {categories}[k] IS NOT DISTINCT FROM category THEN k % {categories_count} + 1
                      ELSE k END AS place
          FROM (
            SELECT product_id, category, 1 + pg_temp.acme_draw(product_id, {seed}, 68, {categories_count}) AS k
            FROM {products}
            ORDER BY pg_temp.acme_rank(product_id, {seed}, 67), product_id
            LIMIT {count}
          ) AS chosen
        ) AS m
        WHERE p.product_id = m.product_id""", "count", count, "updated_at", NOW.formatted("p"));
  }

  /** Orders matching {@code candidates} (a status, so only forward moves) change to {@code status}. */
  private List<Long> changeStatus(String candidates, List<Long> keys, String status, int count, int purpose,
      String updatedAt) throws SQLException {
    return keys("""
        UPDATE {orders} AS o
        SET status = {status}, updated_at = {updated_at}
        WHERE o.order_id IN (
          SELECT order_id FROM {orders}
          WHERE {candidates}
          ORDER BY pg_temp.acme_rank(order_id, {seed}, {purpose}), order_id
          LIMIT {count})
        RETURNING o.order_id""", keys,
        "candidates", candidates, "status", AcmeSql.literal(status), "count", count, "purpose", purpose,
        "updated_at", updatedAt);
  }

  /**
   * In some pending orders (matching {@code orderCandidates}), one item (matching
   * {@code itemCandidates}) gets one more or one fewer. Purposes {@code purpose} (which orders),
   * {@code purpose + 1} (which item) and {@code purpose + 2} (more or fewer) are used.
   */
  private int changeQuantities(String orderCandidates, String itemCandidates, int count, int purpose,
      String updatedAt) throws SQLException {
    return execute("""
        UPDATE {order_items} AS i
        SET quantity = CASE WHEN i.quantity > 1 AND pg_temp.acme_draw(i.order_item_id, {seed}, {purpose} + 2, 2) = 0
                            THEN i.quantity - 1 ELSE i.quantity + 1 END,
            updated_at = {updated_at}
        WHERE i.order_item_id IN (
          SELECT DISTINCT ON (order_id) order_item_id FROM {order_items}
          WHERE {item_candidates} AND order_id IN (
            SELECT order_id FROM {orders} WHERE status = 'pending' AND {order_candidates}
            ORDER BY pg_temp.acme_rank(order_id, {seed}, {purpose}), order_id
            LIMIT {count})
          ORDER BY order_id, pg_temp.acme_rank(order_item_id, {seed}, {purpose} + 1), order_item_id)""",
        "order_candidates", orderCandidates, "item_candidates", itemCandidates, "count", count,
        "purpose", purpose, "updated_at", updatedAt);
  }

  /** Customers drop the last item they added to a pending order of several items. */
  private int deleteItemsOfPendingOrders(int count) throws SQLException {
    return execute("""
        DELETE FROM {order_items}
        WHERE order_item_id IN (
          SELECT max(order_item_id) FROM {order_items}
          WHERE order_id IN (
            SELECT o.order_id FROM {orders} AS o
            WHERE o.status = 'pending'
              AND (SELECT count(*) FROM {order_items} AS i WHERE i.order_id = o.order_id) > 1
            ORDER BY pg_temp.acme_rank(o.order_id, {seed}, 91), o.order_id
            LIMIT {count})
          GROUP BY order_id)""", "count", count);
  }

  /** Cancelled orders purged, with their items. */
  private int deleteCancelledOrders(int count) throws SQLException {
    return (int) counts("""
        WITH purged AS (
          SELECT order_id FROM {orders}
          WHERE status = 'cancelled'
          ORDER BY pg_temp.acme_rank(order_id, {seed}, 92), order_id
          LIMIT {count}
        ), items AS (
          DELETE FROM {order_items} WHERE order_id IN (SELECT order_id FROM purged) RETURNING 1
        ), orders AS (
          DELETE FROM {orders} WHERE order_id IN (SELECT order_id FROM purged) RETURNING 1
        )
        SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM orders)""", "count", count)[0];
  }

  /** Accounts closed by customers who never ordered. */
  private int deleteCustomersWithoutOrders(int count) throws SQLException {
    return execute("""
        DELETE FROM {customers}
        WHERE customer_id IN (
          SELECT customer_id FROM {customers} AS c
          WHERE NOT EXISTS (SELECT 1 FROM {orders} AS o WHERE o.customer_id = c.customer_id)
          ORDER BY pg_temp.acme_rank(customer_id, {seed}, 93), customer_id
          LIMIT {count})""", "count", count);
  }

  /**
   * One transaction, committed after everything else, whose changes carry times 1 to 5 minutes in
   * the past: customers moving, orders dispatched and item quantities changed, about a third each.
   */
  private int commitLate(int count) throws SQLException {
    connection.setAutoCommit(false);
    try {
      int changed = moveCustomers(QUIET, null, (count + 2) / 3, 110, late("c", "customer_id", 115)).size();
      changed += changeStatus("status = 'pending' AND " + QUIET, null, "dispatched", (count + 1) / 3, 120,
          late("o", "order_id", 125)).size();
      changed += changeQuantities(QUIET, QUIET, count / 3, 130, late("i", "order_item_id", 135));
      connection.commit();
      return changed;
    } catch (SQLException | RuntimeException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(true);
    }
  }

  /** A time 1 to 5 minutes (to the microsecond) before this transaction started. */
  private String late(String alias, String key, int purpose) {
    return sql.render("now() - (60000000 + pg_temp.acme_draw({alias}.{key}, {seed}, {purpose}, 240000001))"
        + " * interval '1 microsecond'", "alias", alias, "key", key, "purpose", purpose);
  }

  private long count(String template) throws SQLException {
    return counts(template)[0];
  }

  /** The single row of a query, as numbers. */
  private long[] counts(String template, Object... values) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql.render(template, values))) {
      rs.next();
      long[] row = new long[rs.getMetaData().getColumnCount()];
      for (int i = 0; i < row.length; i++) {
        row[i] = rs.getLong(i + 1);
      }
      return row;
    }
  }

  private int execute(String template, Object... values) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      return statement.executeUpdate(sql.render(template, values));
    }
  }

  /** Runs a statement returning keys; {@code keys}, if given, is bound to its one {@code ?}. */
  private List<Long> keys(String template, List<Long> keys, Object... values) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql.render(template, values))) {
      if (keys != null) {
        statement.setArray(1, connection.createArrayOf("bigint", keys.toArray()));
      }
      List<Long> result = new ArrayList<>();
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          result.add(rs.getLong(1));
        }
      }
      return result;
    }
  }
}
