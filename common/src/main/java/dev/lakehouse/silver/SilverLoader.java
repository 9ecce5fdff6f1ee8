package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.array_compact;
import static org.apache.spark.sql.functions.array_contains;
import static org.apache.spark.sql.functions.arrays_overlap;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.config.LakehousePaths;
import dev.lakehouse.config.TableSpec;
import dev.lakehouse.control.BatchCommits;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.DqResults;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.quality.Action;
import dev.lakehouse.quality.Rule;
import dev.lakehouse.quality.RuleContext;
import dev.lakehouse.quality.Rules;
import io.delta.tables.DeltaTable;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies new bronze batches to {@code <root>/silver/<table>}: one current, conformed row per
 * key with {@code _updated_at}, {@code _batch_id}, {@code _is_deleted}, {@code _deleted_at} and
 * {@code _row_hash}.
 *
 * <p>Exactly once: silver's MERGE commit records the last bronze batch it applied (commit
 * metadata, plus Delta's idempotent-DML transaction), and each run applies the recorded bronze
 * batches after it. A crash before the commit leaves silver as it was; after it, the next run
 * finds nothing new. Quarantine appends are idempotent the same way.
 */
public final class SilverLoader {

  private static final Logger LOG = LoggerFactory.getLogger(SilverLoader.class);
  public static final String JOB = "silver";

  public record TableResult(String table, long fromBatch, long toBatch, long rowsIn, long inserted, long updated,
                            long deleted, long quarantined, RunLog.Status status, String error) {
    public boolean failed() {
      return status == RunLog.Status.FAILED;
    }
  }

  private final SparkSession spark;
  private final LakehousePaths paths;
  private final Watermarks watermarks;
  private final RunLog runLog;
  private final DqResults dqResults;

  public SilverLoader(SparkSession spark, LakehousePaths paths) {
    this.spark = spark;
    this.paths = paths;
    this.watermarks = new Watermarks(spark, paths.control("watermarks"));
    this.runLog = new RunLog(spark, paths.control("runs"));
    this.dqResults = new DqResults(spark, paths.control("dq_results"));
  }

  /** Applies every table, parents first; rule results and the run log are written once, at the end. */
  public List<TableResult> load(String runId, List<TableSpec> tables) {
    Map<String, Watermarks.Watermark> bronze = watermarks.readAll();
    List<TableResult> results = new ArrayList<>();
    List<RunLog.Entry> entries = new ArrayList<>();
    List<DqResults.Result> dq = new ArrayList<>();
    try {
      for (TableSpec table : TableOrder.parentsFirst(tables)) {
        Instant started = Instant.now();
        TableResult result = applyTable(runId, table, Optional.ofNullable(bronze.get(table.name())), dq);
        results.add(result);
        entries.add(new RunLog.Entry(runId, JOB, result.table(), result.toBatch(), result.rowsIn(),
            result.inserted() + result.updated() + result.deleted(), started, Instant.now(), result.status(),
            result.error()));
      }
    } finally {
      dqResults.append(runId, dq);
      runLog.appendAll(entries);
    }
    return results;
  }

  TableResult applyTable(String runId, TableSpec table, Optional<Watermarks.Watermark> bronze,
                         List<DqResults.Result> dq) {
    String silverPath = paths.silver(table.name());
    long applied = BatchCommits.lastBatch(spark, silverPath);
    long available = bronze.map(Watermarks.Watermark::batchId).orElse(0L);
    if (available <= applied) {
      LOG.info("silver {}: up to date with bronze batch {}", table.name(), applied);
      return new TableResult(table.name(), applied, applied, 0, 0, 0, 0, 0, RunLog.Status.SUCCEEDED, null);
    }
    Dataset<Row> evaluated = null;
    try {
      Conformer conformer = Conformer.from(table.config());
      List<Rule> rules = Rules.from(table.name(), table.config());
      List<String> keys = table.primaryKey().stream().map(conformer::silverName).toList();

      Dataset<Row> batch = batchRows(table, applied, available);
      Dataset<Row> conformed = withHash(conformer.apply(batch).drop("_ingested_at", "_source"));

      Map<String, String> lookupFlags = new HashMap<>();
      Dataset<Row> withLookups = withRelationshipLookups(conformed, rules, lookupFlags);
      RuleContext context = rule -> lookupFlags.get(rule.name());
      Column[] failures = rules.stream()
          .filter(r -> !(r instanceof Rule.Freshness))
          .map(r -> when(r.fails(context), lit(r.name())))
          .toArray(Column[]::new);
      evaluated = withLookups
          .withColumn("_failed_rules", failures.length == 0
              ? array().cast("array<string>") : array_compact(array(failures)))
          .drop(lookupFlags.values().toArray(String[]::new))
          .persist(StorageLevel.MEMORY_AND_DISK());

      String[] quarantineRules = rules.stream().filter(r -> r.action() == Action.QUARANTINE)
          .map(Rule::name).toArray(String[]::new);
      Column quarantined = quarantineRules.length == 0 ? lit(false)
          : arrays_overlap(col("_failed_rules"), array(java.util.Arrays.stream(quarantineRules).map(n -> lit(n)).toArray(Column[]::new)));
      Map<Rule, Long> failed = new LinkedHashMap<>();
      long[] totals = countFailures(evaluated, rules, quarantined, bronze, failed);
      long rowsIn = totals[0];
      long toQuarantine = totals[1];
      failed.forEach((rule, n) -> dq.add(new DqResults.Result(table.name(), rule.name(),
          rule.action().name().toLowerCase(), rowsIn, n, applied + 1, available)));
      failed.forEach((rule, n) -> {
        if (n > 0 && rule.action() == Action.WARN) {
          LOG.warn("silver {}: {} failed for {} rows (warn)", table.name(), rule.name(), n);
        }
      });
      List<String> stopping = failed.entrySet().stream()
          .filter(e -> e.getKey().action() == Action.FAIL && e.getValue() > 0)
          .map(e -> e.getKey().name() + " failed for " + e.getValue() + " rows").toList();
      if (!stopping.isEmpty()) {
        throw new LakehouseException("quality rule " + String.join(", ", stopping) + " (action fail); nothing of bronze batches "
            + (applied + 1) + ".." + available + " was committed");
      }

      long quarantinedRows = toQuarantine == 0 ? 0 : quarantine(runId, table, evaluated.where(quarantined), available);
      CrashPoints.reach("silver.after-quarantine");

      Dataset<Row> source = evaluated.withColumn("_apply", not(quarantined)).drop("_failed_rules");
      MergeCounts counts = merge(runId, table, keys, source, silverPath, available);
      CrashPoints.reach("silver.after-merge");

      LOG.info("silver {}: bronze batches {}..{}: {} rows in, {} inserted, {} updated, {} deleted, {} quarantined",
          table.name(), applied + 1, available, rowsIn, counts.inserted(), counts.updated(), counts.deleted(), quarantinedRows);
      return new TableResult(table.name(), applied + 1, available, rowsIn, counts.inserted(),
          counts.updated(), counts.deleted(), quarantinedRows, RunLog.Status.SUCCEEDED, null);
    } catch (Exception e) {
      String message = e instanceof LakehouseException ? e.getMessage()
          : e.getClass().getSimpleName() + ": " + dev.lakehouse.source.SourceDatabase.firstLine(e.getMessage());
      LOG.error("silver {} failed: {}", table.name(), message);
      LOG.debug("silver {} failure detail", table.name(), e);
      return new TableResult(table.name(), applied + 1, available, 0, 0, 0, 0, 0, RunLog.Status.FAILED, message);
    } finally {
      if (evaluated != null) {
        evaluated.unpersist();
      }
    }
  }

  /**
   * The rows to apply: for a full table the newest snapshot only (it is complete); for an
   * incremental table the latest version per key across the new batches, by cursor, then
   * ingestion.
   */
  private Dataset<Row> batchRows(TableSpec table, long applied, long available) {
    Dataset<Row> bronze = spark.read().format("delta").load(paths.bronze(table.name()));
    Column changeTime = table.cursor().map(c -> col(c)).orElse(col("_ingested_at"));
    Dataset<Row> rows = table.incremental()
        ? bronze.where(col("_batch_id").gt(applied).and(col("_batch_id").leq(available)))
        : bronze.where(col("_batch_id").equalTo(available));
    Column[] keys = table.primaryKey().stream().map(k -> col(k)).toArray(Column[]::new);
    // The same key twice in one snapshot, or twice at the same change time, is a duplicate key
    // in the source: applying either copy would be a guess.
    Column[] version = java.util.stream.Stream.concat(java.util.Arrays.stream(keys),
        table.incremental() ? java.util.stream.Stream.of(changeTime) : java.util.stream.Stream.empty())
        .toArray(Column[]::new);
    Dataset<Row> ranked = rows.withColumn("_updated_at", changeTime)
        .withColumn("_copies", org.apache.spark.sql.functions.count(lit(1)).over(Window.partitionBy(version)))
        .withColumn("_rank", row_number().over(Window.partitionBy(keys)
            .orderBy(changeTime.desc_nulls_last(), col("_ingested_at").desc(), col("_batch_id").desc())));
    long duplicated = ranked.where(col("_copies").gt(1)).select(keys).distinct().count();
    if (duplicated > 0) {
      throw new LakehouseException(duplicated + " keys of " + table.name() + " (" + String.join(", ", table.primaryKey())
          + ") appear more than once in bronze batches " + (applied + 1) + ".." + available
          + "; the source has duplicate keys; nothing was committed");
    }
    return ranked.where(col("_rank").equalTo(1)).drop("_rank", "_copies");
  }

  /** A hash of the business columns, so "something changed" is one comparison. */
  private static Dataset<Row> withHash(Dataset<Row> rows) {
    Column[] business = java.util.Arrays.stream(rows.columns())
        .filter(c -> !c.startsWith("_"))
        .map(c -> col(c))
        .toArray(Column[]::new);
    return rows.withColumn("_row_hash", sha2(to_json(struct(business)), 256));
  }

  private Dataset<Row> withRelationshipLookups(Dataset<Row> rows, List<Rule> rules, Map<String, String> flags) {
    Dataset<Row> result = rows;
    int index = 0;
    for (Rule rule : rules) {
      if (!(rule instanceof Rule.Relationship relationship)) {
        continue;
      }
      String flag = "_rel_" + index++;
      String parentPath = paths.silver(relationship.toTable());
      if (!DeltaTable.isDeltaTable(spark, parentPath)) {
        throw new LakehouseException(rule.name() + ": silver." + relationship.toTable() + " does not exist yet");
      }
      Dataset<Row> parentKeys = spark.read().format("delta").load(parentPath)
          .select(col(relationship.toColumn()).as(flag)).distinct();
      result = result.join(parentKeys, col(relationship.column()).equalTo(col(flag)), "left");
      flags.put(rule.name(), flag);
    }
    return result;
  }

  /**
   * One aggregation for everything the run needs to know before it writes: rows in, rows to
   * quarantine, and failures per rule (into {@code failed}).
   */
  private long[] countFailures(Dataset<Row> evaluated, List<Rule> rules, Column quarantined,
                               Optional<Watermarks.Watermark> bronze, Map<Rule, Long> failed) {
    List<Rule> rowRules = rules.stream().filter(r -> !(r instanceof Rule.Freshness)).toList();
    List<Column> sums = new ArrayList<>();
    sums.add(sum(when(quarantined, 1).otherwise(0)));
    rowRules.forEach(r -> sums.add(sum(when(array_contains(col("_failed_rules"), r.name()), 1).otherwise(0))));
    Row row = evaluated.agg(org.apache.spark.sql.functions.count(lit(1)), sums.toArray(Column[]::new)).first();
    for (int i = 0; i < rowRules.size(); i++) {
      failed.put(rowRules.get(i), row.isNullAt(i + 2) ? 0L : row.getLong(i + 2));
    }
    for (Rule rule : rules) {
      if (rule instanceof Rule.Freshness freshness) {
        Optional<Instant> newest = newestChange(evaluated, bronze);
        boolean stale = newest.map(n -> Duration.between(n, Instant.now()).compareTo(freshness.maxAge()) > 0).orElse(true);
        failed.put(rule, stale ? 1L : 0L);
      }
    }
    return new long[] {row.getLong(0), row.isNullAt(1) ? 0 : row.getLong(1)};
  }

  /** The age of the newest cursor: the bronze watermark, or for full tables the snapshot's newest change. */
  private Optional<Instant> newestChange(Dataset<Row> evaluated, Optional<Watermarks.Watermark> bronze) {
    Optional<Instant> watermark = bronze.flatMap(Watermarks.Watermark::watermark);
    if (watermark.isPresent()) {
      return watermark;
    }
    Row row = evaluated.agg(org.apache.spark.sql.functions.max("_updated_at")).first();
    return row.isNullAt(0) ? Optional.empty() : Optional.of(row.getTimestamp(0).toInstant());
  }

  private long quarantine(String runId, TableSpec table, Dataset<Row> rows, long available) {
    Dataset<Row> tagged = rows.withColumn("_run_id", lit(runId))
        .withColumn("_quarantined_at", lit(Timestamp.from(Instant.now())));
    tagged.write().format("delta").mode("append")
        .option("mergeSchema", "true")
        .option("txnAppId", BatchCommits.appId("quarantine", table.name()))
        .option("txnVersion", available)
        .option("userMetadata", BatchCommits.metadata("quarantine", table.name(), available, runId))
        .save(paths.table(LakehousePaths.QUARANTINE, table.name()));
    long count = BatchCommits.last(spark, paths.table(LakehousePaths.QUARANTINE, table.name()))
        .map(c -> c.metric("numOutputRows")).orElse(0L);
    LOG.warn("silver {}: {} rows quarantined", table.name(), count);
    return count;
  }

  private record MergeCounts(long inserted, long updated, long deleted) {}

  private MergeCounts merge(String runId, TableSpec table, List<String> keys, Dataset<Row> source,
                            String silverPath, long available) {
    List<StructField> columns = new ArrayList<>();
    for (StructField field : source.schema().fields()) {
      if (!field.name().equals("_apply")) {
        columns.add(field);
      }
    }
    prepareTable(table, silverPath, columns);

    Map<String, String> assignments = new LinkedHashMap<>();
    for (StructField field : columns) {
      assignments.put("`" + field.name() + "`", "s.`" + field.name() + "`");
    }
    assignments.put("_is_deleted", "false");
    assignments.put("_deleted_at", "CAST(NULL AS TIMESTAMP)");
    String on = String.join(" AND ", keys.stream().map(k -> "t.`" + k + "` = s.`" + k + "`").toList());

    var merge = DeltaTable.forPath(spark, silverPath).as("t")
        .merge(source.as("s"), on)
        .whenMatched("s._apply AND (t._is_deleted OR s._row_hash <> t._row_hash) AND s._updated_at >= t._updated_at")
        .updateExpr(assignments)
        .whenNotMatched("s._apply")
        .insertExpr(assignments);
    if (!table.incremental()) {
      // A full snapshot is complete: a live key it lacks was deleted in the source.
      Timestamp observed = spark.read().format("delta").load(paths.bronze(table.name()))
          .where(col("_batch_id").equalTo(available)).agg(org.apache.spark.sql.functions.max("_ingested_at"))
          .first().getTimestamp(0);
      merge = merge.whenNotMatchedBySource("NOT t._is_deleted").updateExpr(Map.of(
          "_is_deleted", "true",
          "_deleted_at", observed == null ? "current_timestamp()" : "TIMESTAMP '" + observed.toInstant() + "'",
          "_batch_id", Long.toString(available)));
    }
    withCommitTags(JOB, table.name(), available, runId, merge::execute);
    BatchCommits.Commit commit = BatchCommits.last(spark, silverPath).orElseThrow();
    return new MergeCounts(commit.metric("numTargetRowsInserted"),
        commit.metric("numTargetRowsMatchedUpdated"),
        commit.metric("numTargetRowsNotMatchedBySourceUpdated"));
  }

  /**
   * Creates silver on first use; afterwards adds new source columns (older rows read NULL) and
   * refuses a column whose type changed, before anything is written.
   */
  private void prepareTable(TableSpec table, String silverPath, List<StructField> columns) {
    if (!DeltaTable.isDeltaTable(spark, silverPath)) {
      var builder = DeltaTable.createIfNotExists(spark).location(silverPath)
          .property("delta.enableChangeDataFeed", "true");
      for (StructField field : columns) {
        builder = builder.addColumn(field.name(), field.dataType());
      }
      builder.addColumn("_is_deleted", org.apache.spark.sql.types.DataTypes.BooleanType)
          .addColumn("_deleted_at", org.apache.spark.sql.types.DataTypes.TimestampType)
          .execute();
      return;
    }
    Map<String, DataType> existing = new HashMap<>();
    for (StructField field : spark.read().format("delta").load(silverPath).schema().fields()) {
      existing.put(field.name(), field.dataType());
    }
    List<String> added = new ArrayList<>();
    for (StructField field : columns) {
      DataType current = existing.get(field.name());
      if (current == null) {
        added.add("`" + field.name() + "` " + field.dataType().sql());
      } else if (!current.equals(field.dataType())) {
        throw new LakehouseException("Column " + field.name() + " of " + table.name() + " changed type from "
            + current.simpleString() + " to " + field.dataType().simpleString()
            + "; silver." + table.name() + " is left untouched");
      }
    }
    if (!added.isEmpty()) {
      spark.sql("ALTER TABLE delta.`" + silverPath + "` ADD COLUMNS (" + String.join(", ", added) + ")");
      LOG.warn("silver {}: new source columns {}", table.name(), added);
    }
  }

  /** Runs a DML statement as one tagged, idempotent commit (Delta's txnAppId/txnVersion). */
  public static void withCommitTags(String layer, String table, long batch, String runId, Runnable dml) {
    withCommitTags(layer, table, batch, runId, true, dml);
  }

  /**
   * Runs a DML statement as one commit tagged with the batch; when {@code idempotent}, Delta also
   * skips it if this layer already committed that batch to the table.
   */
  public static void withCommitTags(String layer, String table, long batch, String runId, boolean idempotent,
                                    Runnable dml) {
    SparkSession spark = SparkSession.active();
    var conf = spark.conf();
    conf.set("spark.databricks.delta.commitInfo.userMetadata", BatchCommits.metadata(layer, table, batch, runId));
    if (idempotent) {
      conf.set("spark.databricks.delta.write.txnAppId", BatchCommits.appId(layer, table));
      conf.set("spark.databricks.delta.write.txnVersion", Long.toString(batch));
    }
    try {
      dml.run();
    } finally {
      conf.unset("spark.databricks.delta.commitInfo.userMetadata");
      conf.unset("spark.databricks.delta.write.txnAppId");
      conf.unset("spark.databricks.delta.write.txnVersion");
    }
  }

}
