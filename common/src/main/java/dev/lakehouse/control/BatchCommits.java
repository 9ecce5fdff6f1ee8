package dev.lakehouse.control;

import io.delta.tables.DeltaTable;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * A layer's commits carry the batch they hold (bronze) or have applied (silver, gold) in the
 * Delta commit's user metadata, so each table itself says how far it got, whatever happened to
 * the control tables after its commit.
 */
public final class BatchCommits {

  /** How far back the history is searched for our last commit (maintenance commits may follow it). */
  private static final int HISTORY_DEPTH = 50;
  private static final Pattern BATCH = Pattern.compile("\"batch_id\"\\s*:\\s*(\\d+)");
  private static final Pattern RUN = Pattern.compile("\"run_id\"\\s*:\\s*\"([^\"]*)\"");

  public record Commit(long version, long batchId, String runId, java.util.Map<String, String> metrics) {

    public long metric(String name) {
      String value = metrics == null ? null : metrics.get(name);
      return value == null ? 0 : Long.parseLong(value);
    }
  }

  private BatchCommits() {}

  public static String metadata(String layer, String table, long batchId, String runId) {
    return "{\"lakehouse\":\"" + layer + "\",\"table\":\"" + table + "\",\"batch_id\":" + batchId
        + ",\"run_id\":\"" + runId + "\"}";
  }

  /** The Delta idempotent-write application id of one layer's writes to one table. */
  public static String appId(String layer, String table) {
    return "lakehouse-" + layer + "-" + table;
  }

  /** The highest batch recorded in the table's commits; 0 for a new or untagged table. */
  public static long lastBatch(SparkSession spark, String path) {
    return last(spark, path).map(Commit::batchId).orElse(0L);
  }

  public static Optional<Commit> last(SparkSession spark, String path) {
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return Optional.empty();
    }
    List<Row> rows = DeltaTable.forPath(spark, path).history(HISTORY_DEPTH)
        .where(functions.col("userMetadata").contains("\"batch_id\""))
        .orderBy(functions.col("version").desc())
        .select("version", "userMetadata", "operationMetrics")
        .limit(1)
        .collectAsList();
    if (rows.isEmpty()) {
      return Optional.empty();
    }
    Row row = rows.get(0);
    String metadata = row.getString(1);
    Matcher batch = BATCH.matcher(metadata);
    Matcher run = RUN.matcher(metadata);
    if (!batch.find()) {
      return Optional.empty();
    }
    java.util.Map<String, String> metrics = row.isNullAt(2) ? java.util.Map.of() : row.getJavaMap(2);
    return Optional.of(new Commit(row.getLong(0), Long.parseLong(batch.group(1)),
        run.find() ? run.group(1) : "", metrics));
  }
}
