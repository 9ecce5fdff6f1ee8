package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.bronze.BronzeOps;
import dev.lakehouse.control.Commits;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.quality.Quality;
import dev.lakehouse.quality.Quarantine;
import dev.lakehouse.quality.Rule;
import dev.lakehouse.spark.DeletionVectors;
import dev.lakehouse.spark.TypeWidening;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.TableGraph;
import dev.lakehouse.spec.TableSpec;
import io.delta.tables.DeltaTable;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies new bronze batches to {@code <root>/silver/<table>}: one current, conformed row per key
 * with {@code _updated_at}, {@code _batch_id}, {@code _is_deleted}, {@code _deleted_at} and
 * {@code _row_hash}. Tables are applied parents first (relationship rules look their parents up).
 *
 * <p>Per table, by phase: (1) the bronze batches after the last one silver applied, the latest
 * version per key (a later batch is a later state of the source), and the deletes they show
 * (delete markers; keys missing from a complete snapshot); (2) conformed and hashed; (3) the
 * quality rules evaluated ({@link Quality}), a {@code fail} stopping the table before anything is
 * written; (4) quarantined rows held aside ({@link Quarantine}, idempotent); (5) what actually
 * changes (versions that differ from silver, deletes of live keys) MERGEd as one commit tagged
 * with the last bronze batch applied ({@link Commits}): silver's progress moves with its data,
 * exactly once. When nothing changes, nothing is committed.
 */
public final class SilverLoader {

  private static final Logger LOG = LoggerFactory.getLogger(SilverLoader.class);
  public static final String JOB = "silver";
  private static final String DELETED_AT = "_deleted_at";
  private static final String IS_DELETED = "_is_deleted";

  /** What one table's silver step did, with the quality rules' outcomes. */
  public record TableResult(String table, long fromBatch, long toBatch, long rowsIn, long inserted, long updated,
                            long deleted, long quarantined, RunLog.Status status, String error,
                            List<Quality.Outcome> outcomes) {
    public boolean failed() {
      return status == RunLog.Status.FAILED;
    }
  }

  private final SparkSession spark;
  private final LakehousePaths paths;
  private final Watermarks watermarks;
  private final ZoneId sourceZone;

  public SilverLoader(SparkSession spark, LakehousePaths paths, ZoneId sourceZone) {
    this.spark = spark;
    this.paths = paths;
    this.sourceZone = sourceZone;
    this.watermarks = new Watermarks(spark, paths.control("watermarks"), sourceZone);
  }

  /** Applies every table, parents first; a table that fails is reported and the others still apply. */
  public List<TableResult> load(String runId, List<TableSpec> tables) {
    return load(runId, tables, 1);
  }

  /** As {@link #load(String, List)}, {@code parallelism} tables at a time among those whose parents are applied. */
  public List<TableResult> load(String runId, List<TableSpec> tables, int parallelism) {
    Map<String, Watermarks.Watermark> bronze = watermarks.readAll();
    List<TableResult> results = new ArrayList<>();
    for (List<TableSpec> level : TableGraph.levels(tables)) {
      results.addAll(dev.lakehouse.spark.Parallel.map(spark, level, parallelism, (table, session) ->
          new SilverLoader(session, paths, sourceZone).applyTable(runId, table, Optional.ofNullable(bronze.get(table.name())))));
    }
    return results;
  }

  TableResult applyTable(String runId, TableSpec table, Optional<Watermarks.Watermark> bronze) {
    String silverPath = paths.silver(table.name());
    long applied = Commits.lastBatch(spark, silverPath);
    long available = bronze.map(Watermarks.Watermark::batchId).orElse(0L);
    if (available <= applied) {
      LOG.info("silver {}: up to date with bronze batch {}", table.name(), applied);
      return new TableResult(table.name(), applied, applied, 0, 0, 0, 0, 0, RunLog.Status.SUCCEEDED, null, List.of());
    }
    List<Dataset<Row>> persisted = new ArrayList<>();
    try {
      Conformer conformer = new Conformer(table.conform(), table.name());
      List<String> keys = BronzeOps.identity(table).stream().map(conformer::silverName).toList();
      Dataset<Row> bronzeTable = spark.read().format("delta").load(paths.bronze(table.name()));
      Batch batch = batchRows(table, bronzeTable, applied, available, persisted);

      // Cast flags start with an underscore, so the hash leaves them out.
      Dataset<Row> hashed = SilverRows.withHash(conformer.apply(batch.versions().drop("_source", BronzeOps.ROW_HASH)));
      boolean freshness = table.quality().stream().anyMatch(r -> r instanceof Rule.Freshness);
      List<Rule> rules = new ArrayList<>(table.quality());
      rules.addAll(conformer.castRules());
      if (java.util.Arrays.asList(hashed.columns()).contains(dev.lakehouse.bronze.LogCapture.UNPARSED)) {
        rules.add(new Rule.Representable(dev.lakehouse.bronze.LogCapture.UNPARSED));
      }
      rules.add(new Rule.OneVersionPerBatch(keys, SilverRows.VERSIONS));
      {
        Quality.Evaluation evaluation = Quality.evaluate(hashed, rules, rule -> parentKeys(rule, table, hashed),
            (rows, evaluated) -> new Rule.TableFacts(rows, freshness ? newest(evaluated) : Optional.empty(),
                Instant.now()));
        persisted.add(evaluation.cache());
        List<Quality.Outcome> outcomes = evaluation.outcomes();
        outcomes.stream().filter(o -> o.failed() > 0 && o.rule().action() == dev.lakehouse.quality.Action.WARN)
            .forEach(o -> LOG.warn("silver {}: {} failed for {} (warn)", table.name(), o.rule().name(),
                o.failed() == 1 ? "1 row" : o.failed() + " rows"));
        List<Quality.Outcome> stopping = evaluation.stopping();
        if (!stopping.isEmpty()) {
          // Failed, with the outcomes: the rule that stopped the table belongs in _control/dq_results too.
          String message = dev.lakehouse.Errors.oneLine(stopMessage(table, stopping, bronzeTable, conformer)
              + "; nothing of bronze batches " + (applied + 1) + ".." + available + " was committed");
          LOG.error("silver {} failed: {}", table.name(), message);
          return new TableResult(table.name(), applied + 1, available, 0, 0, 0, 0, 0, RunLog.Status.FAILED, message,
              outcomes);
        }
        long quarantined = evaluation.quarantinedRows() == 0 ? 0 : new Quarantine(spark, paths.quarantine(table.name()),
            table.name()).hold(conformer.withRejectedValues(evaluation.quarantined().drop(SilverRows.VERSIONS)), keys, available,
            runId);
        if (quarantined > 0) {
          LOG.warn("silver {}: {} rows quarantined", table.name(), quarantined);
        }
        CrashPoints.reach("silver.after-quarantine");

        Dataset<Row> upserts = conformer.dropFlags(evaluation.passed().drop(SilverRows.VERSIONS))
            .withColumn(BronzeOps.OP, lit(BronzeOps.UPSERT));
        Counts counts = merge(runId, table, keys, upserts, batch.deletes(), evaluation.rows(), silverPath, available,
            persisted);
        CrashPoints.reach("silver.after-merge");
        LOG.info("silver {}: bronze batches {}..{}: {} rows in, {} inserted, {} updated, {} deleted, {} quarantined",
            table.name(), applied + 1, available, evaluation.rows(), counts.inserted(), counts.updated(),
            counts.deleted(), quarantined);
        return new TableResult(table.name(), applied + 1, available, evaluation.rows(), counts.inserted(),
            counts.updated(), counts.deleted(), quarantined, RunLog.Status.SUCCEEDED, null, outcomes);
      }
    } catch (Exception e) {
      String message = dev.lakehouse.Errors.describe(e);
      LOG.error("silver {} failed: {}", table.name(), message);
      LOG.debug("silver {} failure detail", table.name(), e);
      return new TableResult(table.name(), applied + 1, available, 0, 0, 0, 0, 0, RunLog.Status.FAILED, message, List.of());
    } finally {
      dev.lakehouse.spark.Cached.release(persisted);
    }
  }

  /**
   * The rows of batches {@code (applied, available]}: the latest version per key (as {@code U}
   * rows, change time in {@code _updated_at}), and the deletes ({@code _op = D}, keys only, with
   * their time). A full table whose range holds a complete snapshot starts from the latest one, and
   * every key it lacks is deleted as of that snapshot.
   */
  private record Batch(Dataset<Row> versions, Dataset<Row> deletes) {}

  private Batch batchRows(TableSpec table, Dataset<Row> bronze, long applied, long available,
                          List<Dataset<Row>> persisted) {
    Dataset<Row> rows = SilverRows.batches(bronze, table, applied, available);
    List<String> identity = BronzeOps.identity(table);
    Column[] keys = identity.stream().map(k -> col(Identifiers.quote(k))).toArray(Column[]::new);
    if (table.log()) {
      return logBatch(table, bronze, rows, identity, keys, persisted);
    }
    Optional<Long> snapshotBatch = Optional.empty();
    if (table.full()) {
      Row latest = rows.where(col(BronzeOps.OP).equalTo(BronzeOps.SNAPSHOT)).agg(functions.max("_batch_id")).first();
      if (!latest.isNullAt(0)) {
        snapshotBatch = Optional.of(latest.getLong(0));
        rows = rows.where(col("_batch_id").geq(snapshotBatch.get()));
      }
    }
    rows = rows.withColumn(SilverRows.UPDATED_AT, SilverRows.changeTime(table, bronze, sourceZone));
    // Not cached: the quality evaluation caches what it evaluates, so the window runs once.
    Dataset<Row> latest = rows
        .withColumn(SilverRows.VERSIONS, count(lit(1)).over(Window.partitionBy(concat(keys, col("_batch_id")))))
        .withColumn("_rank", row_number().over(Window.partitionBy(keys).orderBy(SilverRows.newestFirst(table))))
        .where(col("_rank").equalTo(1)).drop("_rank");
    Dataset<Row> versions = latest.where(col(BronzeOps.OP).notEqual(BronzeOps.DELETE));
    Dataset<Row> deletes = latest.where(col(BronzeOps.OP).equalTo(BronzeOps.DELETE))
        .select(concat(keys, col(SilverRows.UPDATED_AT), col("_batch_id")));
    if (snapshotBatch.isPresent()) {
      // A complete snapshot: a live key it (and the changes after it) lacks was deleted in the source.
      String silverPath = paths.silver(table.name());
      if (DeltaTable.isDeltaTable(spark, silverPath)) {
        Row observed = bronze.where(col("_batch_id").equalTo(snapshotBatch.get())).agg(functions.max("_ingested_at")).first();
        Dataset<Row> live = spark.read().format("delta").load(silverPath).where(not(col(IS_DELETED)));
        Conformer conformer = new Conformer(table.conform(), table.name());
        Column[] silverKeys = identity.stream().map(conformer::silverName).map(k -> col(Identifiers.quote(k)))
            .toArray(Column[]::new);
        Dataset<Row> present = latest.select(keys);
        for (String key : identity) {
          present = present.withColumnRenamed(key, conformer.silverName(key));
        }
        Dataset<Row> gone = live.select(silverKeys)
            .join(present, identity.stream().map(conformer::silverName).toArray(String[]::new), "left_anti");
        for (String key : identity) {
          gone = gone.withColumnRenamed(conformer.silverName(key), key);
        }
        deletes = deletes.unionByName(gone
            .withColumn(SilverRows.UPDATED_AT, lit(observed.getTimestamp(0)))
            .withColumn("_batch_id", lit(snapshotBatch.get())));
      }
    }
    return new Batch(versions, deletes.drop(SilverRows.VERSIONS));
  }

  /**
   * A log table's batches: changes in log order, the latest per key applied (an insert, update or
   * delete), unchanged TOASTed values filled from the previous version, and a truncate deleting
   * every key it emptied, at its commit time.
   */
  private Batch logBatch(TableSpec table, Dataset<Row> bronze, Dataset<Row> rows, List<String> identity, Column[] keys,
                         List<Dataset<Row>> persisted) {
    rows = rows.withColumn(SilverRows.UPDATED_AT, SilverRows.changeTime(table, bronze, sourceZone))
        .persist(StorageLevel.MEMORY_AND_DISK());
    persisted.add(rows);
    // Columns left out anywhere in the rows, even in a version applied over or truncated away:
    // filling one more column than needed changes nothing, and one pass finds both.
    LogRows.Shape shape = LogRows.shape(rows);
    Optional<Long> truncate = shape.truncate();
    Dataset<Row> changes = LogRows.lastPerTransaction(rows, identity);
    if (truncate.isPresent()) {
      changes = changes.where(col(dev.lakehouse.bronze.LogCapture.LSN).gt(truncate.get()));
    }
    String silverPath = paths.silver(table.name());
    boolean silverExists = DeltaTable.isDeltaTable(spark, silverPath);
    Conformer conformer = new Conformer(table.conform(), table.name());
    List<String> unchanged = shape.unchanged();
    Dataset<Row> before = null;
    if (!unchanged.isEmpty() && silverExists) {
      // The previous version's value: silver's row, under its source names and types.
      Dataset<Row> current = spark.read().format("delta").load(silverPath);
      List<Column> back = new ArrayList<>();
      for (String key : identity) {
        back.add(col(Identifiers.quote(conformer.silverName(key))).as(key));
      }
      for (String column : unchanged) {
        back.add(col(Identifiers.quote(conformer.silverName(column))).cast(bronze.schema().apply(column).dataType()).as(column));
      }
      before = current.select(back.toArray(Column[]::new));
    }
    changes = LogRows.withUnchangedFilled(changes, identity, unchanged, before);
    Dataset<Row> latest = changes
        .withColumn("_rank", row_number().over(Window.partitionBy(keys).orderBy(LogRows.newestFirst())))
        .where(col("_rank").equalTo(1)).drop("_rank");
    Dataset<Row> versions = latest.where(col(BronzeOps.OP).notEqual(BronzeOps.DELETE));
    Dataset<Row> deletes = latest.where(col(BronzeOps.OP).equalTo(BronzeOps.DELETE))
        .select(concat(keys, col(SilverRows.UPDATED_AT), col("_batch_id")));
    if (truncate.isPresent() && silverExists) {
      Row at = rows.where(col(BronzeOps.OP).equalTo(dev.lakehouse.bronze.LogCapture.TRUNCATE)
          .and(col(dev.lakehouse.bronze.LogCapture.LSN).equalTo(truncate.get())))
          .select(col(SilverRows.UPDATED_AT), col("_batch_id")).first();
      List<Column> back = new ArrayList<>();
      for (String key : identity) {
        back.add(col(Identifiers.quote(conformer.silverName(key))).as(key));
      }
      Dataset<Row> emptied = spark.read().format("delta").load(silverPath).where(not(col(IS_DELETED)))
          .select(back.toArray(Column[]::new))
          .join(latest.select(keys), identity.toArray(String[]::new), "left_anti")
          .withColumn(SilverRows.UPDATED_AT, lit(at.getTimestamp(0)))
          .withColumn("_batch_id", lit(at.getLong(1)));
      deletes = deletes.unionByName(emptied);
    }
    return new Batch(versions.drop(dev.lakehouse.bronze.LogCapture.UNCHANGED, dev.lakehouse.bronze.LogCapture.SEQ,
        dev.lakehouse.bronze.LogCapture.COMMIT_TIME).withColumn(SilverRows.VERSIONS, lit(1L)), deletes);
  }

  private static Column[] concat(Column[] first, Column... more) {
    Column[] all = java.util.Arrays.copyOf(first, first.length + more.length);
    System.arraycopy(more, 0, all, first.length, more.length);
    return all;
  }

  private Optional<Instant> newest(Dataset<Row> rows) {
    Row row = rows.agg(functions.max(SilverRows.UPDATED_AT)).first();
    return row.isNullAt(0) ? Optional.empty() : Optional.of(row.getTimestamp(0).toInstant());
  }

  /**
   * The parent's key values for a relationship rule: its silver rows, live or soft-deleted; for a
   * rule pointing at its own table, the batch's rows too (a parent may arrive with its children).
   */
  private Dataset<Row> parentKeys(Rule.Relationship rule, TableSpec table, Dataset<Row> batch) {
    String parentPath = paths.silver(rule.toTable());
    if (rule.toTable().equals(table.name())) {
      Column[] keys = rule.toColumns().stream().map(c -> col(Identifiers.quote(c))).toArray(Column[]::new);
      Dataset<Row> own = batch.select(keys);
      return DeltaTable.isDeltaTable(spark, parentPath)
          ? own.union(spark.read().format("delta").load(parentPath).select(keys)) : own;
    }
    if (!DeltaTable.isDeltaTable(spark, parentPath)) {
      throw new LakehouseException(rule.name() + ": silver." + rule.toTable() + " does not exist yet (its bronze or"
          + " silver step has not succeeded)");
    }
    return spark.read().format("delta").load(parentPath);
  }

  private String stopMessage(TableSpec table, List<Quality.Outcome> stopping, Dataset<Row> bronze, Conformer conformer) {
    List<String> parts = new ArrayList<>();
    for (Quality.Outcome outcome : stopping) {
      String part = outcome.rule().name() + " failed for " + outcome.failed() + (outcome.failed() == 1 ? " row" : " rows");
      if (outcome.rule() instanceof Rule.Cast cast) {
        String sourceColumn = table.conform().renames().entrySet().stream()
            .filter(e -> e.getValue().equals(cast.column())).map(Map.Entry::getKey).findFirst().orElse(cast.column());
        part = "silver cast of " + table.name() + "." + cast.column() + " to " + cast.type() + " failed for "
            + outcome.failed() + (outcome.failed() == 1 ? " row" : " rows") + ", e.g. " + Conformer.sample(bronze, cast, sourceColumn)
            + (cast.key() ? ": a key must convert without loss, or two source keys would become one row" : "")
            + " (set lakehouse.tables." + table.name() + ".silver.on-cast-error = quarantine to hold such rows aside)";
      }
      parts.add(part);
    }
    return String.join("; ", parts) + (stopping.stream().anyMatch(o -> !(o.rule() instanceof Rule.Cast))
        ? " (action fail)" : "");
  }

  private record Counts(long inserted, long updated, long deleted) {}

  /**
   * MERGEs what changes: versions that differ from silver's row (or revive a deleted key), new
   * keys, and deletes of live keys. The source is cut to those first, so an unchanged batch
   * commits nothing and a changed one rewrites only the files it must.
   */
  /** Batches of up to this many versions look up their keys in silver by a broadcast. */
  static final long SMALL_BATCH = 1_000_000;

  private Counts merge(String runId, TableSpec table, List<String> keys, Dataset<Row> upserts, Dataset<Row> deletes,
                       long versions, String silverPath, long available, List<Dataset<Row>> persisted) {
    List<StructField> columns = new ArrayList<>();
    for (StructField field : upserts.schema().fields()) {
      if (!field.name().equals(BronzeOps.OP) && !field.name().equals("_ingested_at")) {
        columns.add(field);
      }
    }
    boolean created = prepareTable(table, silverPath, columns);
    if (created) {
      // A new table holds nothing: every version is an insert, a delete has nothing to delete, and
      // one append (no join, no MERGE, nothing held in memory) writes it; Delta counts the rows.
      List<Column> insert = new ArrayList<>();
      for (StructField field : columns) {
        insert.add(col(Identifiers.quote(field.name())));
      }
      insert.add(lit(false).as(IS_DELETED));
      insert.add(lit(null).cast(DataTypes.TimestampType).as(DELETED_AT));
      Commits.tag(upserts.select(insert.toArray(Column[]::new)).write().format("delta").mode("append"),
          Commits.Tag.idempotent(JOB, table.name(), available, runId)).save(silverPath);
      long inserted = Commits.rowsWritten(spark, silverPath);
      return new Counts(inserted, 0, 0);
    }
    Dataset<Row> target = spark.read().format("delta").load(silverPath);
    Conformer conformer = new Conformer(table.conform(), table.name());
    Dataset<Row> deleteRows = deletes;
    for (String key : BronzeOps.identity(table)) {
      deleteRows = deleteRows.withColumnRenamed(key, conformer.silverName(key));
    }
    deleteRows = deleteRows.withColumn(BronzeOps.OP, lit(BronzeOps.DELETE));

    // What exists in silver for the incoming keys, to drop what would change nothing.
    List<Column> existing = new ArrayList<>(keys.stream().map(k -> col(Identifiers.quote(k))).toList());
    existing.add(col(SilverRows.ROW_HASH).as("_t_hash"));
    existing.add(col(IS_DELETED).as("_t_deleted"));
    Dataset<Row> incoming = upserts.drop("_ingested_at").unionByName(deleteRows, true);
    Dataset<Row> current = target.select(existing.toArray(Column[]::new));
    if (versions <= SMALL_BATCH) {
      // Only silver's rows for the incoming keys, found without shuffling silver: the cost of a
      // small batch follows the batch, not the table.
      current = current.join(broadcast(incoming.select(keys.stream().map(k -> col(Identifiers.quote(k)))
          .toArray(Column[]::new))), keys.toArray(String[]::new), "left_semi");
    }
    Dataset<Row> source = dev.lakehouse.spark.Cached.materialize(incoming
        .join(current, keys.toArray(String[]::new), "left")
        .where(when(col(BronzeOps.OP).equalTo(BronzeOps.DELETE), col("_t_deleted").equalTo(false))
            .otherwise(col("_t_hash").isNull().or(col("_t_deleted")).or(col("_t_hash").notEqual(col(SilverRows.ROW_HASH)))))
        .withColumn("_change", when(col(BronzeOps.OP).equalTo(BronzeOps.DELETE), lit("deleted"))
            .when(col("_t_hash").isNull(), lit("inserted")).otherwise(lit("updated")))
        .drop("_t_hash", "_t_deleted"), persisted);
    Row counted = source.agg(
        sum(when(col("_change").equalTo("inserted"), 1).otherwise(0)),
        sum(when(col("_change").equalTo("updated"), 1).otherwise(0)),
        sum(when(col("_change").equalTo("deleted"), 1).otherwise(0))).first();
    Counts counts = new Counts(counted.isNullAt(0) ? 0 : counted.getLong(0), counted.isNullAt(1) ? 0 : counted.getLong(1),
        counted.isNullAt(2) ? 0 : counted.getLong(2));
    if (counts.inserted() + counts.updated() + counts.deleted() == 0) {
      // Its progress still moves (a commit without data): otherwise every later run would apply
      // these batches again, growing, and count their rule failures in dq_results once more.
      Commits.record(spark, silverPath, Commits.Tag.of(JOB, table.name(), available, runId));
      LOG.info("silver {}: nothing changed; bronze batch {} recorded as applied", table.name(), available);
      return counts;
    }

    Map<String, String> assignments = new LinkedHashMap<>();
    for (StructField field : columns) {
      assignments.put(Identifiers.quote(field.name()), "s." + Identifiers.quote(field.name()));
    }
    assignments.put(IS_DELETED, "false");
    assignments.put(DELETED_AT, "CAST(NULL AS TIMESTAMP)");
    String on = keys.stream().map(k -> "t." + Identifiers.quote(k) + " = s." + Identifiers.quote(k))
        .collect(Collectors.joining(" AND "));
    Map<String, String> delete = Map.of(IS_DELETED, "true", DELETED_AT, "s." + SilverRows.UPDATED_AT,
        "_batch_id", "s._batch_id");
    DeletionVectors.beforeMerge(spark, silverPath);
    Commits.run(spark, Commits.Tag.idempotent(JOB, table.name(), available, runId), () ->
        DeltaTable.forPath(spark, silverPath).as("t")
            .merge(dev.lakehouse.spark.MergeSource.sized(source,
                counts.inserted() + counts.updated() + counts.deleted()).as("s"), on)
            .whenMatched("s._op = 'D'").updateExpr(delete)
            .whenMatched().updateExpr(assignments)
            .whenNotMatched("s._op <> 'D'").insertExpr(assignments)
            .execute());
    return counts;
  }

  /**
   * Creates silver on first use; afterwards adds new source columns (older rows read NULL) and
   * refuses a column whose type changed, before anything is written.
   */
  private boolean prepareTable(TableSpec table, String silverPath, List<StructField> columns) {
    if (!DeltaTable.isDeltaTable(spark, silverPath)) {
      var builder = DeltaTable.createIfNotExists(spark).location(silverPath)
          .property("delta.enableChangeDataFeed", "true")
          .property(DeletionVectors.PROPERTY, DeletionVectors.forMergedTable(spark));
      for (StructField field : columns) {
        builder = builder.addColumn(field.name(), field.dataType());
      }
      builder.addColumn(IS_DELETED, DataTypes.BooleanType)
          .addColumn(DELETED_AT, DataTypes.TimestampType)
          .execute();
      return true;
    }
    StructType stored = spark.read().format("delta").load(silverPath).schema();
    TypeWidening.followOrStop(spark, silverPath, stored, new StructType(columns.toArray(StructField[]::new)),
        table.name(), "silver." + table.name());
    List<String> added = new ArrayList<>();
    for (StructField field : columns) {
      if (!stored.getFieldIndex(field.name()).isDefined()) {
        added.add(Identifiers.quote(field.name()) + " " + field.dataType().sql());
      }
    }
    if (!added.isEmpty()) {
      spark.sql("ALTER TABLE delta.`" + silverPath.replace("`", "``") + "` ADD COLUMNS (" + String.join(", ", added) + ")");
      LOG.warn("silver {}: new source columns {}", table.name(), added);
    }
    return false;
  }
}
