package dev.lakehouse.gold;

import dev.lakehouse.Errors;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.silver.SilverVersions;
import dev.lakehouse.silver.SilverVersions.Position;
import dev.lakehouse.spec.DimensionSpec;
import dev.lakehouse.spec.FactSpec;
import dev.lakehouse.spec.GoldSpec;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.MartSpec;
import dev.lakehouse.spec.TableSpec;
import dev.lakehouse.control.Commits;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds gold from silver, as configured ({@link GoldSpec}): SCD Type 2 dimensions, then facts
 * with keys resolved as of their time (and the calendar they need), then marts. Each gold table
 * records what it consumed in its own commits ({@link GoldInputs}), so every table is idempotent
 * on its own: a re-run after a crash at any point gives the same tables, and a run with nothing
 * new commits nothing. A table that fails is reported; what depends on it is skipped.
 */
public final class GoldBuilder {

  private static final Logger LOG = LoggerFactory.getLogger(GoldBuilder.class);
  public static final String JOB = "gold";

  /** What one gold table got in this run. */
  public record TableResult(String table, long inserted, long updated, long deleted, Outcome outcome,
                            RunLog.Status status, String error) {
    public boolean failed() {
      return status == RunLog.Status.FAILED;
    }

    /** How the run's report describes a table that succeeded without rows to count, else null. */
    public String detail() {
      return failed() ? null : outcome.detail;
    }
  }

  /**
   * Whether a gold table was written. Its inputs may have moved without changing any of its rows
   * (an update of a column the table does not use): the run then records its progress only, and
   * says so rather than "up to date", which means there was nothing to look at.
   */
  public enum Outcome {
    WRITTEN(null), NOTHING_CHANGED("nothing changed"), UP_TO_DATE("up to date");

    private final String detail;

    Outcome(String detail) {
      this.detail = detail;
    }
  }

  private final SparkSession spark;
  private final LakehousePaths paths;
  private final GoldSpec gold;
  private final Map<String, TableSpec> tables = new LinkedHashMap<>();
  private final GoldInputs inputs;
  private final int parallelism;
  private final java.time.ZoneId sourceZone;

  public GoldBuilder(SparkSession spark, LakehousePaths paths, GoldSpec gold, List<TableSpec> tables,
                     java.time.ZoneId sourceZone) {
    this(spark, paths, gold, tables, sourceZone, 1);
  }

  /** As above, {@code parallelism} dimensions (then facts) at a time. */
  public GoldBuilder(SparkSession spark, LakehousePaths paths, GoldSpec gold, List<TableSpec> tables,
                     java.time.ZoneId sourceZone, int parallelism) {
    this.parallelism = parallelism;
    this.sourceZone = sourceZone;
    this.spark = spark;
    this.paths = paths;
    this.gold = gold;
    tables.forEach(t -> this.tables.put(t.name(), t));
    this.inputs = new GoldInputs(spark, paths, new SilverVersions(spark, paths, sourceZone));
  }

  public List<TableResult> build(String runId) {
    List<TableResult> results = new ArrayList<>();
    if (gold.isEmpty()) {
      LOG.info("gold: nothing declared");
      return results;
    }
    Map<String, Position> current = new java.util.concurrent.ConcurrentHashMap<>();
    Set<String> failed = java.util.concurrent.ConcurrentHashMap.newKeySet();
    // Dimensions side by side, then facts side by side: each in its own session of the application.
    results.addAll(dev.lakehouse.spark.Parallel.map(spark, List.copyOf(gold.dimensions().values()), parallelism,
        (dimension, session) -> guarded(dimension.table(), Set.of("silver." + dimension.source()), failed, () ->
            dimension(runId, dimension, session, current))));
    for (TableResult r : results) {
      if (r.failed()) {
        failed.add(r.table());
      }
    }
    results.addAll(dev.lakehouse.spark.Parallel.map(spark, List.copyOf(gold.facts().values()), parallelism,
        (fact, session) -> {
          Set<String> needs = new LinkedHashSet<>();
          fact.inputs().forEach(t -> needs.add("silver." + t));
          fact.dimensions().forEach(r -> needs.add(gold.dimensions().get(r.dimension()).table()));
          return guarded(fact.name(), needs, failed, () -> {
            fact.inputs().forEach(t -> position(t, current));
            GoldInputs sessionInputs = new GoldInputs(session, paths, new SilverVersions(session, paths, sourceZone));
            List<Dataset<Row>> persisted = new ArrayList<>();
            FactTable.Result r;
            try {
              r = new FactTable(session, paths, fact, gold.dimensions(), sessionInputs).update(runId, current, persisted);
            } finally {
              dev.lakehouse.spark.Cached.release(persisted);
            }
            return new TableResult(fact.name(), r.inserted(), r.updated(), r.deleted(),
                !r.inputsMoved() ? Outcome.UP_TO_DATE
                    : r.inserted() + r.updated() + r.deleted() > 0 ? Outcome.WRITTEN : Outcome.NOTHING_CHANGED,
                RunLog.Status.SUCCEEDED, null);
          });
        }));
    for (TableResult r : results) {
      if (r.failed()) {
        failed.add(r.table());
      }
    }
    CrashPoints.reach("gold.after-facts");

    Marts marts = new Marts(spark, paths, inputs);
    for (MartSpec mart : gold.marts().values()) {
      Set<String> needs = new LinkedHashSet<>();
      mart.inputs().forEach(i -> needs.add(i.startsWith("gold.") ? i.substring(5) : i));
      results.add(guarded(mart.name(), needs, failed, () -> {
        long rows = marts.refresh(mart, runId);
        return new TableResult(mart.name(), Math.max(rows, 0), 0, 0, rows >= 0 ? Outcome.WRITTEN : Outcome.UP_TO_DATE,
            RunLog.Status.SUCCEEDED, null);
      }));
    }
    CrashPoints.reach("gold.after-marts");
    results.forEach(r -> {
      if (!r.failed()) {
        LOG.info("gold {}: {}", r.table(), r.detail() == null
            ? r.inserted() + " inserted, " + r.updated() + " updated, " + r.deleted() + " deleted" : r.detail());
      }
    });
    return results;
  }

  private Position position(String table, Map<String, Position> current) {
    synchronized (current) {
      return current.computeIfAbsent(table, inputs.silver()::position);
    }
  }

  /** One dimension: the versions and deletes of its silver table since its last commit, merged. */
  private TableResult dimension(String runId, DimensionSpec dimension, SparkSession session,
                                Map<String, Position> current) {
    GoldInputs sessionInputs = new GoldInputs(session, paths, new SilverVersions(session, paths, sourceZone));
    Position to = position(dimension.source(), current);
    Position from = GoldInputs.decode(sessionInputs.consumed(dimension.table()).get(GoldInputs.silverKey(dimension.source())));
    Scd2Merge merge = new Scd2Merge(session, paths.gold(dimension.table()), Scd2Spec.of(dimension));
    merge.createIfMissing(sessionInputs.silver().all(dimension.source()).schema());
    merge.shapeChange().ifPresent(change -> {
      List<String> facts = gold.facts().values().stream()
          .filter(f -> f.dimensions().stream().anyMatch(r -> r.dimension().equals(dimension.name())))
          .map(f -> paths.gold(f.name())).toList();
      throw new dev.lakehouse.LakehouseException("lakehouse.gold.dimensions." + dimension.name() + ": tracked or"
          + " overwrite changed since gold." + dimension.table() + " was built (" + change + "); a dimension's"
          + " history cannot change its attributes in place. To rebuild it from silver's versions, move "
          + paths.gold(dimension.table()) + (facts.isEmpty() ? "" : " and the facts that use it (" + String.join(", ", facts)
          + ")") + " aside and run again; or restore the configuration it was built with");
    });
    if (!from.before(to) && from.bronzeBatch() >= to.bronzeBatch()) {
      return new TableResult(dimension.table(), 0, 0, 0, Outcome.UP_TO_DATE, RunLog.Status.SUCCEEDED, null);
    }
    Dataset<Row> changes = DimensionChanges.between(sessionInputs.silver(), tables.get(dimension.source()), dimension,
        from, to).persist(StorageLevel.MEMORY_AND_DISK());
    try {
      return dimension(runId, dimension, merge, DimensionChanges.ofMembers(changes, dimension), to);
    } finally {
      changes.unpersist();
    }
  }

  private TableResult dimension(String runId, DimensionSpec dimension, Scd2Merge merge, Dataset<Row> changes,
                                Position to) {
    Commits.Tag tag = Commits.Tag.of(GoldInputs.LAYER, dimension.table(), to.bronzeBatch(), runId)
        .with(Map.of(GoldInputs.silverKey(dimension.source()), GoldInputs.encode(to)));
    Scd2Result scd2 = merge.apply(changes, Optional.of(tag));
    CrashPoints.reach("gold.after-dimension");
    return new TableResult(dimension.table(), scd2.rowsInserted(), scd2.rowsUpdated(), 0,
        scd2.equals(Scd2Result.NOTHING) ? Outcome.NOTHING_CHANGED : Outcome.WRITTEN, RunLog.Status.SUCCEEDED, null);
  }

  private interface Step {
    TableResult run();
  }

  /** Runs one gold table's step unless something it needs failed; a failure is recorded, not thrown. */
  private TableResult guarded(String table, Set<String> needs, Set<String> failed, Step step) {
    Optional<String> missing = needs.stream().filter(failed::contains).findFirst();
    if (missing.isPresent()) {
      failed.add(table);
      return new TableResult(table, 0, 0, 0, Outcome.UP_TO_DATE, RunLog.Status.FAILED, "skipped: " + missing.get() + " failed");
    }
    try {
      return step.run();
    } catch (Exception e) {
      failed.add(table);
      String message = Errors.describe(e);
      LOG.error("gold {} failed: {}", table, message);
      LOG.debug("gold {} failure detail", table, e);
      return new TableResult(table, 0, 0, 0, Outcome.UP_TO_DATE, RunLog.Status.FAILED, message);
    }
  }
}
