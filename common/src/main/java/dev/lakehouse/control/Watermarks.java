package dev.lakehouse.control;

import dev.lakehouse.bronze.CursorValue;
import dev.lakehouse.spark.DeltaSnapshots;
import dev.lakehouse.spark.SparkTimes;
import io.delta.tables.DeltaTable;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.Snapshot;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code _control/watermarks}: per source table, the bronze batches recorded and, for incremental
 * tables, the highest cursor value extracted so far ({@code cursor}, typed as {@code kind:value};
 * {@code watermark} is the same as a UTC timestamp for time cursors, for people and notebooks).
 * Append-only: each run adds a row per table it recorded, and a table's watermark is its row with
 * the highest batch. An append is one small commit that reads nothing; replacing rows in place
 * (MERGE or overwrite) costs Delta a scan of the table's state first, on every run. The rows
 * left behind are the watermark's history.
 *
 * <p>Bronze, log capture and silver each read the watermarks in every run, and each read was a
 * Spark job of 1.3 to 1.7 s. The map read or recorded last is kept in memory for the exact table
 * state it holds (the table's id and version): a read of that same state, or of the state this
 * JVM's own append made from it, costs a look at the log's latest version only. Any other state
 * (another writer, a re-created table, a batch recorded twice) is read again.
 */
public final class Watermarks {

  public static final StructType SCHEMA = new StructType()
      .add("table_name", DataTypes.StringType, false)
      .add("batch_id", DataTypes.LongType, false)
      .add("watermark", DataTypes.TimestampType, true)
      .add("run_id", DataTypes.StringType, false)
      .add("updated_at", DataTypes.TimestampType, false)
      .add("cursor", DataTypes.StringType, true);

  /** What bronze has recorded for one table. {@code cursor} is empty for full-mode tables. */
  public record Watermark(String table, long batchId, Optional<CursorValue> cursor, String runId) {}

  /** The current watermarks of a table state: its Delta table id and version. */
  private record Known(String tableId, long version, Map<String, Watermark> current) {}

  /** Per table path, the last state read or recorded in this JVM. */
  private static final Map<String, Known> KNOWN = new ConcurrentHashMap<>();

  private final SparkSession spark;
  private final String path;
  private final ZoneId sourceZone;

  public Watermarks(SparkSession spark, String path, ZoneId sourceZone) {
    this.spark = spark;
    this.path = path;
    this.sourceZone = sourceZone;
  }

  public Optional<Watermark> read(String table) {
    return Optional.ofNullable(readAll().get(table));
  }

  /** Every table's current watermark (its latest batch), in one read. */
  public Map<String, Watermark> readAll() {
    Map<String, Watermark> all = new HashMap<>();
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return all;
    }
    Snapshot snapshot = DeltaSnapshots.latest(spark, path);
    Known known = KNOWN.get(path);
    if (known != null && known.tableId().equals(snapshot.metadata().id()) && known.version() == snapshot.version()) {
      return new HashMap<>(known.current());
    }
    boolean typed = java.util.Arrays.asList(snapshot.schema().fieldNames()).contains("cursor");
    // Read at the version just looked at, so that what is kept belongs to that state.
    String from = table(path) + " VERSION AS OF " + snapshot.version();
    for (Row row : spark.sql(currentSql(from, typed)).collectAsList()) {
      String table = row.getAs("table_name");
      String encoded = row.getAs("cursor");
      Timestamp legacy = row.getAs("watermark");
      Optional<CursorValue> cursor = encoded != null ? Optional.of(CursorValue.decode(encoded))
          : Optional.ofNullable(legacy).map(t -> new CursorValue.TimestampTz(SparkTimes.instant(t)));
      all.put(table, new Watermark(table, row.<Long>getAs("batch_id"), cursor, row.getAs("run_id")));
    }
    KNOWN.put(path, new Known(snapshot.metadata().id(), snapshot.version(), Map.copyOf(all)));
    return all;
  }

  /** Records these tables' watermarks in one Delta commit. */
  public void recordAll(List<Watermark> watermarks) {
    if (watermarks.isEmpty()) {
      return;
    }
    Timestamp now = Timestamp.from(Instant.now());
    Known before = KNOWN.remove(path);
    ControlTables.append(spark, path, SCHEMA, watermarks.stream().map(w -> RowFactory.create(
        w.table(), w.batchId(),
        w.cursor().flatMap(c -> c.instant(sourceZone)).orElse(null),
        w.runId(), now, w.cursor().map(CursorValue::encode).orElse(null))).toList());
    if (before == null) {
      return;
    }
    // The append made the next version from the kept one only if the table is now at exactly
    // that version (an append lands after every commit before it, so no other writer came
    // between), and each table's batch rose (a batch recorded again would tie in currentSql).
    Snapshot after = DeltaSnapshots.latest(spark, path);
    if (!after.metadata().id().equals(before.tableId()) || after.version() != before.version() + 1) {
      return;
    }
    Map<String, Watermark> current = new HashMap<>(before.current());
    for (Watermark w : watermarks) {
      Watermark previous = current.get(w.table());
      if (previous != null && previous.batchId() >= w.batchId()) {
        return;
      }
      // As a read would give it back: the cursor through its stored form.
      current.put(w.table(), new Watermark(w.table(), w.batchId(),
          w.cursor().map(c -> CursorValue.decode(c.encode())), w.runId()));
    }
    KNOWN.put(path, new Known(before.tableId(), after.version(), Map.copyOf(current)));
  }

  /** The current watermarks, one row per table: each table's row with the highest batch. */
  public static String currentSql(String path) {
    return currentSql(table(path), true);
  }

  private static String table(String path) {
    return "delta.`" + path.replace("`", "``") + "`";
  }

  private static String currentSql(String from, boolean typed) {
    return "SELECT table_name, max(batch_id) AS batch_id, max_by(watermark, batch_id) AS watermark,"
        + " max_by(run_id, batch_id) AS run_id, "
        + (typed ? "max_by(cursor, batch_id)" : "CAST(NULL AS STRING)") + " AS cursor"
        + " FROM " + from + " GROUP BY table_name";
  }
}
