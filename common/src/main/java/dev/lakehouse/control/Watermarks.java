package dev.lakehouse.control;

import dev.lakehouse.bronze.CursorValue;
import dev.lakehouse.spark.SparkTimes;
import io.delta.tables.DeltaTable;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code _control/watermarks}: per source table, the bronze batches recorded and, for incremental
 * tables, the highest cursor value extracted so far ({@code cursor}, typed as {@code kind:value};
 * {@code watermark} is the same as a UTC timestamp for time cursors, for people and notebooks).
 * Append-only: each run adds a row per table it recorded, and a table's watermark is its row with
 * the highest batch. An append is one small commit that reads nothing; replacing rows in place
 * (MERGE or overwrite) costs Delta a scan of the table's state first, on every run. The rows
 * left behind are the watermark's history.
 */
public final class Watermarks {

  public static final StructType SCHEMA = new StructType()
      .add("table_name", DataTypes.StringType, false)
      .add("batch_id", DataTypes.LongType, false)
      .add("watermark", DataTypes.TimestampType, true)
      .add("run_id", DataTypes.StringType, false)
      .add("updated_at", DataTypes.TimestampType, false)
      .add("cursor", DataTypes.StringType, true);

  /** What bronze has recorded for one table. {@code cursor} is empty for full-mode tables. */
  public record Watermark(String table, long batchId, Optional<CursorValue> cursor, String runId) {}

  private final SparkSession spark;
  private final String path;
  private final ZoneId sourceZone;

  public Watermarks(SparkSession spark, String path, ZoneId sourceZone) {
    this.spark = spark;
    this.path = path;
    this.sourceZone = sourceZone;
  }

  public Optional<Watermark> read(String table) {
    return Optional.ofNullable(readAll().get(table));
  }

  /** Every table's current watermark (its latest batch), in one read. */
  public Map<String, Watermark> readAll() {
    Map<String, Watermark> all = new HashMap<>();
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return all;
    }
    boolean typed = java.util.Arrays.asList(spark.read().format("delta").load(path).columns()).contains("cursor");
    for (Row row : spark.sql(currentSql(path, typed)).collectAsList()) {
      String table = row.getAs("table_name");
      String encoded = row.getAs("cursor");
      Timestamp legacy = row.getAs("watermark");
      Optional<CursorValue> cursor = encoded != null ? Optional.of(CursorValue.decode(encoded))
          : Optional.ofNullable(legacy).map(t -> new CursorValue.TimestampTz(SparkTimes.instant(t)));
      all.put(table, new Watermark(table, row.<Long>getAs("batch_id"), cursor, row.getAs("run_id")));
    }
    return all;
  }

  /** Records these tables' watermarks in one Delta commit. */
  public void recordAll(List<Watermark> watermarks) {
    if (watermarks.isEmpty()) {
      return;
    }
    Timestamp now = Timestamp.from(Instant.now());
    ControlTables.append(spark, path, SCHEMA, watermarks.stream().map(w -> RowFactory.create(
        w.table(), w.batchId(),
        w.cursor().flatMap(c -> c.instant(sourceZone)).orElse(null),
        w.runId(), now, w.cursor().map(CursorValue::encode).orElse(null))).toList());
  }

  /** The current watermarks, one row per table: each table's row with the highest batch. */
  public static String currentSql(String path) {
    return currentSql(path, true);
  }

  private static String currentSql(String path, boolean typed) {
    return "SELECT table_name, max(batch_id) AS batch_id, max_by(watermark, batch_id) AS watermark,"
        + " max_by(run_id, batch_id) AS run_id, "
        + (typed ? "max_by(cursor, batch_id)" : "CAST(NULL AS STRING)") + " AS cursor"
        + " FROM delta.`" + path.replace("`", "``") + "` GROUP BY table_name";
  }
}
