package dev.lakehouse.silver;


import dev.lakehouse.LakehouseException;
import dev.lakehouse.config.LakehousePaths;
import dev.lakehouse.config.SourceSettings;
import dev.lakehouse.config.TableSpec;
import dev.lakehouse.control.BatchCommits;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.extract.CopyExtraction;
import dev.lakehouse.extract.SourceColumn;
import dev.lakehouse.extract.SourceColumns;
import dev.lakehouse.source.SourceDatabase;
import io.delta.tables.DeltaTable;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds hard deletes of incremental tables, which a cursor never shows: reads only the source's
 * keys (binary COPY of the key columns) and soft-deletes silver's live keys that are gone, in
 * one MERGE per table. A key that comes back later is revived by silver's next apply.
 */
public final class SilverReconciler {

  private static final Logger LOG = LoggerFactory.getLogger(SilverReconciler.class);
  public static final String JOB = "reconcile";

  public record TableResult(String table, long sourceKeys, long deleted, RunLog.Status status, String error) {}

  private final SparkSession spark;
  private final SourceSettings source;
  private final LakehousePaths paths;
  private final RunLog runLog;

  public SilverReconciler(SparkSession spark, SourceSettings source, LakehousePaths paths) {
    this.spark = spark;
    this.source = source;
    this.paths = paths;
    this.runLog = new RunLog(spark, paths.control("runs"));
  }

  public List<TableResult> reconcile(String runId, List<TableSpec> tables) {
    List<TableResult> results = new ArrayList<>();
    for (TableSpec table : tables) {
      if (table.incremental()) {
        results.add(reconcileTable(runId, table));
      }
    }
    return results;
  }

  TableResult reconcileTable(String runId, TableSpec table) {
    Instant started = Instant.now();
    String silverPath = paths.silver(table.name());
    TableResult result;
    try {
      if (!DeltaTable.isDeltaTable(spark, silverPath)) {
        throw new LakehouseException("silver." + table.name() + " does not exist yet; run silver first");
      }
      Conformer conformer = Conformer.from(table.config());
      String qualified = SourceDatabase.qualified(source.schema(), table.sourceTable());
      long deleted;
      long keys;
      try (Connection connection = SourceDatabase.connect(source)) {
        List<SourceColumn> all = SourceColumns.discover(connection, source.schema(), table.sourceTable());
        List<SourceColumn> keyColumns = table.primaryKey().stream()
            .map(k -> all.stream().filter(c -> c.name().equals(k)).findFirst().orElseThrow(() ->
                new LakehouseException("Column " + k + " (primary-key) does not exist in " + qualified)))
            .toList();
        Dataset<Row> sourceKeys = CopyExtraction.read(spark, source, keyColumns,
            List.of("SELECT " + SourceColumns.selectList(keyColumns) + " FROM " + qualified), Optional.empty());
        for (String key : table.primaryKey()) {
          sourceKeys = sourceKeys.withColumnRenamed(key, conformer.silverName(key));
        }
        Dataset<Row> cachedKeys = sourceKeys.cache();
        keys = cachedKeys.count();
        String on = String.join(" AND ", table.primaryKey().stream().map(conformer::silverName)
            .map(k -> "t.`" + k + "` = s.`" + k + "`").toList());
        long batch = BatchCommits.lastBatch(spark, silverPath);
        Timestamp now = Timestamp.from(started);
        // Tagged with the batch silver has applied, so silver's own progress is unchanged; not
        // idempotent by batch, since reconciling again later must run.
        SilverLoader.withCommitTags(SilverLoader.JOB, table.name(), batch, runId, false, () ->
            DeltaTable.forPath(spark, silverPath).as("t")
                .merge(cachedKeys.as("s"), on)
                .whenNotMatchedBySource("NOT t._is_deleted")
                .updateExpr(Map.of("_is_deleted", "true", "_deleted_at", "TIMESTAMP '" + now.toInstant() + "'"))
                .execute());
        cachedKeys.unpersist();
        deleted = BatchCommits.last(spark, silverPath).map(c -> c.metric("numTargetRowsNotMatchedBySourceUpdated")).orElse(0L);
      } catch (SQLException e) {
        throw SourceDatabase.queryError("Cannot read the keys of " + qualified, e);
      }
      result = new TableResult(table.name(), keys, deleted, RunLog.Status.SUCCEEDED, null);
      LOG.info("reconcile {}: {} source keys, {} soft-deleted in silver", table.name(), keys, deleted);
    } catch (LakehouseException e) {
      result = new TableResult(table.name(), 0, 0, RunLog.Status.FAILED, e.getMessage());
      LOG.error("reconcile {} failed: {}", table.name(), e.getMessage());
    }
    runLog.append(new RunLog.Entry(runId, JOB, table.name(), null, result.sourceKeys(), result.deleted(), started,
        Instant.now(), result.status(), result.error()));
    return result;
  }

}
