package dev.lakehouse.bronze;

import static dev.lakehouse.source.SourceDatabase.ident;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.control.Commits;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.control.Watermarks.Watermark;
import dev.lakehouse.extract.CopyExtraction;
import dev.lakehouse.extract.InfiniteValues;
import dev.lakehouse.extract.SourceColumn;
import dev.lakehouse.extract.SourceColumns;
import dev.lakehouse.spark.Observations;
import dev.lakehouse.spark.SparkTimes;
import dev.lakehouse.spark.TableProperties;
import dev.lakehouse.spark.TypeWidening;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.spec.TableSpec;
import dev.lakehouse.source.SourceDatabase;
import io.delta.tables.DeltaTable;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Observation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lands source tables in {@code <root>/bronze/<table>}: append-only Delta tables holding every
 * source version with {@code _batch_id}, {@code _ingested_at}, {@code _source} and {@code _op}
 * ({@link BronzeOps}).
 *
 * <p>Per table, in order: (1) recover a batch an interrupted run committed but did not record;
 * (2) open one exported snapshot on the source; (3) check the columns, the key (no NULL, no
 * duplicate) and the schema drift, before anything is written; (4) read the window (incremental),
 * or the whole table (full); (5) keep only what bronze does not hold yet; (6) write it as one
 * commit tagged with the batch (see {@link Commits}), or nothing at all when nothing is new. The
 * watermarks are recorded after every table, as one commit: the run's commit point. A table that
 * fails is reported and the others still load.
 */
public final class BronzeLoader {

  private static final Logger LOG = LoggerFactory.getLogger(BronzeLoader.class);
  public static final String JOB = "bronze";
  private static final String NULL_KEY_MARKER = "lakehouse: NULL key";
  private static final String STATS_COLUMNS = "delta.dataSkippingStatsColumns";
  private static final String COLUMN_MAPPING = "delta.columnMapping.mode";

  /**
   * What one table's bronze step did. {@code landed}: it committed batch {@code batchId}, which
   * holds rows except for an empty table's first batch; false when nothing was new.
   */
  public record TableResult(String table, long batchId, long rowsRead, long rowsWritten,
                            Optional<CursorValue> watermark, RunLog.Status status, String error, String note,
                            boolean landed) {

    public TableResult(String table, long batchId, long rowsRead, long rowsWritten, Optional<CursorValue> watermark,
                       RunLog.Status status, String error, String note) {
      this(table, batchId, rowsRead, rowsWritten, watermark, status, error, note, rowsWritten > 0);
    }

    public TableResult(String table, long batchId, long rowsRead, long rowsWritten, Optional<CursorValue> watermark,
                       RunLog.Status status, String error) {
      this(table, batchId, rowsRead, rowsWritten, watermark, status, error, null);
    }

    public boolean failed() {
      return status == RunLog.Status.FAILED;
    }

    public boolean committed() {
      return status == RunLog.Status.RECOVERED || (status == RunLog.Status.SUCCEEDED && landed);
    }
  }

  private final SparkSession spark;
  private final SourceSettings source;
  private final LakehousePaths paths;
  private final Watermarks watermarks;

  public BronzeLoader(SparkSession spark, SourceSettings source, LakehousePaths paths) {
    this.spark = spark;
    this.source = source;
    this.paths = paths;
    this.watermarks = new Watermarks(spark, paths.control("watermarks"), source.timeZone());
  }

  /**
   * Loads every table; a table that fails is reported and the others still load. The watermarks
   * of the batches committed are recorded once, at the end.
   */
  public List<TableResult> load(String runId, List<TableSpec> tables) {
    return load(runId, tables, 1);
  }

  /** As {@link #load(String, List)}, {@code parallelism} tables at a time. */
  public List<TableResult> load(String runId, List<TableSpec> tables, int parallelism) {
    // One connection up front so an unreachable source or a wrong password fails once, clearly.
    try (Connection ignored = SourceDatabase.connect(source)) {
      LOG.debug("Source reachable: {}", source);
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot close the source connection", e);
    }
    Map<String, Watermark> recorded = watermarks.readAll();
    List<TableResult> results = new ArrayList<>();
    try {
      results.addAll(dev.lakehouse.spark.Parallel.map(spark, tables, parallelism, (table, session) ->
          new BronzeLoader(session, source, paths).loadTable(runId, table, Optional.ofNullable(recorded.get(table.name())))));
    } finally {
      // The run's commit point: whatever dies before it is repaired by the next run from the
      // tagged bronze commits.
      watermarks.recordAll(results.stream().filter(TableResult::committed)
          .map(r -> new Watermark(r.table(), r.batchId(), r.watermark(), runId)).toList());
      CrashPoints.reach("bronze.after-watermarks");
    }
    return results;
  }

  TableResult loadTable(String runId, TableSpec table, Optional<Watermark> recorded) {
    String path = paths.bronze(table.name());
    long recordedBatch = recorded.map(Watermark::batchId).orElse(0L);
    Optional<CursorValue> previous = recorded.flatMap(Watermark::cursor);
    long batchId = recordedBatch + 1;
    try {
      Optional<Commits.Commit> committed = Commits.last(spark, path, JOB);
      if (committed.isPresent() && committed.get().batch() > recordedBatch) {
        return recover(table, committed.get(), previous);
      }
      Extracted extracted = extract(runId, table, batchId, previous, Instant.now(), Optional.empty(),
          committed.flatMap(c -> SourceIdentity.recorded(c.positions())));
      if (!extracted.committed()) {
        LOG.info("bronze {}: read {} rows, nothing new to land", table.name(), extracted.rowsRead());
        return new TableResult(table.name(), recordedBatch, extracted.rowsRead(), 0, previous,
            RunLog.Status.SUCCEEDED, null, extracted.note());
      }
      CrashPoints.reach("bronze.after-commit");
      Optional<CursorValue> watermark = table.incremental()
          ? IncrementalWindow.advance(previous, extracted.maxCursor()) : Optional.empty();
      LOG.info("bronze {}: batch {} read {} rows, landed {}{}", table.name(), batchId, extracted.rowsRead(),
          extracted.rowsWritten(), watermark.map(w -> ", watermark " + w.encode()).orElse(""));
      return new TableResult(table.name(), batchId, extracted.rowsRead(), extracted.rowsWritten(), watermark,
          RunLog.Status.SUCCEEDED, null, extracted.note(), true);
    } catch (Exception e) {
      String message = describe(e);
      LOG.error("bronze {} failed: {}", table.name(), message);
      LOG.debug("bronze {} failure detail", table.name(), e);
      return new TableResult(table.name(), batchId, 0, 0, previous, RunLog.Status.FAILED, message);
    }
  }

  /**
   * {@code note}: what a person should know about a landing that succeeded (a dropped column), or
   * null. {@code committed}: a batch was committed. The first landing always commits one, even of
   * an empty table (it writes as it reads, without counting first): that is the table's batch 1,
   * so silver and gold start from an empty table rather than from none.
   */
  private record Extracted(long rowsRead, long rowsWritten, Optional<CursorValue> maxCursor, String note,
                           boolean committed) {}

  /**
   * Lands, as one batch, the source's current rows of keys reconcile found in the source but not
   * in silver (values of the key columns, in key order, as silver holds them), which no window will
   * show: {@code back}, keys silver has deleted (restored with an old cursor, or as they were), and
   * {@code missed}, keys silver never had, of rows whose cursor is older than the next window's
   * lower bound (a commit later than the lookback, a row inserted with an old change time). A
   * missed key whose row the next window reads anyway is left to it. Commits nothing when no row
   * qualifies; the watermark does not move.
   */
  public TableResult reland(String runId, TableSpec table, List<Row> back, List<Row> missed) {
    Optional<Watermark> recorded = watermarks.read(table.name());
    long batchId = recorded.map(Watermark::batchId).orElse(0L) + 1;
    Optional<CursorValue> watermark = recorded.flatMap(Watermark::cursor);
    // Without a watermark the next window has no lower bound: it reads every missed row itself.
    Optional<String> behind = watermark.flatMap(w -> IncrementalWindow.after(watermark, table.lookback(), w.kind(),
            Instant.now(), source.timeZone()).lower())
        .map(lower -> ident(table.cursor().orElseThrow()) + " < " + lower.sqlLiteral());
    try (Connection connection = SourceDatabase.connect(source)) {
      connection.setAutoCommit(false);
      connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      String schema = SourceDatabase.schemaOf(connection, source, table);
      String qualified = SourceDatabase.qualified(schema, table.sourceTable());
      String snapshot;
      try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_export_snapshot()")) {
        rs.next();
        snapshot = rs.getString(1);
      }
      List<String> conditions = new ArrayList<>(keyConditions(table, back));
      if (behind.isPresent()) {
        for (String keys : keyConditions(table, missed)) {
          String condition = keys + " AND " + behind.get();
          // Counted first, in the same snapshot: missed keys are mostly rows committed since bronze
          // read, which the next window takes; landing none must not commit an empty batch.
          if (scalar(connection, "SELECT count(*) FROM " + qualified + " WHERE " + condition) > 0) {
            conditions.add(condition);
          }
        }
      }
      if (conditions.isEmpty()) {
        connection.commit();
        return new TableResult(table.name(), batchId - 1, 0, 0, watermark, RunLog.Status.SUCCEEDED, null);
      }
      List<SourceColumn> columns = sourceColumns(connection, schema, table);
      List<String> selects = conditions.stream()
          .map(condition -> "SELECT " + SourceColumns.selectList(columns) + " FROM " + qualified + " WHERE " + condition)
          .toList();
      String label = source.label() + "." + qualified.replace("\"", "");
      Dataset<Row> rows = CopyExtraction.read(spark, source, columns, selects, Optional.of(snapshot))
          .withColumn("_batch_id", lit(batchId))
          .withColumn("_ingested_at", lit(Timestamp.from(Instant.now())))
          .withColumn("_source", lit(label))
          .withColumn(BronzeOps.OP, lit(BronzeOps.UPSERT));
      if (table.full() && table.land() == TableSpec.Land.CHANGED) {
        rows = rows.withColumn(BronzeOps.ROW_HASH, BronzeOps.hash(columns.stream().map(SourceColumn::name).toList()));
      }
      Observation landed = new Observation("bronze-relanded-" + table.name());
      // The identity bronze read by goes on unchanged: these rows are not a read of the whole table.
      Map<String, String> identity = Commits.last(spark, paths.bronze(table.name()), JOB)
          .flatMap(c -> SourceIdentity.recorded(c.positions())).map(SourceIdentity::positions).orElse(Map.of());
      append(rows.observe(landed, functions.count(lit(1)).as("rows")), table, batchId, runId, false, identity,
          paths.bronze(table.name()));
      connection.commit();
      long written = (Long) Observations.required(landed, "the rows landed in bronze." + table.name()).get("rows");
      watermarks.recordAll(List.of(new Watermark(table.name(), batchId, watermark, runId)));
      LOG.info("bronze {}: batch {} holds {} rows of keys in the source that silver lacks and no window will read",
          table.name(), batchId, written);
      return new TableResult(table.name(), batchId, written, written, watermark, RunLog.Status.SUCCEEDED, null);
    } catch (Exception e) {
      String message = describe(e);
      LOG.error("bronze {} failed: {}", table.name(), message);
      return new TableResult(table.name(), batchId, 0, 0, watermark, RunLog.Status.FAILED, message);
    }
  }

  /** {@code (k1, k2) IN ((v1, v2), ...)} over the source's key columns, 1,000 keys per condition. */
  private static List<String> keyConditions(TableSpec table, List<Row> keys) {
    String keyList = "(" + table.primaryKey().stream().map(SourceDatabase::ident).collect(Collectors.joining(", ")) + ")";
    List<String> conditions = new ArrayList<>();
    for (int from = 0; from < keys.size(); from += 1000) {
      List<String> tuples = new ArrayList<>();
      for (Row key : keys.subList(from, Math.min(keys.size(), from + 1000))) {
        List<String> values = new ArrayList<>();
        for (int i = 0; i < key.length(); i++) {
          values.add(sqlLiteral(key.get(i)));
        }
        tuples.add("(" + String.join(", ", values) + ")");
      }
      conditions.add(keyList + " IN (" + String.join(", ", tuples) + ")");
    }
    return conditions;
  }

  /** A key value as a PostgreSQL literal, quoted as text (the server casts it to the column's type). */
  private static String sqlLiteral(Object value) {
    if (value == null) {
      return "NULL";
    }
    if (value instanceof Number || value instanceof Boolean) {
      return value.toString();
    }
    if (value instanceof Timestamp t) {
      return Identifiers.literal(SparkTimes.instant(t).toString());
    }
    return Identifiers.literal(value.toString());
  }

  /**
   * A snapshot exported elsewhere (a replication slot's), to read a table as of it, and the log
   * position it stands for.
   */
  public record LogSnapshot(String id, long lsn) {}

  /**
   * The initial copy of a log table: the whole table as of {@code snapshot} (exported with a
   * replication slot), landed as batch 1, its commit recording the log position the snapshot
   * stands for. Changes from the log before that position are in it already.
   */
  public TableResult snapshot(String runId, TableSpec table, LogSnapshot snapshot) {
    try {
      Extracted extracted = extract(runId, table, 1, Optional.empty(), Instant.now(), Optional.of(snapshot),
          Optional.empty());
      LOG.info("bronze {}: snapshot of {} rows as of log position {}", table.name(), extracted.rowsWritten(),
          org.postgresql.replication.LogSequenceNumber.valueOf(snapshot.lsn()));
      return new TableResult(table.name(), 1, extracted.rowsRead(), extracted.rowsWritten(), Optional.empty(),
          RunLog.Status.SUCCEEDED, null);
    } catch (Exception e) {
      String message = describe(e);
      LOG.error("bronze {} failed: {}", table.name(), message);
      LOG.debug("bronze {} failure detail", table.name(), e);
      return new TableResult(table.name(), 1, 0, 0, Optional.empty(), RunLog.Status.FAILED, message);
    }
  }

  /** {@code recorded}: the source identity the last bronze commit holds (see {@link SourceIdentity}). */
  private Extracted extract(String runId, TableSpec table, long batchId, Optional<CursorValue> previous,
                            Instant started, Optional<LogSnapshot> logSnapshot, Optional<SourceIdentity> recorded)
      throws SQLException, InterruptedException {
    String path = paths.bronze(table.name());
    try (Connection connection = SourceDatabase.connect(source)) {
      // One snapshot for the whole extraction: every partition imports it, as pg_dump -j does.
      connection.setAutoCommit(false);
      connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      String schema = SourceDatabase.schemaOf(connection, source, table);
      String qualified = SourceDatabase.qualified(schema, table.sourceTable());
      String snapshot;
      Timestamp now;
      if (logSnapshot.isPresent()) {
        try (Statement s = connection.createStatement()) {
          s.execute("SET TRANSACTION SNAPSHOT " + dev.lakehouse.spec.Identifiers.literal(logSnapshot.get().id()));
        }
      }
      try (Statement s = connection.createStatement();
           ResultSet rs = s.executeQuery(logSnapshot.isPresent() ? "SELECT NULL, statement_timestamp()"
               : "SELECT pg_export_snapshot(), statement_timestamp()")) {
        rs.next();
        snapshot = logSnapshot.map(LogSnapshot::id).orElse(rs.getString(1));
        now = rs.getTimestamp(2);
      }
      List<SourceColumn> columns = sourceColumns(connection, schema, table);
      Map<String, SourceColumn> byName = new LinkedHashMap<>();
      columns.forEach(c -> byName.put(c.name(), c));
      checkColumnNames(table, qualified, columns);
      SourceIdentity identity = SourceIdentity.read(connection, qualified);
      for (String key : table.primaryKey()) {
        requireColumn(byName, key, qualified, table, "primary-key");
      }
      for (String column : concat(table.primaryKey(), table.cursor(), table.partitionColumn())) {
        if (table.asText().contains(column)) {
          throw new LakehouseException("lakehouse.tables." + table.name() + ".as-text: " + column
              + " is a key, cursor or partition column, which must keep its type");
        }
      }

      boolean landedBefore = DeltaTable.isDeltaTable(spark, path);
      // Read once: the window looks for new columns, the drift check compares every column.
      StructType landedSchema = landedBefore ? spark.read().format("delta").load(path).schema() : null;
      String window = "TRUE";
      String waiting = null;
      Optional<CursorValue> lower = Optional.empty();
      Optional<CursorValue.Kind> cursorKind = Optional.empty();
      if (table.cursor().isPresent()) {
        SourceColumn cursor = requireColumn(byName, table.cursor().get(), qualified, table, "cursor");
        cursorKind = CursorValue.Kind.of(cursor.pgType());
        if (cursorKind.isEmpty()) {
          throw new LakehouseException("Cursor column " + cursor.name() + " of " + qualified + " is " + cursor.sqlType()
              + "; lakehouse.tables." + table.name() + ".cursor must be a timestamptz, timestamp, date or integer column");
        }
        if (previous.isPresent() && previous.get().kind() != cursorKind.get()) {
          throw CursorValue.mismatch(table.name(), cursorKind.get(), previous.get());
        }
      }
      if (table.incremental()) {
        CursorValue.Kind kind = cursorKind.orElseThrow();
        SourceColumn cursor = byName.get(table.cursor().get());
        table.lookback().problemWith(table.name(), cursor.name(), cursor.sqlType(), kind == CursorValue.Kind.INTEGER)
            .ifPresent(problem -> {
              throw new LakehouseException(problem);
            });
        if (cursor.nullable()) {
          // A NOT NULL cursor needs no look: without an index on it, the look is a scan per run.
          requireNoNullCursor(connection, qualified, cursor.name());
        }
        IncrementalWindow incremental = IncrementalWindow.after(previous, table.lookback(), kind, now.toInstant(),
            source.timeZone());
        List<String> added = landedBefore ? notLanded(columns, landedSchema) : List.of();
        if (!added.isEmpty()) {
          LOG.info("bronze {}: new {} {}: the rows holding a value in {} are read too, whatever their cursor",
              table.name(), added.size() == 1 ? "column" : "columns", added, added.size() == 1 ? "it" : "them");
        }
        Optional<String> renewed = landedBefore && recorded.isPresent()
            ? identity.renewedSince(recorded.get(), landedSchema) : Optional.empty();
        if (renewed.isPresent()) {
          LOG.warn("bronze {}: {} since the last landing, which no cursor shows: every row is read again, whatever its"
              + " cursor", table.name(), renewed.get());
          window = incremental.everyRow(ident(table.cursor().get()));
        } else {
          window = incremental.predicate(ident(table.cursor().get()), added.stream().map(SourceDatabase::ident).toList());
        }
        lower = incremental.lower();
        waiting = waiting(connection, table, qualified, incremental, source.timeZone());
      }
      String drift = landedBefore ? checkSchemaDrift(table, qualified, columns, landedSchema, path) : null;
      String note = drift == null ? waiting : waiting == null ? drift : drift + "; " + waiting;
      checkKey(connection, table, schema, qualified, byName, window);

      // An empty snapshot lands no row for silver to compare, so it lands a delete marker for each
      // key bronze holds live instead: told apart before reading.
      boolean empty = landedBefore && table.full() && table.land() == TableSpec.Land.SNAPSHOT
          && !exists(connection, "SELECT EXISTS (SELECT 1 FROM " + qualified + " WHERE " + window + ")");
      List<String> predicates = plan(connection, table, qualified, byName, window, lower.isPresent());
      Observation read = new Observation("bronze-read-" + table.name());
      Dataset<Row> rows = read(table, columns, qualified, predicates, snapshot)
          .observe(read, functions.count(lit(1)).as("rows"));
      if (!table.keyless()) {
        rows = rows.filter(nullKeyGuard(table, qualified));
      }
      List<String> sourceColumns = columns.stream().map(SourceColumn::name).toList();
      Dataset<Row> landing = landing(table, rows, sourceColumns, landedBefore, lower, path, batchId, started, qualified,
          empty);
      Map<String, String> positions = new LinkedHashMap<>(table.log() ? Map.of() : identity.positions());
      if (logSnapshot.isPresent()) {
        landing = LogCapture.snapshotRows(landing, logSnapshot.get().lsn());
        positions.put(LogCapture.LOG_END, Long.toString(logSnapshot.get().lsn()));
      }

      Column maxCursor = table.cursor().map(c -> functions.max(col(Identifiers.quote(c))))
          .orElse(lit(null).cast("string"));
      long written;
      Object max;
      if (!landedBefore) {
        // The first landing is a whole table: written as it streams, without a count first.
        Observation landed = new Observation("bronze-landed-" + table.name());
        append(landing.observe(landed, functions.count(lit(1)).as("rows"), maxCursor.as("max_cursor")),
            table, batchId, runId, true, positions, path);
        Map<String, Object> metrics = Observations.required(landed, "the rows landed in bronze." + table.name());
        written = (Long) metrics.get("rows");
        max = metrics.get("max_cursor");
      } else {
        // Later batches are usually small, and often empty: counted first, so nothing new commits
        // nothing. Materialized, not cached: the batch was compared with what bronze holds.
        List<Dataset<Row>> held = new ArrayList<>();
        try {
          Dataset<Row> batch = dev.lakehouse.spark.Cached.materialize(landing, held);
          Row counts = batch.agg(functions.count(lit(1)), maxCursor).first();
          written = counts.getLong(0);
          max = counts.isNullAt(1) ? null : counts.get(1);
          if (written > 0) {
            append(batch, table, batchId, runId, false, positions, path);
          }
        } finally {
          dev.lakehouse.spark.Cached.release(held);
        }
      }
      connection.commit();
      long rowsRead = Observations.reported(read).map(m -> (Long) m.getOrDefault("rows", 0L)).orElseGet(() -> {
        LOG.warn("bronze {}: Spark did not report the rows read; the rows landed are reported instead", table.name());
        return written;
      });
      Optional<CursorValue> maxValue = max == null || cursorKind.isEmpty() ? Optional.empty()
          : Optional.of(CursorValue.fromSpark(cursorKind.get(), max));
      return new Extracted(rowsRead, written, maxValue, note, !landedBefore || written > 0);
    }
  }

  static void append(Dataset<Row> rows, TableSpec table, long batchId, String runId, boolean create,
                     Map<String, String> positions, String path) {
    append(rows, table, Commits.Tag.idempotent(JOB, table.name(), batchId, runId).with(positions), create, path);
  }

  /** A bronze append committed with {@code tag}; {@code create} when it makes the table. */
  static void append(Dataset<Row> rows, TableSpec table, Commits.Tag tag, boolean create, String path) {
    var writer = rows.write().format("delta").mode("append").option("mergeSchema", "true");
    boolean unstorable = Arrays.stream(rows.columns()).anyMatch(c -> !Identifiers.storable(c));
    if (create) {
      writer = writer.option(STATS_COLUMNS, statsColumns(table));
      if (unstorable) {
        writer = writer.option(COLUMN_MAPPING, "name");
      }
    } else if (unstorable) {
      mapColumnNames(rows.sparkSession(), path);
    }
    for (String column : nearlyDistinctColumns(table)) {
      // Parquet would build a dictionary for these and abandon it once it outgrows a page.
      writer = writer.option("parquet.enable.dictionary#" + column, "false");
    }
    Commits.tag(writer, tag).save(path);
  }

  /**
   * Log mode: rows of a column whose source type was widened (int to bigint) widen bronze's column
   * first; another change of type stops the table here, before anything is written. Query mode
   * checks this against the source before reading (checkSchemaDrift); the log learns a column's
   * type only from its messages.
   */
  static StructType followTypes(Dataset<Row> rows, TableSpec table, String path) {
    SparkSession spark = rows.sparkSession();
    StructType stored = spark.read().format("delta").load(path).schema();
    checkAsTextChange(table, rows.schema(), stored);
    TypeWidening.followOrStop(spark, path, stored, rows.schema(), table.name(), "bronze." + table.name());
    return stored;
  }

  /**
   * Bronze keeps a source column's own name, even one Delta can only hold with column mapping
   * (a space, a comma, a parenthesis ...): a table that gets such a column, when it is made or
   * when the source adds one later, is switched to mapping by name first. Silver gives the
   * column a storable name (silver.rename).
   */
  private static void mapColumnNames(SparkSession spark, String path) {
    if (!TableProperties.ensure(spark, path, COLUMN_MAPPING, "name")) {
      LOG.info("bronze table {}: a source column name needs Delta's column mapping; enabled it", path);
    }
  }

  private static List<String> concat(List<String> keys, Optional<String> cursor, Optional<String> partition) {
    List<String> all = new ArrayList<>(keys);
    cursor.ifPresent(all::add);
    partition.ifPresent(all::add);
    return all;
  }

  /** What this batch lands, with bronze's columns added, from the rows read ({@code empty}: none). */
  private Dataset<Row> landing(TableSpec table, Dataset<Row> rows, List<String> sourceColumns, boolean landedBefore,
                               Optional<CursorValue> lower, String path, long batchId, Instant started,
                               String qualified, boolean empty) {
    String label = source.label() + "." + qualified.replace("\"", "");
    if (table.keyless()) {
      rows = BronzeOps.withRowKey(rows, sourceColumns);
    }
    if (table.full() && table.land() == TableSpec.Land.CHANGED) {
      rows = rows.withColumn(BronzeOps.ROW_HASH, BronzeOps.hash(sourceColumns));
    }
    Map<String, Object> constants = new LinkedHashMap<>();
    constants.put("_batch_id", batchId);
    constants.put("_ingested_at", Timestamp.from(started));
    constants.put("_source", label);
    Dataset<Row> tagged = rows;
    for (Map.Entry<String, Object> constant : constants.entrySet()) {
      tagged = tagged.withColumn(constant.getKey(), lit(constant.getValue()));
    }
    if (table.incremental()) {
      tagged = tagged.withColumn(BronzeOps.OP, lit(BronzeOps.UPSERT));
      if (landedBefore && lower.isPresent()) {
        // The lookback re-reads rows on purpose; those bronze already holds, identical, stay out.
        tagged = BronzeOps.withoutLanded(spark, tagged, table, sourceColumns, path, lower);
      }
      return tagged;
    }
    if (table.land() == TableSpec.Land.CHANGED && landedBefore) {
      return BronzeOps.changesAgainstState(spark, tagged, table, path, constants);
    }
    if (empty) {
      // Snapshots carry no row hash; with no row to compare, only the delete markers come out.
      return BronzeOps.changesAgainstState(spark, tagged.withColumn(BronzeOps.ROW_HASH, lit(null).cast("long")),
          table, path, constants).drop(BronzeOps.ROW_HASH);
    }
    return tagged.withColumn(BronzeOps.OP, lit(BronzeOps.SNAPSHOT));
  }

  private List<String> plan(Connection connection, TableSpec table, String qualified, Map<String, SourceColumn> byName,
                            String window, boolean windowed) {
    Optional<String> partitionColumn = table.effectivePartitionColumn();
    // A whole-table read splits by blocks unless a partition column is configured (both methods:
    // each partition's query holds its own predicate, so ctid is there to filter on).
    boolean wholeTable = !(table.incremental() && windowed) && table.partitionColumn().isEmpty();
    if (partitionColumn.isEmpty()) {
      return ReadPartitions.planWholeTable(connection, qualified, null, null, window, table.partitions());
    }
    SourceColumn column = requireColumn(byName, partitionColumn.get(), qualified, table, "partition-column");
    return wholeTable
        ? ReadPartitions.planWholeTable(connection, qualified, column.name(), column.pgType(), window, table.partitions())
        : ReadPartitions.plan(connection, qualified, column.name(), column.pgType(), window, table.partitions());
  }

  private Dataset<Row> read(TableSpec table, List<SourceColumn> columns, String qualified,
                            List<String> predicates, String snapshot) {
    String selectList = SourceColumns.selectList(columns);
    if (table.method() == TableSpec.ExtractMethod.COPY) {
      List<String> selects = predicates.stream()
          .map(p -> "SELECT " + selectList + " FROM " + qualified + " WHERE " + p)
          .toList();
      return CopyExtraction.read(spark, source, columns, selects, Optional.of(snapshot));
    }
    // The JDBC path lands what COPY lands: same schema, values and errors, the same snapshot.
    return dev.lakehouse.extract.JdbcExtraction.read(spark, source, columns, qualified, predicates, table.fetchSize(),
        Optional.of(snapshot));
  }

  /**
   * Bronze is read by batch (silver) and by key and cursor (the lookback's anti-join); statistics
   * on those columns make the reads skip files, and on the others would only slow every write.
   */
  static String statsColumns(TableSpec table) {
    Set<String> columns = new LinkedHashSet<>(table.keyless() ? List.of(BronzeOps.ROW_KEY) : table.primaryKey());
    table.cursor().ifPresent(columns::add);
    columns.add("_batch_id");
    columns.add("_ingested_at");
    return columns.stream().map(Identifiers::quote).collect(Collectors.joining(","));
  }

  /** A single-column key (distinct by definition) and the cursor (a timestamp per change). */
  static List<String> nearlyDistinctColumns(TableSpec table) {
    List<String> columns = new ArrayList<>();
    if (table.primaryKey().size() == 1) {
      columns.add(table.primaryKey().get(0));
    }
    table.cursor().filter(c -> !columns.contains(c)).ifPresent(columns::add);
    return columns;
  }

  private static Column nullKeyGuard(TableSpec table, String qualified) {
    Column anyNull = null;
    for (String key : table.primaryKey()) {
      Column isNull = col(Identifiers.quote(key)).isNull();
      anyNull = anyNull == null ? isNull : anyNull.or(isNull);
    }
    String message = NULL_KEY_MARKER + " (" + String.join(", ", table.primaryKey()) + ") in " + qualified;
    return functions.when(anyNull, functions.raise_error(lit(message))).otherwise(lit(true));
  }

  private static SourceColumn requireColumn(Map<String, SourceColumn> columns, String name, String qualified,
                                            TableSpec table, String setting) {
    SourceColumn column = columns.get(name);
    if (column == null) {
      throw new LakehouseException("lakehouse.tables." + table.name() + "." + setting + ": no column " + name
          + " in " + qualified + "; its columns are " + columns.keySet());
    }
    return column;
  }

  /** Source columns bronze can land side by side with its own (query and log mode alike). */
  static void checkColumnNames(TableSpec table, String qualified, List<SourceColumn> columns) {
    for (SourceColumn column : columns) {
      String problem = Identifiers.sourceColumnProblem(column.name(), table.log());
      if (problem != null) {
        throw new LakehouseException(qualified + ": " + problem);
      }
    }
    String clash = Identifiers.caseClashProblem(columns.stream().map(SourceColumn::name).toList(), table.log());
    if (clash != null) {
      throw new LakehouseException(qualified + ": " + clash);
    }
    if (table.keyless() && columns.isEmpty()) {
      throw new LakehouseException(qualified + " has no columns");
    }
  }

  /**
   * The key must identify rows: no NULL in it, and no two rows with the same key (at the same
   * cursor, for an incremental window: the same key at different cursors is two versions, and
   * silver keeps the latest). Checked in the source before anything is read into bronze; skipped
   * when the catalog already guarantees it (NOT NULL columns, a unique index on the key).
   */
  private static void checkKey(Connection connection, TableSpec table, String schema, String qualified,
                               Map<String, SourceColumn> byName, String window) throws SQLException {
    if (table.keyless()) {
      return;
    }
    List<String> key = table.primaryKey();
    String keyList = key.stream().map(SourceDatabase::ident).collect(Collectors.joining(", "));
    if (key.stream().anyMatch(k -> byName.get(k).nullable())) {
      String anyNull = key.stream().map(k -> ident(k) + " IS NULL").collect(Collectors.joining(" OR "));
      long nulls = scalar(connection, "SELECT count(*) FROM " + qualified + " WHERE (" + window + ") AND (" + anyNull + ")");
      if (nulls > 0) {
        throw new LakehouseException(table.name() + ": " + nulls + " row" + (nulls == 1 ? "" : "s") + " of " + qualified
            + (nulls == 1 ? " has" : " have") + " a NULL in the key (" + String.join(", ", key) + "); nothing of " + table.name()
            + " was landed (fix the source rows or lakehouse.tables." + table.name() + ".primary-key)");
      }
    }
    if (SourceDatabase.uniqueKey(connection, schema, table.sourceTable(), key)) {
      return;
    }
    String groupBy = table.incremental() ? keyList + ", " + ident(table.cursor().orElseThrow()) : keyList;
    long duplicated = scalar(connection, "SELECT count(*) FROM (SELECT 1 FROM " + qualified + " WHERE " + window
        + " GROUP BY " + groupBy + " HAVING count(*) > 1) d");
    if (duplicated > 0) {
      throw new LakehouseException(table.name() + ": " + duplicated + " key" + (duplicated == 1 ? "" : "s") + " ("
          + String.join(", ", key) + ")" + (duplicated == 1 ? " appears" : " appear") + " more than once in " + qualified
          + (table.incremental() ? " with the same " + table.cursor().get() : "") + "; nothing of " + table.name()
          + " was landed (fix the source, or set lakehouse.tables." + table.name() + ".primary-key to a real key)");
    }
  }

  private static boolean exists(Connection connection, String query) throws SQLException {
    try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(query)) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  private static long scalar(Connection connection, String query) throws SQLException {
    try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(query)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * as-text decides a column's bronze type when the table first lands. A column listed (or no
   * longer listed) after that would change bronze's type, which TypeWidening refuses; this says
   * so in the configuration's words, since its own message would blame the source.
   */
  private static void checkAsTextChange(TableSpec table, StructType incoming, StructType landed) {
    for (StructField field : incoming.fields()) {
      if (!landed.getFieldIndex(field.name()).isDefined()) {
        continue;
      }
      DataType before = landed.apply(field.name()).dataType();
      boolean wasText = before instanceof StringType;
      boolean isText = field.dataType() instanceof StringType;
      String key = "lakehouse.tables." + table.name() + ".as-text";
      if (!wasText && isText && table.asText().contains(field.name())) {
        throw new LakehouseException(key + " lists " + field.name() + ", but bronze." + table.name() + " holds it as "
            + before.simpleString() + " from earlier landings, and as-text sets a column's type only when a table first"
            + " lands; nothing was landed. Either take it out of as-text and read the source through a view that maps"
            + " the values that do not fit, or land the table under a new lakehouse name (source-table = \""
            + table.sourceTable() + "\") with as-text");
      }
      if (wasText && !isText && !table.asText().contains(field.name())) {
        throw new LakehouseException("bronze." + table.name() + " holds " + field.name() + " as text, and the source now"
            + " gives " + field.dataType().simpleString() + "; nothing was landed. If " + key + " listed it, list it"
            + " again; if the source's column changed type, read the table through a view that casts it back to text");
      }
    }
  }

  /**
   * New source columns are added by the append (older rows read NULL); a dropped one stays in
   * bronze, NULL from now on; a widened type is followed, another change of type stops the table
   * before anything is written (TypeWidening).
   */
  private String checkSchemaDrift(TableSpec table, String qualified, List<SourceColumn> columns, StructType landed,
                                  String path) {
    StructType incoming = new StructType();
    for (SourceColumn column : columns) {
      incoming = incoming.add(column.name(), column.dataType());
    }
    checkAsTextChange(table, incoming, landed);
    TypeWidening.followOrStop(spark, path, landed, incoming, qualified, "bronze." + table.name());
    Set<String> present = columns.stream().map(SourceColumn::name).collect(Collectors.toSet());
    List<String> dropped = Arrays.stream(landed.fieldNames()).filter(name -> !Identifiers.ownColumn(name) && !present.contains(name))
        .toList();
    if (dropped.isEmpty()) {
      return null;
    }
    String note = (dropped.size() == 1 ? "column " + dropped.get(0) + " is" : "columns " + String.join(", ", dropped)
        + " are") + " no longer in " + qualified + "; bronze and silver keep " + (dropped.size() == 1 ? "it" : "them")
        + ", NULL from now on";
    LOG.warn("bronze {}: {}", table.name(), note);
    return note;
  }

  /** The source columns bronze ({@code landed}) does not hold yet. */
  private static List<String> notLanded(List<SourceColumn> columns, StructType landed) {
    return columns.stream().map(SourceColumn::name).filter(name -> !landed.getFieldIndex(name).isDefined()).toList();
  }

  /**
   * The columns bronze reads of {@code table}, as it reads them: as-text ones as text, generated
   * ones left out of a log table (the log never carries them), infinite values clamped where the
   * table says so.
   */
  private static List<SourceColumn> sourceColumns(Connection connection, String schema, TableSpec table) {
    return InfiniteValues.clamped(SourceColumns.discover(connection, schema, table.sourceTable(), table.asText(),
        !table.log()), table::clampsInfinity);
  }

  /**
   * Rows stamped after the source's clock are left for a later run (see {@link IncrementalWindow});
   * said once per run, with how many and the latest stamp, so a far-future placeholder that would
   * never land is not silent. Wall-clock stamps less than a day ahead are most often another zone's
   * times (an application writing its local time, read in UTC), so the note says which zone reads them.
   */
  private static String waiting(Connection connection, TableSpec table, String qualified, IncrementalWindow window,
                                java.time.ZoneId zone) throws SQLException {
    String cursor = ident(table.cursor().orElseThrow());
    Optional<String> beyond = window.beyond(cursor);
    if (beyond.isEmpty()) {
      return null;
    }
    try (Statement s = connection.createStatement();
         ResultSet rs = s.executeQuery("SELECT count(*), max(" + cursor + ")::text, "
             + aheadByLessThanADay(window, cursor) + " FROM " + qualified + " WHERE " + beyond.get())) {
      rs.next();
      long rows = rs.getLong(1);
      if (rows == 0) {
        return null;
      }
      String latest = rs.getString(2);
      String note = rows + (rows == 1 ? " row has" : " rows have") + " a cursor after the source's clock (latest "
          + table.cursor().get() + " " + latest + "); " + (latest.equals("infinity")
              ? "a cursor of infinity never lands: give such rows a real change time in the source"
              : (rows == 1 ? "it lands" : "they land") + " once the clock passes " + (rows == 1 ? "it" : "them"));
      if (rs.getBoolean(3)) {
        note += " (" + table.cursor().get() + " is a wall-clock time read in lakehouse.source.time-zone, " + zone.getId()
            + ": if the application writes another zone's time, set that zone)";
      }
      LOG.warn("bronze {}: {}", table.name(), note);
      return note;
    }
  }

  /** SQL: whether the latest stamp after a wall-clock upper bound is less than a day after it. */
  private static String aheadByLessThanADay(IncrementalWindow window, String cursor) {
    return window.upper().filter(upper -> upper.kind() == CursorValue.Kind.TIMESTAMP)
        .map(upper -> "COALESCE(max(" + cursor + ") < " + upper.sqlLiteral() + " + interval '1 day', false)")
        .orElse("false");
  }

  private static void requireNoNullCursor(Connection connection, String table, String cursor) throws SQLException {
    long nulls = scalar(connection, "SELECT count(*) FROM " + table + " WHERE " + ident(cursor) + " IS NULL");
    if (nulls > 0) {
      throw new LakehouseException(table + " has " + nulls + (nulls == 1 ? " row" : " rows") + " with a NULL cursor "
          + cursor + "; incremental extraction would never see " + (nulls == 1 ? "it" : "them"));
    }
  }

  /**
   * A batch an interrupted run committed but never recorded: recorded now, with its watermark
   * read back from bronze, and the table left for the next run, exactly as the interrupted run
   * would have left it.
   */
  private TableResult recover(TableSpec table, Commits.Commit commit, Optional<CursorValue> previous) {
    String path = paths.bronze(table.name());
    Optional<CursorValue> watermark = previous;
    if (table.incremental()) {
      Dataset<Row> batch = spark.read().format("delta").load(path).where(col("_batch_id").equalTo(commit.batch()));
      Row row = batch.agg(functions.max(col(Identifiers.quote(table.cursor().orElseThrow())))).first();
      if (!row.isNullAt(0)) {
        var field = batch.schema().apply(table.cursor().get()).dataType();
        CursorValue.Kind kind = field instanceof org.apache.spark.sql.types.TimestampType ? CursorValue.Kind.TIMESTAMPTZ
            : field instanceof org.apache.spark.sql.types.TimestampNTZType ? CursorValue.Kind.TIMESTAMP
            : field instanceof org.apache.spark.sql.types.DateType ? CursorValue.Kind.DATE : CursorValue.Kind.INTEGER;
        watermark = IncrementalWindow.advance(previous, Optional.of(CursorValue.fromSpark(kind, row.get(0))));
      }
    }
    LOG.warn("bronze {}: batch {} from interrupted run {} was already committed; recording it",
        table.name(), commit.batch(), commit.runId());
    return new TableResult(table.name(), commit.batch(), 0, commit.metric("numOutputRows"), watermark,
        RunLog.Status.RECOVERED, "batch " + commit.batch() + " of interrupted run " + commit.runId()
        + " was committed; recorded it");
  }

  /** One line for a person: our own messages as they are, Spark's wrapped ones unwrapped. */
  static String describe(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String message = t.getMessage();
      if (message != null && message.contains(NULL_KEY_MARKER)) {
        // Spark wraps the raise_error text: "[USER_RAISED_EXCEPTION] <text> SQLSTATE: P0001".
        String rest = message.substring(message.indexOf(NULL_KEY_MARKER) + "lakehouse: ".length());
        rest = rest.split("\\s+SQLSTATE|\\R", 2)[0];
        return rest.trim() + " appeared during the read; nothing was landed (fix the source rows or the configured key)";
      }
      if (t instanceof LakehouseException) {
        return SourceDatabase.firstLine(t.getMessage());
      }
    }
    return dev.lakehouse.Errors.describe(e);
  }
}
