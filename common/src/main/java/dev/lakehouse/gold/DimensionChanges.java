package dev.lakehouse.gold;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.config.LakehousePaths;
import dev.lakehouse.config.TableSpec;
import dev.lakehouse.control.GoldProgress.Position;
import dev.lakehouse.silver.Conformer;
import io.delta.tables.DeltaTable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;

/**
 * What a Type 2 dimension must apply between two gold runs. Versions come from bronze, which
 * holds every version the source showed (silver keeps only the latest per key); they are
 * conformed as silver conforms them, less the rows silver quarantined. Deletes come from silver's
 * change data feed, where soft deletes appear with their {@code _deleted_at}.
 */
final class DimensionChanges {

  private DimensionChanges() {}

  static Dataset<Row> between(SparkSession spark, LakehousePaths paths, TableSpec source, Scd2Spec spec,
                              Position from, Position to) {
    Conformer conformer = Conformer.from(source.config());
    String cursor = conformer.silverName(source.cursor().orElseThrow(() -> new LakehouseException(
        "gold dimension " + spec.name() + " needs lakehouse.tables." + source.name() + ".cursor (its change time)")));
    List<String> keys = spec.naturalKey();
    List<Column> columns = new ArrayList<>();
    keys.forEach(k -> columns.add(col("`" + k + "`")));
    spec.attributes().forEach(a -> columns.add(col("`" + a + "`")));

    Dataset<Row> bronze = spark.read().format("delta").load(paths.bronze(source.name()))
        .where(col("_batch_id").gt(from.bronzeBatch()).and(col("_batch_id").leq(to.bronzeBatch())));
    Dataset<Row> conformed = conformer.apply(bronze);
    String quarantine = paths.table(LakehousePaths.QUARANTINE, source.name());
    if (DeltaTable.isDeltaTable(spark, quarantine)) {
      List<String> identity = new ArrayList<>(keys);
      identity.add("_batch_id");
      identity.add(cursor);
      Dataset<Row> held = spark.read().format("delta").load(quarantine)
          .select(identity.stream().map(c -> col("`" + c + "`")).toArray(Column[]::new)).distinct();
      conformed = conformed.join(held, identity.toArray(String[]::new), "left_anti");
    }
    List<Column> versionColumns = new ArrayList<>(columns);
    versionColumns.add(col("`" + cursor + "`").as(Scd2Columns.CHANGE_TIME));
    versionColumns.add(lit(false).as(Scd2Columns.DELETE_EVENT));
    versionColumns.add(col("_batch_id"));
    Column[] version = java.util.stream.Stream.concat(keys.stream().map(k -> col("`" + k + "`")),
        java.util.stream.Stream.of(col(Scd2Columns.CHANGE_TIME))).toArray(Column[]::new);
    // A full table lands the same version in every snapshot: one row per (key, change time).
    Dataset<Row> versions = conformed.select(versionColumns.toArray(Column[]::new))
        .withColumn("_rank", row_number().over(Window.partitionBy(version).orderBy(col("_batch_id").desc())))
        .where(col("_rank").equalTo(1))
        .drop("_rank", "_batch_id");

    if (to.silverVersion() <= from.silverVersion()) {
      return versions;
    }
    String silver = paths.silver(source.name());
    Dataset<Row> feed = from.silverVersion() < 0
        ? spark.read().format("delta").load(silver)
        : spark.read().format("delta").option("readChangeFeed", "true")
            .option("startingVersion", from.silverVersion() + 1)
            .option("endingVersion", to.silverVersion())
            .load(silver)
            .where(col("_change_type").isin("insert", "update_postimage"));
    List<Column> deleteColumns = new ArrayList<>(columns);
    deleteColumns.add(col("_deleted_at").as(Scd2Columns.CHANGE_TIME));
    deleteColumns.add(lit(true).as(Scd2Columns.DELETE_EVENT));
    Dataset<Row> deletes = feed.where(col("_is_deleted")).select(deleteColumns.toArray(Column[]::new));
    return versions.unionByName(deletes);
  }
}
