package dev.lakehouse.control;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** {@code _control/dq_results}: per run, table and rule, how many rows failed and what was done. */
public final class DqResults {

  public static final StructType SCHEMA = new StructType()
      .add("run_id", DataTypes.StringType, false)
      .add("table_name", DataTypes.StringType, false)
      .add("rule", DataTypes.StringType, false)
      .add("action", DataTypes.StringType, false)
      .add("checked_rows", DataTypes.LongType, false)
      .add("failed_rows", DataTypes.LongType, false)
      .add("bronze_batch_from", DataTypes.LongType, false)
      .add("bronze_batch_to", DataTypes.LongType, false)
      .add("checked_at", DataTypes.TimestampType, false);

  public record Result(String table, String rule, String action, long checkedRows, long failedRows,
                       long fromBatch, long toBatch) {}

  private final SparkSession spark;
  private final String path;

  public DqResults(SparkSession spark, String path) {
    this.spark = spark;
    this.path = path;
  }

  /** One commit for a whole run's results. */
  public void append(String runId, List<Result> results) {
    if (results.isEmpty()) {
      return;
    }
    Timestamp now = Timestamp.from(Instant.now());
    List<Row> rows = results.stream().map(r -> RowFactory.create(runId, r.table(), r.rule(), r.action(),
        r.checkedRows(), r.failedRows(), r.fromBatch(), r.toBatch(), now)).toList();
    ControlTables.append(spark, path, SCHEMA, rows);
  }
}
