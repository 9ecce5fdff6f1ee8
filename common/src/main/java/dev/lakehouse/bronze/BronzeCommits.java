package dev.lakehouse.bronze;

import io.delta.tables.DeltaTable;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * Each bronze commit carries its batch in the Delta commit's user metadata, so the table itself
 * says which batches it holds, whatever happened to the control tables after the commit.
 */
final class BronzeCommits {

  /** How far back the history is searched for our last commit (maintenance commits may follow it). */
  private static final int HISTORY_DEPTH = 50;
  private static final Pattern BATCH = Pattern.compile("\"batch_id\"\\s*:\\s*(\\d+)");
  private static final Pattern RUN = Pattern.compile("\"run_id\"\\s*:\\s*\"([^\"]*)\"");

  record Commit(long version, long batchId, String runId, long rowsWritten) {}

  private BronzeCommits() {}

  static String metadata(String table, long batchId, String runId) {
    return "{\"lakehouse\":\"bronze\",\"table\":\"" + table + "\",\"batch_id\":" + batchId
        + ",\"run_id\":\"" + runId + "\"}";
  }

  static String appId(String table) {
    return "lakehouse-bronze-" + table;
  }

  static Optional<Commit> last(SparkSession spark, String path) {
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
    java.util.Map<String, String> metrics = row.getJavaMap(2);
    long written = metrics == null || metrics.get("numOutputRows") == null ? 0 : Long.parseLong(metrics.get("numOutputRows"));
    return Optional.of(new Commit(row.getLong(0), Long.parseLong(batch.group(1)),
        run.find() ? run.group(1) : "", written));
  }
}
