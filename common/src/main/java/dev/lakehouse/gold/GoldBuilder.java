package dev.lakehouse.gold;

import com.typesafe.config.Config;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.catalog.LakehouseCatalog;
import dev.lakehouse.config.LakehouseConfig;
import dev.lakehouse.config.LakehousePaths;
import dev.lakehouse.config.TableSpec;
import dev.lakehouse.control.BatchCommits;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.GoldProgress;
import dev.lakehouse.control.GoldProgress.Position;
import dev.lakehouse.control.RunLog;
import io.delta.tables.DeltaTable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds gold from silver: the configured SCD Type 2 dimensions, the order facts with keys
 * resolved as of the order time, the calendar, and the marts. Every write is idempotent (the SCD2
 * merge and fact MERGEs change nothing when re-applied, marts are overwritten), and progress is
 * recorded last, so a re-run after a crash at any point gives the same tables.
 */
public final class GoldBuilder {

  private static final Logger LOG = LoggerFactory.getLogger(GoldBuilder.class);
  public static final String JOB = "gold";

  /** What one gold table got in this run. */
  public record TableResult(String table, long inserted, long updated, long deleted, String detail) {}

  /** A configured dimension: its source table and its SCD2 spec. */
  public record Dimension(String source, Scd2Spec spec) {
    public String table() {
      return "dim_" + spec.name();
    }
  }

  private final SparkSession spark;
  private final LakehouseConfig config;
  private final LakehousePaths paths;

  public GoldBuilder(SparkSession spark, LakehouseConfig config) {
    this.spark = spark;
    this.config = config;
    this.paths = config.paths();
  }

  public static Map<String, Dimension> dimensions(LakehouseConfig config) {
    Map<String, Dimension> dimensions = new TreeMap<>();
    Config gold = config.raw().getConfig("lakehouse.gold.dimensions");
    for (String name : gold.root().keySet()) {
      Config c = gold.getConfig(name);
      dimensions.put(name, new Dimension(c.getString("source"), Scd2Spec.from(name, c)));
    }
    return dimensions;
  }

  /** Mart name to its SQL, in name order. */
  public static Map<String, String> marts(LakehouseConfig config) {
    Map<String, String> marts = new TreeMap<>();
    config.raw().getConfig("lakehouse.gold.marts").root()
        .forEach((name, value) -> marts.put(name, String.valueOf(value.unwrapped())));
    return marts;
  }

  public List<TableResult> build(String runId) {
    Instant started = Instant.now();
    Map<String, Dimension> dimensions = dimensions(config);
    Set<String> sources = new LinkedHashSet<>();
    dimensions.values().forEach(d -> sources.add(d.source()));
    sources.add(OrderFacts.ORDERS);
    sources.add(OrderFacts.ITEMS);

    GoldProgress progress = new GoldProgress(spark, paths.control("gold_progress"));
    Map<String, Position> consumed = progress.readAll();
    Map<String, Position> from = new HashMap<>();
    Map<String, Position> to = new HashMap<>();
    for (String source : sources) {
      from.put(source, consumed.getOrDefault(source, Position.none(source)));
      to.put(source, current(source));
    }

    List<TableResult> results = new ArrayList<>();
    Map<String, Scd2Merge> merges = new LinkedHashMap<>();
    Map<String, Dataset<Row>> changedKeys = new HashMap<>();
    List<Dataset<Row>> persisted = new ArrayList<>();
    try {
      for (Map.Entry<String, Dimension> entry : dimensions.entrySet()) {
        Dimension dimension = entry.getValue();
        TableSpec source = config.table(dimension.source()).orElseThrow(() -> new LakehouseException(
            "gold dimension " + entry.getKey() + ": no table '" + dimension.source() + "' in lakehouse.tables"));
        Scd2Merge merge = new Scd2Merge(spark, paths.gold(dimension.table()), dimension.spec());
        merge.createIfMissing(spark.read().format("delta").load(paths.silver(dimension.source())).schema());
        Dataset<Row> changes = DimensionChanges.between(spark, paths, source, dimension.spec(),
            from.get(dimension.source()), to.get(dimension.source())).persist(StorageLevel.MEMORY_AND_DISK());
        persisted.add(changes);
        Scd2Result result = merge.apply(changes);
        CrashPoints.reach("gold.after-dimension");
        results.add(new TableResult(dimension.table(), result.rowsInserted(), result.rowsUpdated(), 0,
            result.toString()));
        merges.put(entry.getKey(), merge);
        changedKeys.put(entry.getKey(), changes.select(dimension.spec().naturalKey().get(0)).distinct());
      }

      Scd2Merge customers = require(merges, "customer");
      Scd2Merge products = require(merges, "product");
      for (OrderFacts.Counts counts : new OrderFacts(spark, paths).update(runId, from, to, customers, products,
          changedKeys.get("customer"), changedKeys.get("product"))) {
        results.add(new TableResult(counts.table(), counts.inserted(), counts.updated(), counts.deleted(), ""));
      }
      CrashPoints.reach("gold.after-facts");

      LakehouseCatalog.registerAll(spark, paths);
      for (Map.Entry<String, String> mart : marts(config).entrySet()) {
        Dataset<Row> rows = spark.sql(mart.getValue());
        rows.write().format("delta").mode("overwrite").option("overwriteSchema", "true").save(paths.gold(mart.getKey()));
        results.add(new TableResult(mart.getKey(), spark.read().format("delta").load(paths.gold(mart.getKey())).count(), 0, 0,
            "rebuilt"));
      }
      LakehouseCatalog.registerAll(spark, paths);
      CrashPoints.reach("gold.after-marts");
    } finally {
      persisted.forEach(Dataset::unpersist);
    }
    progress.recordAll(new ArrayList<>(to.values()), runId);
    new RunLog(spark, paths.control("runs")).appendAll(results.stream().map(r -> new RunLog.Entry(runId, JOB,
        r.table(), to.get(OrderFacts.ITEMS).bronzeBatch(), null, r.inserted() + r.updated() + r.deleted(),
        started, Instant.now(), RunLog.Status.SUCCEEDED, null)).toList());
    results.forEach(r -> LOG.info("gold {}: {} inserted, {} updated, {} deleted {}", r.table(), r.inserted(),
        r.updated(), r.deleted(), r.detail()));
    return results;
  }

  private Position current(String source) {
    String silver = paths.silver(source);
    if (!DeltaTable.isDeltaTable(spark, silver)) {
      throw new LakehouseException("silver." + source + " does not exist yet; run silver first");
    }
    long version = DeltaTable.forPath(spark, silver).history(1).first().getLong(0);
    return new Position(source, version, BatchCommits.lastBatch(spark, silver));
  }

  private static Scd2Merge require(Map<String, Scd2Merge> merges, String name) {
    Scd2Merge merge = merges.get(name);
    if (merge == null) {
      throw new LakehouseException("the order facts need lakehouse.gold.dimensions." + name);
    }
    return merge;
  }
}
