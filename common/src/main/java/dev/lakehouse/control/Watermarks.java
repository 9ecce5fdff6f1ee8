package dev.lakehouse.control;

import io.delta.tables.DeltaTable;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code _control/watermarks}: per source table, the last bronze batch recorded and, for
 * incremental tables, the highest cursor value extracted so far. One row per table.
 */
public final class Watermarks {

  public static final StructType SCHEMA = new StructType()
      .add("table_name", DataTypes.StringType, false)
      .add("batch_id", DataTypes.LongType, false)
      .add("watermark", DataTypes.TimestampType, true)
      .add("run_id", DataTypes.StringType, false)
      .add("updated_at", DataTypes.TimestampType, false);

  /** What bronze has recorded for one table. {@code watermark} is empty for full-mode tables. */
  public record Watermark(String table, long batchId, Optional<Instant> watermark, String runId) {}

  private final SparkSession spark;
  private final String path;

  public Watermarks(SparkSession spark, String path) {
    this.spark = spark;
    this.path = path;
  }

  public Optional<Watermark> read(String table) {
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return Optional.empty();
    }
    List<Row> rows = spark.read().format("delta").load(path)
        .where(org.apache.spark.sql.functions.col("table_name").equalTo(table))
        .collectAsList();
    if (rows.isEmpty()) {
      return Optional.empty();
    }
    Row row = rows.get(0);
    Timestamp watermark = row.getAs("watermark");
    return Optional.of(new Watermark(table, row.<Long>getAs("batch_id"),
        Optional.ofNullable(watermark).map(Timestamp::toInstant), row.getAs("run_id")));
  }

  /** Replaces the table's row in one Delta commit. */
  public void record(Watermark watermark) {
    ControlTables.createIfAbsent(spark, path, SCHEMA);
    Dataset<Row> update = spark.createDataFrame(List.of(RowFactory.create(
        watermark.table(), watermark.batchId(),
        watermark.watermark().map(Timestamp::from).orElse(null),
        watermark.runId(), Timestamp.from(Instant.now()))), SCHEMA);
    DeltaTable.forPath(spark, path).as("w")
        .merge(update.as("u"), "w.table_name = u.table_name")
        .whenMatched().updateAll()
        .whenNotMatched().insertAll()
        .execute();
  }
}
