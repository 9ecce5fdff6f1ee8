package dev.lakehouse.control;

import io.delta.tables.DeltaTable;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code _control/gold_progress}: per silver table, the silver version (and the bronze batch it
 * had applied) that gold has consumed. Gold's writes are idempotent, so a crash between them and
 * this record only means the next run consumes the same changes again, to the same effect.
 */
public final class GoldProgress {

  public static final StructType SCHEMA = new StructType()
      .add("source", DataTypes.StringType, false)
      .add("silver_version", DataTypes.LongType, false)
      .add("bronze_batch", DataTypes.LongType, false)
      .add("run_id", DataTypes.StringType, false)
      .add("updated_at", DataTypes.TimestampType, false);

  /** Consumed up to this silver version, which had applied bronze batches up to this one. */
  public record Position(String source, long silverVersion, long bronzeBatch) {
    public static Position none(String source) {
      return new Position(source, -1, 0);
    }
  }

  private final SparkSession spark;
  private final String path;

  public GoldProgress(SparkSession spark, String path) {
    this.spark = spark;
    this.path = path;
  }

  public Map<String, Position> readAll() {
    Map<String, Position> all = new HashMap<>();
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return all;
    }
    for (Row row : spark.read().format("delta").load(path).collectAsList()) {
      all.put(row.getString(0), new Position(row.getString(0), row.getLong(1), row.getLong(2)));
    }
    return all;
  }

  public void recordAll(List<Position> positions, String runId) {
    if (positions.isEmpty()) {
      return;
    }
    ControlTables.createIfAbsent(spark, path, SCHEMA);
    Timestamp now = Timestamp.from(Instant.now());
    var update = spark.createDataFrame(positions.stream().map(p ->
        RowFactory.create(p.source(), p.silverVersion(), p.bronzeBatch(), runId, now)).toList(), SCHEMA);
    DeltaTable.forPath(spark, path).as("p")
        .merge(update.as("u"), "p.source = u.source")
        .whenMatched().updateAll()
        .whenNotMatched().insertAll()
        .execute();
  }
}
