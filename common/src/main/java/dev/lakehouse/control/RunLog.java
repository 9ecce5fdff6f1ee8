package dev.lakehouse.control;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** {@code _control/runs}: one row per job, table and run, appended when the table's work ends. */
public final class RunLog {

  public static final StructType SCHEMA = new StructType()
      .add("run_id", DataTypes.StringType, false)
      .add("job", DataTypes.StringType, false)
      .add("table_name", DataTypes.StringType, false)
      .add("batch_id", DataTypes.LongType, true)
      .add("rows_read", DataTypes.LongType, true)
      .add("rows_written", DataTypes.LongType, true)
      .add("started_at", DataTypes.TimestampType, false)
      .add("ended_at", DataTypes.TimestampType, false)
      .add("status", DataTypes.StringType, false)
      .add("error", DataTypes.StringType, true)
      .add("detail", DataTypes.StringType, true);

  public enum Status { SUCCEEDED, FAILED, RECOVERED }

  /** One table's outcome in one stage of a run; {@code detail} says what a person should know (or null). */
  public record Entry(String runId, String job, String table, Long batchId, Long rowsRead,
                     Long rowsWritten, Instant startedAt, Instant endedAt, Status status, String error, String detail) {

    Row toRow() {
      return RowFactory.create(runId, job, table, batchId, rowsRead, rowsWritten,
          Timestamp.from(startedAt), Timestamp.from(endedAt), status.name().toLowerCase(), error, detail);
    }
  }

  private final SparkSession spark;
  private final String path;

  public RunLog(SparkSession spark, String path) {
    this.spark = spark;
    this.path = path;
  }

  /** How many runs the log holds. */
  public long runs() {
    if (!io.delta.tables.DeltaTable.isDeltaTable(spark, path)) {
      return 0;
    }
    return spark.read().format("delta").load(path).select("run_id").distinct().count();
  }

  /** One commit for a whole run's entries. */
  public void appendAll(List<Entry> entries) {
    if (entries.isEmpty()) {
      return;
    }
    ControlTables.append(spark, path, SCHEMA, entries.stream().map(Entry::toRow).toList());
  }
}
