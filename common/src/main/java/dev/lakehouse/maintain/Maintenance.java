package dev.lakehouse.maintain;

import dev.lakehouse.Errors;
import dev.lakehouse.catalog.LakehouseCatalog;
import dev.lakehouse.catalog.LakehouseCatalog.TableRef;
import dev.lakehouse.control.Commits;
import dev.lakehouse.spark.DeltaSnapshots;
import dev.lakehouse.spark.SessionSettings;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.MaintainSettings;
import dev.lakehouse.spec.TableSpec;
import io.delta.tables.DeltaTable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the lakehouse fast after months of runs: compacts tables whose small files passed the
 * threshold (bronze clustered by batch, silver and facts by key, so later reads and MERGEs touch
 * few files), and removes files no version within the retention needs (VACUUM). Retention is
 * never shorter than what a later step still has to read: gold reads silver's change feed, and
 * facts a dimension's, from where each last got to, so files of those versions stay.
 */
public final class Maintenance {

  private static final Logger LOG = LoggerFactory.getLogger(Maintenance.class);
  /**
   * Set to false around VACUUM, then restored: the check refuses a retention under 7 days, and
   * Delta 4 otherwise ignores RETAIN in favour of the table property
   * delta.deletedFileRetentionDuration (7 days), which would drop both maintain.retention and the
   * longer history kept for a step that has not read it yet.
   */
  private static final List<String> VACUUM_CHECKS = List.of(
      "spark.databricks.delta.retentionDurationCheck.enabled",
      "spark.databricks.delta.vacuum.retentionWindowIgnore.enabled");
  private static final String LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism";

  /** What maintenance did to one table. */
  public record TableResult(String table, long filesBefore, long filesAfter, boolean compacted, Duration vacuumedTo,
                            String error) {}

  private final SparkSession spark;
  private final LakehouseSpec spec;
  private final LakehousePaths paths;
  private final MaintainSettings settings;

  public Maintenance(SparkSession spark, LakehouseSpec spec) {
    this.spark = spark;
    this.spec = spec;
    this.paths = spec.paths();
    this.settings = spec.maintain();
  }

  /** Compacts what needs it and vacuums every table (or only compacts, when {@code vacuum} is false). */
  public List<TableResult> run(boolean vacuum) {
    return run(LakehouseCatalog.discover(spark, paths), vacuum);
  }

  /** The same for some tables only, e.g. those a run just wrote. */
  public List<TableResult> run(List<TableRef> tables, boolean vacuum) {
    Map<String, Instant> needed = vacuum ? oldestNeeded() : Map.of();
    List<TableResult> results = new ArrayList<>();
    for (TableRef table : tables) {
      try {
        results.add(maintain(table, vacuum, Optional.ofNullable(needed.get(table.qualifiedName()))));
      } catch (Exception e) {
        String message = Errors.describe(e);
        LOG.error("maintain {} failed: {}", table.qualifiedName(), message);
        results.add(new TableResult(table.qualifiedName(), 0, 0, false, null, message));
      }
    }
    return results;
  }

  private TableResult maintain(TableRef table, boolean vacuum, Optional<Instant> neededSince) {
    String quoted = "delta." + Identifiers.quote(table.path());
    long before = files(table.path());
    boolean compact = before > settings.maxFiles();
    if (compact) {
      Optional<String> order = clustering(table);
      spark.sql("OPTIMIZE " + quoted + order.map(c -> " ZORDER BY (" + c + ")").orElse(""));
      LOG.info("maintain {}: compacted {} files{}", table.qualifiedName(), before,
          order.map(c -> ", clustered by " + c).orElse(""));
    }
    Duration retention = null;
    if (vacuum) {
      retention = settings.retention();
      if (neededSince.isPresent()) {
        Duration needed = Duration.between(neededSince.get(), Instant.now()).plusHours(1);
        if (needed.compareTo(retention) > 0) {
          LOG.info("maintain {}: keeping {} of history, which a later step still reads", table.qualifiedName(), needed);
          retention = needed;
        }
      }
      long hours = Math.max(1, (retention.toMinutes() + 59) / 60);
      Map<String, Optional<String>> settings = new LinkedHashMap<>();
      VACUUM_CHECKS.forEach(key -> settings.put(key, Optional.of("false")));
      // VACUUM lists and joins files in as many tasks as this says (10,000 by default): on a small
      // cluster most of its time went to scheduling empty tasks (36 s against 12 s for one table).
      settings.put(LISTING_PARALLELISM,
          Optional.of(Integer.toString(Math.max(2, spark.sparkContext().defaultParallelism() * 2))));
      SessionSettings.with(spark, settings, () -> quietly(table.qualifiedName(),
          () -> spark.sql("VACUUM " + quoted + " RETAIN " + hours + " HOURS")));
    }
    return new TableResult(table.qualifiedName(), before, compact ? files(table.path()) : before, compact, retention, null);
  }

  /**
   * Runs {@code action} with Scala's console (where Delta's VACUUM prints its counts, next to the
   * command's own output) turned into a debug line. Scala's console is per thread, so only this
   * thread's prints are taken.
   */
  private static <T> T quietly(String table, java.util.function.Supplier<T> action) {
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    try {
      return scala.Console$.MODULE$.withOut(printed, action::get);
    } finally {
      String text = printed.toString(java.nio.charset.StandardCharsets.UTF_8).strip();
      if (!text.isEmpty()) {
        LOG.debug("maintain {}: {}", table, text.replace('\n', ' '));
      }
    }
  }

  /** Whether a table passed the file threshold. */
  public boolean needsCompaction(String path) {
    return DeltaTable.isDeltaTable(spark, path) && files(path) > settings.maxFiles();
  }

  private long files(String path) {
    // The commit's checksum knows the count; only without one is the state computed (a Spark job).
    // Not numOfFilesIfKnown: in this Delta it computes the state, a job per table on every stream
    // cycle that checks for compaction.
    var snapshot = DeltaSnapshots.latest(spark, path);
    var checksum = snapshot.checksumOpt();
    return checksum.isDefined() ? checksum.get().numFiles() : snapshot.numOfFiles();
  }

  /** How a table's rows are best kept together: bronze by batch, silver and facts by key. */
  private Optional<String> clustering(TableRef table) {
    Map<String, TableSpec> tables = new HashMap<>();
    spec.tables().forEach(t -> tables.put(t.name(), t));
    switch (table.layer()) {
      case LakehousePaths.BRONZE:
        return Optional.of("_batch_id");
      case LakehousePaths.SILVER: {
        TableSpec t = tables.get(table.name());
        return t == null || t.keyless() ? Optional.empty() : Optional.of(Identifiers.quote(t.silverKey().get(0)));
      }
      case LakehousePaths.GOLD: {
        var fact = spec.gold().facts().get(table.name());
        return fact == null ? Optional.empty() : Optional.of(Identifiers.quote(fact.grain().get(0)));
      }
      default:
        return Optional.empty();
    }
  }

  /**
   * For each table some gold table reads the change feed of, the commit time of the oldest version
   * it has not read yet: VACUUM must keep the files from there on.
   */
  private Map<String, Instant> oldestNeeded() {
    Map<String, Long> oldestVersion = new HashMap<>();
    for (TableRef table : LakehouseCatalog.discover(spark, paths)) {
      if (!table.layer().equals(LakehousePaths.GOLD)) {
        continue;
      }
      Commits.last(spark, table.path(), "gold").ifPresent(commit -> commit.positions().forEach((input, position) -> {
        if (position.isEmpty() || !(input.startsWith("silver.") || input.startsWith("gold."))) {
          return;
        }
        long version = Long.parseLong(position.split(":")[0]) + 1;
        oldestVersion.merge(input, version, Math::min);
      }));
    }
    Map<String, Instant> needed = new HashMap<>();
    oldestVersion.forEach((input, version) -> {
      String[] parts = input.split("\\.", 2);
      String path = paths.table(parts[0], parts[1]);
      java.util.OptionalLong latest = Commits.version(spark, path);
      if (latest.isEmpty() || latest.getAsLong() < version) {
        return;
      }
      // Only the commits from there on: after months of hourly runs a table has thousands of
      // commit files, and history() without a limit reads every one of them.
      int newest = (int) Math.min(Integer.MAX_VALUE, latest.getAsLong() - version + 1);
      List<Row> commit = DeltaTable.forPath(spark, path).history(newest)
          .where(functions.col("version").equalTo(version)).select("timestamp").collectAsList();
      if (!commit.isEmpty()) {
        needed.put(input, commit.get(0).getTimestamp(0).toInstant());
      }
    });
    return needed;
  }

  /**
   * Compacts every table of the lakehouse that passed the file threshold, without VACUUM: what a
   * long {@code stream} does between gold cycles, since each micro-batch adds a file to bronze and
   * the control tables. Safe next to the stream's appends: OPTIMIZE does not conflict with them.
   */
  public List<TableResult> compactWhereNeeded() {
    return run(overThreshold(t -> true), false);
  }

  /** The tables among {@code written} that passed the file threshold. */
  public List<TableRef> overThreshold(Set<String> written) {
    return overThreshold(t -> written.contains(t.qualifiedName()));
  }

  private List<TableRef> overThreshold(java.util.function.Predicate<TableRef> among) {
    return LakehouseCatalog.discover(spark, paths).stream().filter(t -> among.test(t) && needsCompaction(t.path()))
        .toList();
  }
}
