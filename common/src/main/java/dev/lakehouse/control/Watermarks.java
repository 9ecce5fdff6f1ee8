package dev.lakehouse.control;

import io.delta.tables.DeltaTable;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
    return Optional.ofNullable(readAll().get(table));
  }

  /** Every table's watermark, in one read. */
  public Map<String, Watermark> readAll() {
    Map<String, Watermark> all = new HashMap<>();
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return all;
    }
    for (Row row : spark.read().format("delta").load(path).collectAsList()) {
      Timestamp watermark = row.getAs("watermark");
      String table = row.getAs("table_name");
      all.put(table, new Watermark(table, row.<Long>getAs("batch_id"),
          Optional.ofNullable(watermark).map(Timestamp::toInstant), row.getAs("run_id")));
    }
    return all;
  }

  public void record(Watermark watermark) {
    recordAll(List.of(watermark));
  }

  /** Replaces these tables' rows in one Delta commit. */
  public void recordAll(List<Watermark> watermarks) {
    if (watermarks.isEmpty()) {
      return;
    }
    ControlTables.createIfAbsent(spark, path, SCHEMA);
    Timestamp now = Timestamp.from(Instant.now());
    Dataset<Row> update = spark.createDataFrame(watermarks.stream().map(w -> RowFactory.create(
        w.table(), w.batchId(), w.watermark().map(Timestamp::from).orElse(null), w.runId(), now)).toList(), SCHEMA);
    DeltaTable.forPath(spark, path).as("w")
        .merge(update.as("u"), "w.table_name = u.table_name")
        .whenMatched().updateAll()
        .whenNotMatched().insertAll()
        .execute();
  }
}
