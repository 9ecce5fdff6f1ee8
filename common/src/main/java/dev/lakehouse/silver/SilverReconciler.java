package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.Errors;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.control.Commits;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.extract.CopyExtraction;
import dev.lakehouse.extract.SourceColumn;
import dev.lakehouse.extract.SourceColumns;
import dev.lakehouse.spark.Cached;
import dev.lakehouse.spark.DeletionVectors;
import dev.lakehouse.spark.Parallel;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.spec.TableSpec;
import dev.lakehouse.source.SourceDatabase;
import io.delta.tables.DeltaTable;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds hard deletes of incremental tables, which a cursor never shows, and rows in the source that
 * silver lacks and no window will read. By phase, per table:
 * <ol>
 *   <li>Fingerprint: for a single integer key ({@link KeyFingerprint}), PostgreSQL sums up its keys
 *       and Spark silver's live keys with those only quarantine holds; equal means nothing is gone
 *       and nothing is back, and the table is done without a key read. Silver's side is
 *       remembered for the state it was summed from ({@link FingerprintMemo}), so a run that
 *       changed neither silver nor quarantine sums only the source's keys.
 *   <li>Compare: the source's keys (binary COPY of the key columns, shaped as silver shapes them)
 *       against silver's in one full-outer pass, keeping only the keys gone, back or missed.
 *   <li>Delete: silver's live keys that are gone are soft-deleted in one MERGE, as of the time it
 *       looked. Nothing is committed when no key is gone.
 *   <li>Reland: keys deleted in silver that the source has again, and keys silver never had (nor
 *       holds in quarantine) whose rows are older than the next window's lower bound (a commit
 *       later than the lookback), are landed in bronze as they are now, for silver's next apply.
 *       Missed keys only once silver has applied every bronze batch: before, they may be rows of a
 *       batch silver has yet to apply.
 * </ol>
 */
public final class SilverReconciler {

  private static final Logger LOG = LoggerFactory.getLogger(SilverReconciler.class);
  public static final String JOB = "reconcile";
  /** Where silver's key fingerprints are remembered ({@link FingerprintMemo}), under {@code _control}. */
  static final String FINGERPRINTS = "fingerprints";
  /** Keys found back per run at most; more wait for the next run (they are a trickle, not a load). */
  private static final int MAX_RELANDED = 100_000;
  private static final String IN_SOURCE = "_in_source";
  private static final String GONE = "_gone";
  private static final String IN_SILVER = "_in_silver";

  /**
   * {@code byFingerprint}: the source's keys matched silver's by {@link KeyFingerprint}, none was
   * read. {@code relanded}: rows landed in bronze again for silver's next apply.
   */
  public record TableResult(String table, long sourceKeys, long deleted, long relanded, RunLog.Status status,
                            String error, boolean byFingerprint) {
    public boolean failed() {
      return status == RunLog.Status.FAILED;
    }
  }

  private final SparkSession spark;
  private final SourceSettings source;
  private final LakehousePaths paths;

  public SilverReconciler(SparkSession spark, SourceSettings source, LakehousePaths paths) {
    this.spark = spark;
    this.source = source;
    this.paths = paths;
  }

  /**
   * Reconciles the incremental tables among {@code tables}, {@code parallelism} at a time (each
   * reads its own keys and writes only its own silver, bronze and fingerprint files); a failure is
   * reported per table.
   */
  public List<TableResult> reconcile(String runId, List<TableSpec> tables, int parallelism) {
    List<TableSpec> incremental = tables.stream().filter(TableSpec::incremental).toList();
    return Parallel.map(spark, incremental, parallelism, (table, session) ->
        new SilverReconciler(session, source, paths).reconcileTable(runId, table));
  }

  TableResult reconcileTable(String runId, TableSpec table) {
    String silverPath = paths.silver(table.name());
    try {
      if (!DeltaTable.isDeltaTable(spark, silverPath)) {
        throw new LakehouseException("silver." + table.name() + " does not exist yet: bronze and silver have not landed "
            + table.name());
      }
      Instant started = Instant.now();
      List<String> keys = table.silverKey();
      Column[] silverColumns = Stream.concat(keys.stream().map(k -> col(Identifiers.quote(k))),
          Stream.of(col("_is_deleted"), lit(true).as(IN_SILVER))).toArray(Column[]::new);
      Dataset<Row> silverKeys = spark.read().format("delta").load(silverPath).select(silverColumns);
      // Silver's fingerprint and the state it is of, when the fingerprint applies: the soft-delete
      // below moves it by exactly the keys it deletes, so the next run need not sum silver again.
      Remembered remembered = null;
      Dataset<Row> sourceKeys;
      try (Connection connection = SourceDatabase.connect(source)) {
        String schema = SourceDatabase.schemaOf(connection, source, table);
        String qualified = SourceDatabase.qualified(schema, table.sourceTable());
        List<SourceColumn> all = SourceColumns.discover(connection, schema, table.sourceTable());
        List<SourceColumn> keyColumns = new ArrayList<>();
        for (String key : table.primaryKey()) {
          keyColumns.add(all.stream().filter(c -> c.name().equals(key)).findFirst().orElseThrow(() ->
              new LakehouseException("lakehouse.tables." + table.name() + ".primary-key: no column " + key + " in " + qualified)));
        }
        // The usual run: nothing deleted, nothing back. Compared by fingerprint, no key leaves
        // PostgreSQL and Spark joins nothing.
        if (KeyFingerprint.applies(keyColumns, table.conform())) {
          String quarantinePath = paths.quarantine(table.name());
          FingerprintMemo memo = new FingerprintMemo(spark, paths.control(FINGERPRINTS));
          FingerprintMemo.State state = memo.stateOf(silverPath, quarantinePath, keys.get(0));
          // Everything below reads silver as of that state, so what it finds is of that state too.
          silverKeys = spark.read().format("delta").option("versionAsOf", state.silverVersion()).load(silverPath)
              .select(silverColumns);
          Optional<KeyFingerprint.Value> expected = memo.recall(table.name(), state);
          if (expected.isEmpty()) {
            Dataset<Row> quarantine = state.quarantineVersion() < 0 ? null
                : spark.read().format("delta").option("versionAsOf", state.quarantineVersion()).load(quarantinePath);
            expected = KeyFingerprint.ofSilver(silverKeys, quarantine, keys.get(0));
            expected.ifPresent(value -> memo.remember(table.name(), state, value));
          }
          if (expected.isPresent()) {
            remembered = new Remembered(memo, state, expected.get());
          }
          KeyFingerprint.Value inSource = null;
          try {
            inSource = KeyFingerprint.ofSource(connection, qualified, keyColumns.get(0));
          } catch (SQLException e) {
            // A PostgreSQL older than 11 has no hashint8extended: the full comparison still works.
            LOG.debug("reconcile {}: no fingerprint from the source ({}); comparing keys in full", table.name(),
                e.getMessage());
          }
          if (inSource != null && expected.isPresent() && KeyFingerprint.same(inSource, expected.get())) {
            LOG.info("reconcile {}: {} source keys, the same as silver's (live or held in quarantine)", table.name(),
                inSource.keys());
            return new TableResult(table.name(), inSource.keys(), 0, 0, RunLog.Status.SUCCEEDED, null, true);
          }
        }
        sourceKeys = CopyExtraction.read(spark, source, keyColumns,
            List.of("SELECT " + SourceColumns.selectList(keyColumns) + " FROM " + qualified), Optional.empty());
      } catch (SQLException e) {
        throw SourceDatabase.queryError("Cannot read the keys of " + table.name(), e);
      }
      // Silver holds keys as silver shaped them (renamed, cast; never trimmed or cased): so must
      // the source's keys be, or a cast key would look gone.
      Conformer keyShape = new Conformer(table.conform().forColumns(table.primaryKey()), table.name());
      sourceKeys = keyShape.dropFlags(keyShape.apply(sourceKeys));
      Column[] keyColumns = keys.stream().map(k -> col(Identifiers.quote(k))).toArray(Column[]::new);
      Dataset<Row> cachedKeys = sourceKeys.withColumn(IN_SOURCE, lit(true)).persist(StorageLevel.MEMORY_AND_DISK());
      List<Dataset<Row>> held = new ArrayList<>();
      try {
        // One pass over silver's keys against the source's keeps only the keys that differ (gone,
        // back or missed, a few): the counts, the MERGE and the reland all read that small result.
        Column inSilver = col(IN_SILVER).isNotNull();
        Column gone = inSilver.and(not(col("_is_deleted"))).and(col(IN_SOURCE).isNull());
        Column back = inSilver.and(col("_is_deleted")).and(col(IN_SOURCE).isNotNull());
        Column missed = not(inSilver);
        // Materialized, not cached: it reads silver, which the MERGE below writes (see Cached.materialize).
        Dataset<Row> differences = Cached.materialize(silverKeys.join(cachedKeys, keys.toArray(String[]::new), "full_outer")
            .where(gone.or(back).or(missed))
            .select(Stream.concat(Arrays.stream(keyColumns), Stream.of(gone.as(GONE), inSilver.as(IN_SILVER)))
                .toArray(Column[]::new)), held);
        Row counts = differences.agg(count(when(col(GONE), lit(1))),
            count(when(not(col(GONE)).and(col(IN_SILVER)), lit(1))), count(when(not(col(IN_SILVER)), lit(1)))).first();
        long deleted = counts.getLong(0);
        long keyCount = cachedKeys.count();
        if (deleted > 0) {
          String on = keys.stream().map(k -> "t." + Identifiers.quote(k) + " = s." + Identifiers.quote(k))
              .collect(Collectors.joining(" AND "));
          // Tagged with the batch silver has applied, so silver's own progress is unchanged; not
          // idempotent by batch, since reconciling again later must run.
          long batch = Commits.lastBatch(spark, silverPath);
          Dataset<Row> goneKeys = differences.where(col(GONE)).select(keyColumns);
          DeletionVectors.beforeMerge(spark, silverPath);
          Commits.run(spark, Commits.Tag.of(SilverLoader.JOB, table.name(), batch, runId), () ->
              DeltaTable.forPath(spark, silverPath).as("t")
                  .merge(dev.lakehouse.spark.MergeSource.sized(goneKeys, deleted).as("s"), on)
                  .whenMatched("NOT t._is_deleted")
                  .updateExpr(Map.of("_is_deleted", "true", "_deleted_at", "TIMESTAMP '" + started + "'"))
                  .execute());
          if (remembered != null) {
            remembered.afterDeleting(table.name(), KeyFingerprint.ofKeys(goneKeys, keys.get(0)), silverPath,
                paths.quarantine(table.name()));
          }
        }
        // Keys deleted in silver that the source has again, which no window saw come back (restored
        // with an old cursor, or as it was), and keys silver never had whose rows no window will
        // read: bronze lands their rows as they are now; the next silver run applies them. (The
        // MERGE above marks only keys the source does not have.)
        List<Row> backKeys = counts.getLong(1) == 0 ? List.of()
            : differences.where(not(col(GONE)).and(col(IN_SILVER))).select(keyColumns).limit(MAX_RELANDED).collectAsList();
        List<Row> missedKeys = counts.getLong(2) == 0 ? List.of() : missedKeys(table, differences, keyColumns, silverPath);
        long relanded = 0;
        if (!backKeys.isEmpty() || !missedKeys.isEmpty()) {
          dev.lakehouse.bronze.BronzeLoader.TableResult landed = new dev.lakehouse.bronze.BronzeLoader(spark, source, paths)
              .reland(runId, table, backKeys, missedKeys);
          if (landed.failed()) {
            throw new LakehouseException(landed.error());
          }
          relanded = landed.rowsWritten();
        }
        LOG.info("reconcile {}: {} source keys, {} soft-deleted in silver{}", table.name(), keyCount, deleted,
            relanded == 0 ? "" : ", " + relanded + " rows no window will read landed in bronze again");
        return new TableResult(table.name(), keyCount, deleted, relanded, RunLog.Status.SUCCEEDED, null, false);
      } finally {
        Cached.release(held);
        cachedKeys.unpersist();
      }
    } catch (Exception e) {
      String message = Errors.describe(e);
      LOG.error("reconcile {} failed: {}", table.name(), message);
      LOG.debug("reconcile {} failure detail", table.name(), e);
      return new TableResult(table.name(), 0, 0, 0, RunLog.Status.FAILED, message, false);
    }
  }

  /**
   * Keys in the source that silver never had, less those quarantine holds (their rows are in the
   * source but held aside) and keys with a NULL part (no key condition finds them). None until
   * silver has applied every batch bronze holds: a key of a batch not applied yet is not missed.
   */
  private List<Row> missedKeys(TableSpec table, Dataset<Row> differences, Column[] keyColumns, String silverPath) {
    String bronzePath = paths.bronze(table.name());
    if (Commits.lastBatch(spark, silverPath) < Commits.lastBatch(spark, bronzePath)) {
      return List.of();
    }
    Dataset<Row> missed = differences.where(not(col(IN_SILVER))).select(keyColumns)
        .na().drop("any");
    String quarantinePath = paths.quarantine(table.name());
    List<String> keys = table.silverKey();
    if (DeltaTable.isDeltaTable(spark, quarantinePath)) {
      Dataset<Row> quarantine = spark.read().format("delta").load(quarantinePath);
      if (Arrays.asList(quarantine.columns()).containsAll(keys)) {
        missed = missed.join(quarantine.select(keyColumns).distinct(), keys.toArray(String[]::new), "left_anti");
      }
    }
    return missed.limit(MAX_RELANDED).collectAsList();
  }

  /** Silver's fingerprint as of {@code state}, the state it was summed (or recalled) for. */
  private record Remembered(FingerprintMemo memo, FingerprintMemo.State state, KeyFingerprint.Value value) {

    /**
     * After the soft-delete of {@code gone} (live keys of {@code state}): silver's next version
     * holds the same keys but those, so its fingerprint is this one without them. Remembered only
     * when that delete is the one commit since {@code state}, which the lock held by every run ensures.
     */
    void afterDeleting(String table, KeyFingerprint.Value gone, String silverPath, String quarantinePath) {
      FingerprintMemo.State now = memo.stateOf(silverPath, quarantinePath, state.key());
      if (now.equals(new FingerprintMemo.State(state.silverId(), state.silverVersion() + 1, state.quarantineId(),
          state.quarantineVersion(), state.key()))) {
        memo.remember(table, now, KeyFingerprint.minus(value, gone));
      }
    }
  }
}
