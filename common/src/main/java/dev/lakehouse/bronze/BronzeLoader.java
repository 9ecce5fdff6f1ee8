package dev.lakehouse.bronze;

import static dev.lakehouse.source.SourceDatabase.ident;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.config.LakehousePaths;
import dev.lakehouse.config.SourceSettings;
import dev.lakehouse.config.TableSpec;
import dev.lakehouse.control.BatchCommits;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.control.Watermarks.Watermark;
import dev.lakehouse.extract.CopyExtraction;
import dev.lakehouse.extract.SourceColumn;
import dev.lakehouse.extract.SourceColumns;
import dev.lakehouse.source.SourceDatabase;
import io.delta.tables.DeltaTable;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Observation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lands source tables in {@code <root>/bronze/<table>}: append-only Delta tables holding the
 * source columns plus {@code _batch_id}, {@code _ingested_at} and {@code _source}.
 *
 * <p>Crash safety: each table's batch is one Delta commit tagged with its batch id (as Delta's
 * idempotent-write transaction and in the commit metadata). The watermark is recorded after the
 * commit; if the process dies in between, the next run finds a committed batch newer than the
 * recorded one, records it and leaves that table for the next run, which is exactly what the
 * interrupted run would have left behind.
 *
 * <p>Overlap: incremental windows re-read the lookback, so rows already in bronze with the same
 * key and cursor are left out of the new batch; bronze holds each (key, cursor) once.
 */
public final class BronzeLoader {

  private static final Logger LOG = LoggerFactory.getLogger(BronzeLoader.class);
  public static final String JOB = "bronze";
  private static final String NULL_KEY_MARKER = "lakehouse: NULL primary key";
  private static final String STATS_COLUMNS = "delta.dataSkippingStatsColumns";

  public record TableResult(String table, long batchId, long rowsRead, long rowsWritten,
                            Optional<Instant> watermark, RunLog.Status status, String error) {

    public boolean failed() {
      return status == RunLog.Status.FAILED;
    }
  }

  private final SparkSession spark;
  private final SourceSettings source;
  private final LakehousePaths paths;
  private final Watermarks watermarks;
  private final RunLog runLog;

  public BronzeLoader(SparkSession spark, SourceSettings source, LakehousePaths paths) {
    this.spark = spark;
    this.source = source;
    this.paths = paths;
    this.watermarks = new Watermarks(spark, paths.control("watermarks"));
    this.runLog = new RunLog(spark, paths.control("runs"));
  }

  /**
   * Loads every table; a table that fails is recorded and the others still load. The run log and
   * then the watermarks are written once, at the end.
   */
  public List<TableResult> load(String runId, List<TableSpec> tables) {
    // One connection up front so an unreachable source or a wrong password fails once, clearly.
    try (Connection ignored = SourceDatabase.connect(source)) {
      LOG.debug("Source reachable: {}", source);
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot close the source connection", e);
    }
    Map<String, Watermark> recorded = watermarks.readAll();
    List<TableResult> results = new ArrayList<>();
    List<RunLog.Entry> entries = new ArrayList<>();
    try {
      for (TableSpec table : tables) {
        Instant started = Instant.now();
        TableResult result = loadTable(runId, table, Optional.ofNullable(recorded.get(table.name())));
        results.add(result);
        entries.add(new RunLog.Entry(runId, JOB, result.table(), result.batchId(), result.rowsRead(),
            result.rowsWritten(), started, Instant.now(), result.status(), result.error()));
      }
    } finally {
      // The watermarks are the run's last write, its commit point: whatever dies before it is
      // repaired by the next run from the tagged bronze commits.
      runLog.appendAll(entries);
      CrashPoints.reach("bronze.after-runlog");
      watermarks.recordAll(results.stream().filter(r -> !r.failed())
          .map(r -> new Watermark(r.table(), r.batchId(), r.watermark(), runId)).toList());
    }
    return results;
  }

  TableResult loadTable(String runId, TableSpec table, Optional<Watermark> recorded) {
    String path = paths.bronze(table.name());
    long recordedBatch = recorded.map(Watermark::batchId).orElse(0L);
    Optional<Instant> previousWatermark = recorded.flatMap(Watermark::watermark);

    Optional<BatchCommits.Commit> committed = BatchCommits.last(spark, path);
    if (committed.isPresent() && committed.get().batchId() > recordedBatch) {
      return recover(table, committed.get(), previousWatermark);
    }

    long batchId = recordedBatch + 1;
    try {
      Extracted extracted = write(runId, table, batchId, previousWatermark, Instant.now());
      CrashPoints.reach("bronze.after-commit");
      Optional<Instant> watermark = table.incremental()
          ? IncrementalWindow.advance(previousWatermark, extracted.maxCursor())
          : Optional.empty();
      TableResult result = new TableResult(table.name(), batchId, extracted.rowsRead(), extracted.rowsWritten(),
          watermark, RunLog.Status.SUCCEEDED, null);
      LOG.info("bronze {}: batch {} read {} rows, wrote {}{}", table.name(), batchId, result.rowsRead(),
          result.rowsWritten(), watermark.map(w -> ", watermark " + w).orElse(""));
      return result;
    } catch (Exception e) {
      String message = describe(table, e);
      LOG.error("bronze {} failed: {}", table.name(), message);
      LOG.debug("bronze {} failure detail", table.name(), e);
      return new TableResult(table.name(), batchId, 0, 0, previousWatermark, RunLog.Status.FAILED, message);
    }
  }

  private record Extracted(long rowsRead, long rowsWritten, Optional<Instant> maxCursor) {}

  private Extracted write(String runId, TableSpec table, long batchId, Optional<Instant> previousWatermark,
                          Instant started) throws InterruptedException {
    String qualified = SourceDatabase.qualified(source.schema(), table.sourceTable());
    String path = paths.bronze(table.name());
    try (Connection connection = SourceDatabase.connect(source)) {
      // One snapshot for the whole extraction: every partition imports it, as pg_dump -j does.
      connection.setAutoCommit(false);
      connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      String snapshot;
      Instant upper;
      try (Statement s = connection.createStatement();
           ResultSet rs = s.executeQuery("SELECT pg_export_snapshot(), statement_timestamp()")) {
        rs.next();
        snapshot = rs.getString(1);
        upper = rs.getTimestamp(2).toInstant();
      }

      List<SourceColumn> columns = SourceColumns.discover(connection, source.schema(), table.sourceTable());
      Map<String, SourceColumn> byName = columns.stream()
          .collect(Collectors.toMap(SourceColumn::name, c -> c));
      for (String key : table.primaryKey()) {
        requireColumn(byName, key, qualified, "primary-key");
      }
      String window = "TRUE";
      Optional<Instant> lower = Optional.empty();
      if (table.incremental()) {
        String cursor = table.cursor().orElseThrow();
        SourceColumn cursorColumn = requireColumn(byName, cursor, qualified, "cursor");
        if (!cursorColumn.pgType().startsWith("timestamp")) {
          throw new LakehouseException("Cursor column " + cursor + " of " + qualified
              + " is " + cursorColumn.pgType() + "; lakehouse.tables." + table.name()
              + ".cursor must be a timestamp or timestamptz column");
        }
        requireNoNullCursor(connection, qualified, cursor);
        IncrementalWindow incremental = IncrementalWindow.after(previousWatermark, table.lookback(), upper);
        lower = incremental.lower();
        window = incremental.predicate(ident(cursor));
      }
      boolean landedBefore = DeltaTable.isDeltaTable(spark, path);
      if (landedBefore) {
        checkSchemaDrift(table, qualified, columns, path);
      }
      SourceColumn partitionColumn = requireColumn(byName, table.effectivePartitionColumn(), qualified,
          "partition-column");
      // A whole-table read splits by blocks unless a partition column is configured.
      boolean wholeTable = lower.isEmpty() && table.partitionColumn().isEmpty();
      List<String> predicates = wholeTable
          ? ReadPartitions.planWholeTable(connection, qualified, partitionColumn.name(), partitionColumn.pgType(),
              window, table.partitions())
          : ReadPartitions.plan(connection, qualified, partitionColumn.name(), partitionColumn.pgType(),
              window, table.partitions());

      // Counted as the rows stream past, so the extraction stays a single pass.
      Observation read = new Observation("bronze-read-" + table.name());
      Observation landed = new Observation("bronze-landed-" + table.name());
      Dataset<Row> rows = read(table, columns, qualified, predicates, snapshot)
          .observe(read, functions.count(lit(1)).as("rows"));
      rows = rows.filter(nullKeyGuard(table, source.schema() + "." + table.sourceTable()))
          .withColumn("_batch_id", lit(batchId))
          .withColumn("_ingested_at", lit(Timestamp.from(started)))
          .withColumn("_source", lit(source.name() + "." + source.schema() + "." + table.sourceTable()));
      if (lower.isPresent() && landedBefore) {
        rows = withoutRowsAlreadyLanded(rows, table, path, lower.get());
      }
      Column maxCursor = table.cursor().map(c -> functions.max(col(c))).orElse(lit(null).cast("timestamp"));
      rows = rows.observe(landed, functions.count(lit(1)).as("rows"), maxCursor.as("max_cursor"));
      var writer = rows.write().format("delta").mode("append");
      if (!landedBefore) {
        writer = writer.option(STATS_COLUMNS, statsColumns(table));
      }
      for (String column : nearlyDistinctColumns(table)) {
        // Parquet would build a dictionary for these and abandon it once it outgrows a page.
        writer = writer.option("parquet.enable.dictionary#" + column, "false");
      }
      writer.option("mergeSchema", "true")
          .option("txnAppId", BatchCommits.appId(JOB, table.name()))
          .option("txnVersion", batchId)
          .option("userMetadata", BatchCommits.metadata(JOB, table.name(), batchId, runId))
          .save(path);
      connection.commit();
      Map<String, Object> readMetrics = read.getAsJava();
      Map<String, Object> landedMetrics = landed.getAsJava();
      Object max = landedMetrics.get("max_cursor");
      return new Extracted((Long) readMetrics.get("rows"), (Long) landedMetrics.get("rows"),
          max == null ? Optional.empty() : Optional.of(((Timestamp) max).toInstant()));
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read " + qualified, e);
    }
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
    Properties props = source.jdbcProperties();
    props.setProperty("fetchsize", Integer.toString(table.fetchSize()));
    String subquery = "(SELECT " + selectList + " FROM " + qualified + ") AS src";
    return spark.read().jdbc(source.url(), subquery, predicates.toArray(String[]::new), props);
  }

  /** Drops rows whose (key, cursor) bronze already holds: the lookback re-reads them on purpose. */
  private Dataset<Row> withoutRowsAlreadyLanded(Dataset<Row> rows, TableSpec table, String path, Instant lower) {
    String cursor = table.cursor().orElseThrow();
    List<String> identity = new ArrayList<>(table.primaryKey());
    identity.add(cursor);
    Dataset<Row> landed = spark.read().format("delta").load(path)
        .where(col(cursor).geq(lit(Timestamp.from(lower))))
        .select(identity.stream().map(functions::col).toArray(Column[]::new))
        .distinct();
    return rows.join(landed, identity.toArray(String[]::new), "left_anti");
  }

  /**
   * Bronze is read by batch (silver) and by key and cursor (the lookback's anti-join); statistics
   * on those columns make the reads skip files, and on the others would only slow every write.
   */
  static String statsColumns(TableSpec table) {
    java.util.LinkedHashSet<String> columns = new java.util.LinkedHashSet<>(table.primaryKey());
    table.cursor().ifPresent(columns::add);
    columns.add("_batch_id");
    columns.add("_ingested_at");
    return String.join(",", columns);
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
      Column isNull = col(key).isNull();
      anyNull = anyNull == null ? isNull : anyNull.or(isNull);
    }
    String message = NULL_KEY_MARKER + " " + String.join(", ", table.primaryKey()) + " in " + qualified;
    return functions.when(anyNull, functions.raise_error(lit(message))).otherwise(lit(true));
  }

  private static SourceColumn requireColumn(Map<String, SourceColumn> columns, String name, String table,
                                            String setting) {
    SourceColumn column = columns.get(name);
    if (column == null) {
      throw new LakehouseException("Column " + name + " (" + setting + ") does not exist in " + table
          + "; its columns are " + columns.keySet().stream().sorted().toList());
    }
    return column;
  }

  /**
   * New source columns are added by the append (older rows read NULL); a dropped one stays in
   * bronze, NULL from now on; a changed type stops the table before anything is written.
   */
  private void checkSchemaDrift(TableSpec table, String qualified, List<SourceColumn> columns, String path) {
    Map<String, org.apache.spark.sql.types.DataType> landed = new java.util.LinkedHashMap<>();
    for (var field : spark.read().format("delta").load(path).schema().fields()) {
      landed.put(field.name(), field.dataType());
    }
    for (SourceColumn column : columns) {
      var before = landed.get(column.name());
      if (before != null && !before.equals(column.dataType())) {
        throw new LakehouseException("Column " + column.name() + " of " + qualified + " changed type from "
            + before.simpleString() + " to " + column.dataType().simpleString() + "; bronze." + table.name()
            + " is left untouched (migrate it, or rename the source column)");
      }
    }
    java.util.Set<String> present = columns.stream().map(SourceColumn::name).collect(Collectors.toSet());
    landed.keySet().stream().filter(name -> !name.startsWith("_") && !present.contains(name)).forEach(name ->
        LOG.warn("bronze {}: column {} is no longer in {}; bronze and silver keep it, NULL from now on",
            table.name(), name, qualified));
  }

  private static void requireNoNullCursor(Connection connection, String table, String cursor) throws SQLException {
    try (Statement s = connection.createStatement();
         ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table + " WHERE " + ident(cursor) + " IS NULL")) {
      rs.next();
      long nulls = rs.getLong(1);
      if (nulls > 0) {
        throw new LakehouseException(table + " has " + nulls + " rows with a NULL cursor " + cursor
            + "; incremental extraction would never see them");
      }
    }
  }

  /** The highest cursor in one batch, read back from bronze (data skipping keeps it to that batch's files). */
  private Optional<Instant> batchMaxCursor(TableSpec table, String path, long batchId) {
    Row row = spark.read().format("delta").load(path)
        .where(col("_batch_id").equalTo(batchId))
        .agg(functions.max(col(table.cursor().orElseThrow())))
        .first();
    Timestamp max = row.isNullAt(0) ? null : row.getTimestamp(0);
    return Optional.ofNullable(max).map(Timestamp::toInstant);
  }

  private TableResult recover(TableSpec table, BatchCommits.Commit commit, Optional<Instant> previousWatermark) {
    String path = paths.bronze(table.name());
    Optional<Instant> watermark = table.incremental()
        ? IncrementalWindow.advance(previousWatermark, batchMaxCursor(table, path, commit.batchId()))
        : Optional.empty();
    LOG.warn("bronze {}: batch {} from interrupted run {} was already committed; recording it",
        table.name(), commit.batchId(), commit.runId());
    return new TableResult(table.name(), commit.batchId(), 0, commit.metric("numOutputRows"), watermark,
        RunLog.Status.RECOVERED, "batch " + commit.batchId() + " of interrupted run " + commit.runId()
        + " was committed; recorded it");
  }

  /** One line for a person: our own messages as they are, Spark's wrapped ones unwrapped. */
  static String describe(TableSpec table, Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String message = t.getMessage();
      if (message != null && message.contains(NULL_KEY_MARKER)) {
        // Spark wraps the raise_error text: "[USER_RAISED_EXCEPTION] <text> SQLSTATE: P0001".
        String rest = message.substring(message.indexOf(NULL_KEY_MARKER) + "lakehouse: ".length());
        rest = rest.split("\\s+SQLSTATE|\\R", 2)[0];
        return rest.trim() + "; fix the source rows or the configured key";
      }
      if (t instanceof LakehouseException) {
        return SourceDatabase.firstLine(t.getMessage());
      }
    }
    return e.getClass().getSimpleName() + ": " + SourceDatabase.firstLine(e.getMessage());
  }
}
