package dev.lakehouse.gold;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;

import dev.lakehouse.config.LakehousePaths;
import dev.lakehouse.control.BatchCommits;
import dev.lakehouse.control.GoldProgress.Position;
import io.delta.tables.DeltaTable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * ACME's facts: {@code gold.fact_order_items} (one row per order item) and {@code gold.fact_orders}
 * (one row per order), with customer and product keys resolved as of the order time.
 *
 * <p>Incremental: only facts touched since the last gold run are recomputed and MERGEd on their
 * id: items or orders in silver's change feed, and facts of dimension members that changed
 * (a late version may re-key older facts). A fact whose item or order is gone is deleted.
 */
final class OrderFacts {

  static final String ITEMS = "order_items";
  static final String ORDERS = "orders";

  record Counts(String table, long inserted, long updated, long deleted) {}

  private final SparkSession spark;
  private final LakehousePaths paths;

  OrderFacts(SparkSession spark, LakehousePaths paths) {
    this.spark = spark;
    this.paths = paths;
  }

  List<Counts> update(String runId, Map<String, Position> from, Map<String, Position> to, Scd2Merge customers,
                      Scd2Merge products, Dataset<Row> changedCustomers, Dataset<Row> changedProducts) {
    Dataset<Row> items = silver(ITEMS);
    Dataset<Row> orders = silver(ORDERS);
    String itemFacts = paths.gold("fact_order_items");
    String orderFacts = paths.gold("fact_orders");
    boolean everything = !DeltaTable.isDeltaTable(spark, itemFacts) || !DeltaTable.isDeltaTable(spark, orderFacts)
        || from.get(ITEMS).silverVersion() < 0 || from.get(ORDERS).silverVersion() < 0;

    Dataset<Row> changedOrders;
    Dataset<Row> changedItems;
    if (everything) {
      changedOrders = orders.select("order_id");
      changedItems = items.select("order_item_id");
    } else {
      Dataset<Row> orderFeed = feed(ORDERS, from, to).select("order_id");
      Dataset<Row> itemFeed = feed(ITEMS, from, to);
      Dataset<Row> byCustomer = orders.join(changedCustomers, "customer_id").select("order_id");
      changedOrders = orderFeed.union(byCustomer)
          .union(itemFeed.select("order_id"))
          .union(items.join(changedProducts, "product_id").select("order_id"));
      changedItems = itemFeed.select("order_item_id")
          .union(items.join(changedOrders, "order_id").select("order_item_id"));
    }
    changedOrders = changedOrders.distinct().persist(StorageLevel.MEMORY_AND_DISK());
    changedItems = changedItems.distinct().persist(StorageLevel.MEMORY_AND_DISK());
    try {
      Dataset<Row> liveOrders = orders.where(col("_is_deleted").equalTo(false));
      Dataset<Row> liveItems = items.where(col("_is_deleted").equalTo(false));

      Dataset<Row> itemRows = liveItems.join(changedItems, "order_item_id")
          .join(liveOrders.select(col("order_id"), col("customer_id"), col("status"), col("order_date"),
              col("delivery_date"), col("created_at").as("order_time")), "order_id")
          .select(col("order_item_id"), col("order_id"), col("customer_id"), col("product_id"), col("order_time"),
              col("order_date"), col("delivery_date"), col("status"), col("quantity"), col("unit_price"),
              col("quantity").multiply(col("unit_price")).as("line_amount"))
          .persist(StorageLevel.MEMORY_AND_DISK());
      Dataset<Row> orderRows = liveOrders.join(changedOrders, "order_id")
          .join(liveItems.groupBy("order_id").agg(count(lit(1)).as("item_count"),
              sum(col("quantity").multiply(col("unit_price"))).as("total_amount")), List.of("order_id")
              .toArray(String[]::new), "left")
          .select(col("order_id"), col("customer_id"), col("created_at").as("order_time"), col("order_date"),
              col("delivery_date"), col("status"), coalesce(col("item_count"), lit(0L)).as("item_count"),
              coalesce(col("total_amount"), lit(0).cast("decimal(21,2)")).cast("decimal(21,2)").as("total_amount"))
          .persist(StorageLevel.MEMORY_AND_DISK());
      try {
        // Late-arriving members: a fact never waits for its dimension row.
        customers.ensureMembers(itemRows.select("customer_id").union(orderRows.select("customer_id")));
        products.ensureMembers(itemRows.select("product_id"));

        Dataset<Row> itemFactRows = withDateKeys(
            PointInTime.resolve(
                PointInTime.resolve(itemRows, "order_item_id", customers.read(), "customer_sk", "customer_id",
                    "customer_id", "order_time", "customer_sk"),
                "order_item_id", products.read(), "product_sk", "product_id", "product_id", "order_time", "product_sk"))
            .select("order_item_id", "order_id", "customer_sk", "product_sk", "order_date_key", "delivery_date_key",
                "status", "quantity", "unit_price", "line_amount", "order_time");
        Dataset<Row> orderFactRows = withDateKeys(PointInTime.resolve(orderRows, "order_id", customers.read(),
            "customer_sk", "customer_id", "customer_id", "order_time", "customer_sk"))
            .select("order_id", "customer_sk", "order_date_key", "delivery_date_key", "status", "item_count",
                "total_amount", "order_time");

        DateDimension.cover(spark, paths.gold("dim_date"),
            orderRows.select("order_date").union(orderRows.select("delivery_date")));
        Counts itemCounts = merge("fact_order_items", itemFacts, "order_item_id", changedItems, itemFactRows, runId, to);
        Counts orderCounts = merge("fact_orders", orderFacts, "order_id", changedOrders, orderFactRows, runId, to);
        return List.of(itemCounts, orderCounts);
      } finally {
        itemRows.unpersist();
        orderRows.unpersist();
      }
    } finally {
      changedItems.unpersist();
      changedOrders.unpersist();
    }
  }

  private Dataset<Row> silver(String table) {
    return spark.read().format("delta").load(paths.silver(table));
  }

  private Dataset<Row> feed(String table, Map<String, Position> from, Map<String, Position> to) {
    if (to.get(table).silverVersion() <= from.get(table).silverVersion()) {
      return silver(table).limit(0);
    }
    return spark.read().format("delta").option("readChangeFeed", "true")
        .option("startingVersion", from.get(table).silverVersion() + 1)
        .option("endingVersion", to.get(table).silverVersion())
        .load(paths.silver(table));
  }

  private static Dataset<Row> withDateKeys(Dataset<Row> rows) {
    return rows.withColumn("order_date_key", DateDimension.dateKey(col("order_date")))
        .withColumn("delivery_date_key", DateDimension.dateKey(col("delivery_date")));
  }

  /**
   * Upserts the recomputed facts for the touched ids; a touched id with no fact row any more (its
   * item or order was deleted) is deleted. Unchanged facts are left alone.
   */
  private Counts merge(String name, String path, String id, Dataset<Row> touched, Dataset<Row> rows, String runId,
                       Map<String, Position> to) {
    if (!DeltaTable.isDeltaTable(spark, path)) {
      rows.limit(0).write().format("delta").save(path);
    }
    String[] columns = rows.columns();
    Dataset<Row> source = touched.join(rows.withColumn("_present", lit(true)), new String[] {id}, "left")
        .withColumn("_gone", col("_present").isNull())
        .drop("_present");
    Map<String, String> assignments = new LinkedHashMap<>();
    StringBuilder same = new StringBuilder();
    for (String column : columns) {
      assignments.put("`" + column + "`", "s.`" + column + "`");
      same.append(same.length() == 0 ? "" : " AND ").append("t.`").append(column).append("` <=> s.`").append(column).append("`");
    }
    long batch = to.get(ITEMS).bronzeBatch();
    dev.lakehouse.silver.SilverLoader.withCommitTags("gold", name, batch, runId, false, () ->
        DeltaTable.forPath(spark, path).as("t")
            .merge(source.as("s"), "t.`" + id + "` = s.`" + id + "`")
            .whenMatched("s._gone").delete()
            .whenMatched("NOT (" + same + ")").updateExpr(assignments)
            .whenNotMatched("NOT s._gone").insertExpr(assignments)
            .execute());
    BatchCommits.Commit commit = BatchCommits.last(spark, path).orElseThrow();
    return new Counts(name, commit.metric("numTargetRowsInserted"), commit.metric("numTargetRowsUpdated"),
        commit.metric("numTargetRowsDeleted"));
  }
}
