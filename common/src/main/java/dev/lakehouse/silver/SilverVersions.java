package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.not;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.bronze.BronzeOps;
import dev.lakehouse.control.Commits;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.TableSpec;
import io.delta.tables.DeltaTable;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * What silver publishes for the layer above: its live rows, the changes between two of its
 * versions, and every version the source showed between two bronze batches, conformed as silver
 * conforms them and without the rows silver quarantined. Gold reads silver through this and never
 * re-implements it.
 */
public final class SilverVersions {

  /** When the source changed (an instant), in {@link #versions} and {@link #deletes}. */
  public static final String CHANGE_TIME = "_change_time";
  /** When the lakehouse saw the change (landing time of a version, detection time of a delete). */
  public static final String OBSERVED_AT = "_observed_at";

  /** How far silver has got: its Delta version and the bronze batch it has applied up to. */
  public record Position(long silverVersion, long bronzeBatch) {
    public static final Position NONE = new Position(-1, 0);

    public boolean before(Position other) {
      return silverVersion < other.silverVersion;
    }
  }

  private final SparkSession spark;
  private final LakehousePaths paths;
  private final ZoneId sourceZone;

  /** The zone the source writes times without a zone in ({@code lakehouse.source.time-zone}). */
  public ZoneId sourceZone() {
    return sourceZone;
  }

  public SilverVersions(SparkSession spark, LakehousePaths paths, ZoneId sourceZone) {
    this.spark = spark;
    this.paths = paths;
    this.sourceZone = sourceZone;
  }

  public boolean exists(String table) {
    return DeltaTable.isDeltaTable(spark, paths.silver(table));
  }

  /** Silver's current position for a table; an error naming the table when silver has none yet. */
  public Position position(String table) {
    OptionalLong version = Commits.version(spark, paths.silver(table));
    if (version.isEmpty()) {
      throw new LakehouseException("silver." + table + " does not exist yet: bronze and silver have not landed "
          + table);
    }
    return new Position(version.getAsLong(), Commits.lastBatch(spark, paths.silver(table)));
  }

  /** Every row, live or soft-deleted. */
  public Dataset<Row> all(String table) {
    return spark.read().format("delta").load(paths.silver(table));
  }

  /** The live rows (soft-deleted ones left out), with silver's own columns. */
  public Dataset<Row> live(String table) {
    return all(table).where(not(col("_is_deleted")));
  }

  /** The live rows as silver held them at one of its versions. */
  public Dataset<Row> liveAt(String table, long version) {
    return spark.read().format("delta").option("versionAsOf", version).load(paths.silver(table))
        .where(not(col("_is_deleted")));
  }

  /**
   * Every version landed in bronze batches {@code (fromBatch, toBatch]}, conformed, without the
   * rows silver quarantined or delete markers: silver's columns plus {@value #CHANGE_TIME} and
   * {@value #OBSERVED_AT}.
   */
  public Dataset<Row> versions(TableSpec table, long fromBatch, long toBatch) {
    return versions(table, new Position(-1, fromBatch), new Position(-1, toBatch));
  }

  /**
   * As {@link #versions(TableSpec, long, long)}, between two positions. For a table in log mode
   * every committed state (one per transaction), unchanged TOASTed values taken from the previous
   * version (silver as of {@code from} for the first).
   */
  public Dataset<Row> versions(TableSpec table, Position from, Position to) {
    long fromBatch = from.bronzeBatch();
    long toBatch = to.bronzeBatch();
    Dataset<Row> bronze = spark.read().format("delta").load(paths.bronze(table.name()));
    Conformer conformer = new Conformer(table.conform(), table.name());
    Dataset<Row> rows = SilverRows.batches(bronze, table, fromBatch, toBatch)
        .where(col(BronzeOps.OP).notEqual(BronzeOps.DELETE));
    if (table.log()) {
      List<String> identity = BronzeOps.identity(table);
      rows = LogRows.lastPerTransaction(rows, identity);
      List<String> unchanged = LogRows.unchangedColumns(rows);
      Dataset<Row> before = null;
      if (!unchanged.isEmpty() && from.silverVersion() >= 0) {
        List<org.apache.spark.sql.Column> back = new ArrayList<>();
        for (String key : identity) {
          back.add(col(Identifiers.quote(conformer.silverName(key))).as(key));
        }
        for (String column : unchanged) {
          back.add(col(Identifiers.quote(conformer.silverName(column))).cast(bronze.schema().apply(column).dataType())
              .as(column));
        }
        before = spark.read().format("delta").option("versionAsOf", from.silverVersion())
            .load(paths.silver(table.name())).select(back.toArray(org.apache.spark.sql.Column[]::new));
      }
      rows = LogRows.withUnchangedFilled(rows, identity, unchanged, before)
          .drop(dev.lakehouse.bronze.LogCapture.UNCHANGED, dev.lakehouse.bronze.LogCapture.SEQ);
    }
    // Query-based versions are observed when they landed; the log says when each committed.
    rows = rows.withColumn(CHANGE_TIME, SilverRows.changeTime(table, bronze, sourceZone))
        .withColumn(OBSERVED_AT, table.log() ? SilverRows.changeTime(table, bronze, sourceZone) : col("_ingested_at"))
        .drop("_source", BronzeOps.ROW_HASH, BronzeOps.OP);
    Dataset<Row> conformed = conformer.dropFlags(conformer.apply(rows));
    String quarantine = paths.quarantine(table.name());
    if (DeltaTable.isDeltaTable(spark, quarantine)) {
      List<String> identity = new ArrayList<>(BronzeOps.identity(table).stream().map(conformer::silverName).toList());
      identity.add("_batch_id");
      Dataset<Row> held = spark.read().format("delta").load(quarantine)
          .select(identity.stream().map(c -> col(Identifiers.quote(c))).toArray(org.apache.spark.sql.Column[]::new))
          .distinct();
      conformed = conformed.join(held, identity.toArray(String[]::new), "left_anti");
    }
    return conformed;
  }

  /**
   * The keys silver soft-deleted between two positions, with the attributes they had and
   * {@value #CHANGE_TIME} = {@value #OBSERVED_AT} = {@code _deleted_at}. From the beginning when
   * {@code from} is {@link Position#NONE}.
   */
  public Dataset<Row> deletes(String table, Position from, Position to) {
    Dataset<Row> feed = from.silverVersion() < 0 ? all(table) : changeFeed(table, from, to)
        .where(col("_change_type").isin("insert", "update_postimage"));
    return feed.where(col("_is_deleted"))
        .withColumn(CHANGE_TIME, col("_deleted_at"))
        .withColumn(OBSERVED_AT, col("_deleted_at"));
  }

  /**
   * For a table in log mode, every delete the log holds between two positions (silver keeps only
   * the latest state, so a key deleted and re-inserted in between shows only here), keys and
   * {@value #CHANGE_TIME} = {@value #OBSERVED_AT} = the delete's commit time, in silver's names.
   */
  public Dataset<Row> logDeletes(TableSpec table, Position from, Position to) {
    Dataset<Row> bronze = spark.read().format("delta").load(paths.bronze(table.name()));
    Conformer conformer = new Conformer(table.conform(), table.name());
    List<String> identity = BronzeOps.identity(table);
    Dataset<Row> window = SilverRows.batches(bronze, table, from.bronzeBatch(), to.bronzeBatch());
    Dataset<Row> rows = LogRows.lastPerTransaction(window, identity).where(col(BronzeOps.OP).equalTo(BronzeOps.DELETE));
    List<org.apache.spark.sql.Column> keys = new ArrayList<>();
    for (String key : identity) {
      keys.add(col(Identifiers.quote(key)).as(conformer.silverName(key)));
    }
    keys.add(col(dev.lakehouse.bronze.LogCapture.COMMIT_TIME).as(CHANGE_TIME));
    keys.add(col(dev.lakehouse.bronze.LogCapture.COMMIT_TIME).as(OBSERVED_AT));
    Dataset<Row> deletes = rows.select(keys.toArray(org.apache.spark.sql.Column[]::new));
    // A truncate deletes every key that had a version before it: those of the window, and those
    // silver held when the window began. A key already deleted by then is absorbed by the SCD2 merge.
    Dataset<Row> truncates = window.where(col(BronzeOps.OP).equalTo(dev.lakehouse.bronze.LogCapture.TRUNCATE))
        .select(col(dev.lakehouse.bronze.LogCapture.LSN).as("_t_lsn"),
            col(dev.lakehouse.bronze.LogCapture.COMMIT_TIME).as("_t_time"));
    if (truncates.isEmpty()) {
      return deletes;
    }
    List<org.apache.spark.sql.Column> seenKeys = new ArrayList<>();
    for (String key : identity) {
      seenKeys.add(col(Identifiers.quote(key)).as(conformer.silverName(key)));
    }
    seenKeys.add(col(dev.lakehouse.bronze.LogCapture.LSN).as("_k_lsn"));
    Dataset<Row> seen = window.where(col(BronzeOps.OP).notEqual(dev.lakehouse.bronze.LogCapture.TRUNCATE))
        .select(seenKeys.toArray(org.apache.spark.sql.Column[]::new));
    if (from.silverVersion() >= 0) {
      List<org.apache.spark.sql.Column> silverKeys = new ArrayList<>();
      for (String key : identity) {
        silverKeys.add(col(Identifiers.quote(conformer.silverName(key))));
      }
      silverKeys.add(org.apache.spark.sql.functions.lit(0L).as("_k_lsn"));
      seen = seen.unionByName(spark.read().format("delta").option("versionAsOf", from.silverVersion())
          .load(paths.silver(table.name())).where(not(col("_is_deleted")))
          .select(silverKeys.toArray(org.apache.spark.sql.Column[]::new)));
    }
    List<org.apache.spark.sql.Column> emptied = new ArrayList<>();
    for (String key : identity) {
      emptied.add(col(Identifiers.quote(conformer.silverName(key))));
    }
    emptied.add(col("_t_time").as(CHANGE_TIME));
    emptied.add(col("_t_time").as(OBSERVED_AT));
    return deletes.unionByName(seen.join(truncates, col("_k_lsn").lt(col("_t_lsn")))
        .select(emptied.toArray(org.apache.spark.sql.Column[]::new)).distinct());
  }

  /**
   * Silver's change feed between two positions: every row changed, before and after the change
   * ({@code _change_type}), soft deletes and revivals included. Everything when {@code from} is
   * {@link Position#NONE}; nothing when the positions are equal.
   */
  public Dataset<Row> changes(String table, Position from, Position to) {
    if (from.silverVersion() < 0) {
      return all(table);
    }
    if (to.silverVersion() <= from.silverVersion()) {
      return all(table).limit(0);
    }
    return changeFeed(table, from, to);
  }

  private Dataset<Row> changeFeed(String table, Position from, Position to) {
    if (to.silverVersion() <= from.silverVersion()) {
      return all(table).limit(0).withColumn("_change_type", org.apache.spark.sql.functions.lit(""));
    }
    return spark.read().format("delta").option("readChangeFeed", "true")
        .option("startingVersion", from.silverVersion() + 1)
        .option("endingVersion", to.silverVersion())
        .load(paths.silver(table));
  }
}
