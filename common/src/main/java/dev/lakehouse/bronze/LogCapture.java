package dev.lakehouse.bronze;

import static org.apache.spark.sql.functions.lit;

import dev.lakehouse.Errors;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.control.Commits;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.control.Watermarks.Watermark;
import dev.lakehouse.extract.InfiniteValues;
import dev.lakehouse.extract.SourceColumn;
import dev.lakehouse.extract.SourceColumns;
import dev.lakehouse.extract.TextValues;
import dev.lakehouse.source.SourceDatabase;
import dev.lakehouse.source.replication.ChangeStream;
import dev.lakehouse.source.replication.ColumnValue;
import dev.lakehouse.source.replication.Relation;
import dev.lakehouse.source.replication.ReplicationEndpoint;
import dev.lakehouse.source.replication.ReplicationEvent;
import dev.lakehouse.source.replication.ReplicationSlot;
import dev.lakehouse.spark.TypeWidening;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.LogSettings;
import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.spec.TableSpec;
import io.delta.tables.DeltaTable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lands tables in {@code mode = log} from PostgreSQL's logical replication: every insert, update,
 * delete and truncate, in log order, exactly once.
 *
 * <p>By phase: (1) a table with no bronze yet gets its initial copy as of a temporary slot's
 * exported snapshot (the log position it stands for recorded with it; the log's changes before
 * that position are skipped for this table); (2) the slot's changes are read from the position
 * the last micro-batch recorded, decoded (text form) into the table's columns, with the commit
 * position, the order inside the transaction, the commit time and the columns whose unchanged
 * TOASTed value the log left out; rows beyond the memory budget are spilled to local disk, so a
 * large transaction is never held whole; (3) a micro-batch ends only after a transaction's commit:
 * one bronze commit per table that has rows, tagged with its batch and the log position reached,
 * then the watermarks of every log table (the commit point), then the position is confirmed to
 * the source. A restart resumes from the recorded position and drops what a table already holds.
 */
public final class LogCapture {

  private static final Logger LOG = LoggerFactory.getLogger(LogCapture.class);

  /** The commit position of the row's transaction (its commit record's LSN). */
  public static final String LSN = "_lsn";
  /** The row's place inside its transaction (1, 2, ...; 0 for the initial copy). */
  public static final String SEQ = "_seq";
  /** When the row's transaction committed on the source. */
  public static final String COMMIT_TIME = "_commit_time";
  /** Columns whose value the log left out because it did not change (unchanged TOASTed values). */
  public static final String UNCHANGED = "_unchanged";
  /**
   * Values the log carried that no Spark type of their column holds (NaN in a {@code numeric}, an
   * infinite date, ...): column name to PostgreSQL's text of the value, which the typed column
   * holds as NULL. The log cannot be read again, so such a row lands like any other, keeping what
   * it said here, and silver quarantines it (instead of the whole capture stopping on it).
   */
  public static final String UNPARSED = "_unparsed";
  /** Truncate marker ({@code _op}). */
  public static final String TRUNCATE = "T";
  /** In bronze commits and log watermarks: the log position the table holds everything before. */
  public static final String LOG_END = "log_end";
  /**
   * In bronze commits: the table's columns as the log last described them up to {@link #LOG_END}
   * (a JSON array), so the first description of the next session is compared with the log's, not
   * with every column bronze ever held: a column the log had stopped describing (dropped) and
   * describes again (added again under its old name) is then seen as new.
   */
  static final String LOG_COLUMNS = "log_columns";
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  /** What one capture did per table. */
  public record Captured(List<BronzeLoader.TableResult> results, long transactions, long changes,
                         LogSequenceNumber position, boolean sourceLost) {
    public Captured(List<BronzeLoader.TableResult> results, long transactions, long changes,
                    LogSequenceNumber position) {
      this(results, transactions, changes, position, false);
    }
  }

  private final SparkSession spark;
  private final SourceSettings source;
  private final LakehousePaths paths;
  private final LogSettings settings;
  private final Watermarks watermarks;
  /** The source's fraction digits of money (its lc_monetary), read when capture starts. */
  private int moneyScale = 2;

  public LogCapture(SparkSession spark, SourceSettings source, LakehousePaths paths, LogSettings settings) {
    this.spark = spark;
    this.source = source;
    this.paths = paths;
    this.settings = settings;
    this.watermarks = new Watermarks(spark, paths.control("watermarks"), source.timeZone());
  }

  ReplicationEndpoint endpoint() {
    java.util.Properties props = source.jdbcProperties();
    // Values come in text form, as ::text gives them on the COPY path: ISO dates, UTC, hex bytea;
    // money in the C locale, so its text is digits, '.', ',', '-' and '$' whatever the server's is.
    props.setProperty("options", props.getProperty("options", "") + " " + TextValues.sessionOptions() + " -c lc_monetary=C");
    return ReplicationEndpoint.of(source.url(), props);
  }

  /** Bronze's columns for the rows of an initial copy. */
  static Dataset<Row> snapshotRows(Dataset<Row> landing, long lsn) {
    return landing.withColumn(LSN, lit(lsn)).withColumn(SEQ, lit(0L))
        .withColumn(COMMIT_TIME, lit(null).cast(DataTypes.TimestampType))
        .withColumn(UNCHANGED, lit(null).cast(DataTypes.createArrayType(DataTypes.StringType)));
  }

  /**
   * The initial copy of every log table that has no bronze yet, each as of its own temporary
   * slot's snapshot (the tables are in the publication first, so the main slot streams every
   * change after it).
   */
  public List<BronzeLoader.TableResult> initialCopies(String runId, List<TableSpec> tables) {
    List<BronzeLoader.TableResult> results = new ArrayList<>();
    BronzeLoader loader = new BronzeLoader(spark, source, paths);
    for (TableSpec table : tables) {
      if (DeltaTable.isDeltaTable(spark, paths.bronze(table.name()))) {
        continue;
      }
      String temporary = (settings.slot() + "_copy_" + Long.toHexString(System.nanoTime())).toLowerCase();
      try (ReplicationSlot slot = ReplicationSlot.createTemporary(endpoint(), temporary)) {
        long lsn = slot.consistentPoint().asLong();
        BronzeLoader.TableResult copied = loader.snapshot(runId, table, new BronzeLoader.LogSnapshot(slot.snapshotName(), lsn));
        results.add(copied);
        if (!copied.failed()) {
          // Recorded at once: silver may apply the copy while the log is still being read.
          watermarks.recordAll(List.of(new Watermark(table.name(), 1, Optional.of(new CursorValue.IntegerValue(lsn)), runId)));
        }
      } catch (RuntimeException e) {
        results.add(new BronzeLoader.TableResult(table.name(), 1, 0, 0, Optional.empty(), RunLog.Status.FAILED,
            Errors.describe(e)));
      }
    }
    return results;
  }

  /**
   * Reads the slot and lands its changes in micro-batches, until {@code stop} says so at a batch
   * boundary, or, with {@code drain}, once everything the slot held when this started is landed.
   */
  public Captured capture(String runId, List<TableSpec> tables, boolean drain, BooleanSupplier stop,
                          Duration trigger, java.util.function.Consumer<Captured> afterBatch) {
    Map<String, TableSpec> byName = new HashMap<>();
    Map<String, TableState> states = new LinkedHashMap<>();
    Map<String, Watermark> recorded = watermarks.readAll();
    LogSequenceNumber start = LogSequenceNumber.INVALID_LSN;
    Duration slotWait;
    try (Connection connection = SourceDatabase.connect(source)) {
      for (TableSpec table : tables) {
        String schema = SourceDatabase.schemaOf(connection, source, table);
        byName.put(schema + "." + table.sourceTable(), table);
        TableState state = new TableState(table, schema, recorded.get(table.name()));
        state.columns(SourceColumns.discover(connection, schema, table.sourceTable(), table.asText(), false));
        state.skipBefore = landedUntil(table);
        states.put(table.name(), state);
      }
      moneyScale = TextValues.moneyScale(connection);
      slotWait = ChangeStream.slotReleaseWait(connection);
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read the log tables' columns", e);
    }
    recover(runId, states, recorded);
    // From the lowest position recorded: a table that holds more (its batch landed, the run died
    // before the watermarks) skips what it holds.
    for (TableState state : states.values()) {
      if (state.position > 0 && (start.equals(LogSequenceNumber.INVALID_LSN) || state.position < start.asLong())) {
        start = LogSequenceNumber.valueOf(state.position);
      }
    }
    LogSequenceNumber target = drain ? currentLsn() : null;
    Path spill = spillDirectory();
    long transactions = 0;
    long changes = 0;
    List<BronzeLoader.TableResult> results = new ArrayList<>();
    // One batch is written while the next is read: the reader never waits on Spark, and batches
    // still land, record their watermarks and are confirmed strictly in order (one writer thread,
    // at most one batch in flight, the position confirmed by the reader once that batch is recorded).
    ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
      Thread thread = new Thread(r, "lakehouse-log-writer");
      thread.setDaemon(true);
      return thread;
    });
    Future<Captured> inFlight = null;
    try (ChangeStream stream = ChangeStream.open(endpoint(), settings.slot(), settings.publication(), start,
        slotWait, false)) {
      LOG.info("log: reading slot {} from {}", settings.slot(), start);
      if (drain) {
        try (Connection connection = SourceDatabase.connect(source)) {
          ChangeStream.emitHeartbeat(connection);
        } catch (SQLException e) {
          throw SourceDatabase.queryError("Cannot write a heartbeat", e);
        }
      }
      long batches = 0;
      Batch batch = new Batch(states, spill.resolve("batch-" + batches++), stream::keepAlive);
      long batchStarted = System.nanoTime();
      long lastHeartbeat = System.nanoTime();
      LogSequenceNumber idlePosition = null;
      boolean reachedTarget = false;
      while (true) {
        Optional<ReplicationEvent> polled = stream.poll(Duration.ofMillis(200));
        if (polled.isPresent()) {
          ReplicationEvent event = polled.get();
          if (event instanceof ReplicationEvent.Change change) {
            TableSpec table = byName.get(change.relation().namespace() + "." + change.relation().name());
            if (table != null) {
              batch.add(states.get(table.name()), change);
              changes++;
            }
          } else if (event instanceof ReplicationEvent.Truncate truncate) {
            for (Relation relation : truncate.relations()) {
              TableSpec table = byName.get(relation.namespace() + "." + relation.name());
              if (table != null) {
                batch.truncate(states.get(table.name()), truncate);
                changes++;
              }
            }
          } else if (event instanceof ReplicationEvent.Commit commit) {
            batch.committed(commit.endLsn());
            transactions++;
            reachedTarget |= target != null && commit.endLsn().asLong() >= target.asLong();
          } else if (event instanceof ReplicationEvent.KeepAlive keepAlive) {
            idlePosition = keepAlive.walEnd();
            reachedTarget |= target != null && keepAlive.walEnd().asLong() >= target.asLong();
          } else if (event instanceof ReplicationEvent.LogicalMessage message && !message.transactional()) {
            idlePosition = message.lsn();
            reachedTarget |= target != null && message.lsn().asLong() >= target.asLong();
          } else if (event instanceof ReplicationEvent.RelationUpdate update) {
            TableSpec table = byName.get(update.relation().namespace() + "." + update.relation().name());
            if (table != null) {
              batch.reshape(states.get(table.name()), update.relation());
            }
          }
        }
        boolean betweenTransactions = !stream.inTransaction();
        boolean due = System.nanoTime() - batchStarted >= trigger.toNanos();
        boolean done = (drain && reachedTarget) || stop.getAsBoolean();
        if (inFlight != null && (done || inFlight.isDone())) {
          confirmLanded(inFlight, results, stream);
          inFlight = null;
        }
        if (betweenTransactions && inFlight == null && (due || done)) {
          if (batch.position != null) {
            Batch closed = batch;
            inFlight = writer.submit(() -> land(runId, closed, states, afterBatch));
          } else if (idlePosition != null && batch.rows() == 0) {
            // Nothing of ours since the last batch, and every batch before is confirmed: the slot
            // may still move past other tables' traffic.
            stream.confirm(idlePosition);
          }
          batch = new Batch(states, spill.resolve("batch-" + batches++), stream::keepAlive);
          batchStarted = System.nanoTime();
          if (done) {
            if (inFlight != null) {
              confirmLanded(inFlight, results, stream);
              inFlight = null;
            }
            break;
          }
        }
        if (!drain && System.nanoTime() - lastHeartbeat >= settings.heartbeat().toNanos()) {
          try (Connection connection = SourceDatabase.connect(source)) {
            ChangeStream.emitHeartbeat(connection);
          } catch (SQLException e) {
            LOG.warn("log: heartbeat failed: {}", Errors.oneLine(e.getMessage()));
          }
          lastHeartbeat = System.nanoTime();
        }
      }
      List<BronzeLoader.TableResult> merged = merge(results);
      for (TableState state : states.values()) {
        // A table with nothing new reports the batch it holds, as a query-mode table does.
        if (merged.stream().noneMatch(r -> r.table().equals(state.table.name()))) {
          merged.add(new BronzeLoader.TableResult(state.table.name(), state.batchId, 0, 0, Optional.empty(),
              RunLog.Status.SUCCEEDED, null));
        }
      }
      return new Captured(merged, transactions, changes, stream.lastConfirmed());
    } finally {
      if (inFlight != null) {
        // The reader failed while a batch was being written: let that write end before the stream
        // closes and its rows are deleted (it is recorded or not; the next run knows which).
        try {
          inFlight.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
          LOG.debug("log: the batch in flight failed too", e.getCause());
        }
      }
      writer.shutdown();
      deleteQuietly(spill);
    }
  }

  /** Waits for a batch being landed, keeps its results and confirms its position to the source. */
  private static void confirmLanded(Future<Captured> landing, List<BronzeLoader.TableResult> results,
                                    ChangeStream stream) {
    Captured landed;
    try {
      landed = landing.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LakehouseException("log capture interrupted while a batch was being landed", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException cause) {
        throw cause;
      }
      throw new LakehouseException("log: landing a batch failed: " + Errors.describe(e.getCause()), e.getCause());
    }
    results.addAll(landed.results());
    stream.confirm(landed.position());
  }

  /**
   * Lands a micro-batch (on the writer thread): a bronze commit per table with rows, then the
   * watermarks of every log table as one commit (the commit point). The reader confirms its
   * position to the source afterwards.
   */
  private Captured land(String runId, Batch batch, Map<String, TableState> states,
                        java.util.function.Consumer<Captured> afterBatch) {
    SparkSession.setActiveSession(spark);
    List<BronzeLoader.TableResult> results = new ArrayList<>();
    LogSequenceNumber position = batch.position;
    List<Watermark> marks = new ArrayList<>();
    for (TableState state : states.values()) {
      long rows = batch.rows(state);
      List<String> described = batch.described.get(state.table.name());
      if (described != null) {
        state.landedDescription = described;
      }
      if (rows > 0) {
        long batchId = state.batchId + 1;
        try {
          Dataset<Row> landing = batch.dataset(state, batchId);
          // Not Delta's idempotent write: its check reads every transaction of the table's state,
          // a Spark job per micro-batch (a third of a small batch's landing). Nothing needs it
          // here: the one writer holds the lock, and a restart first reads the last commit's batch
          // and position (recover), so a landed batch is never landed again.
          String path = paths.bronze(state.table.name());
          boolean create = !DeltaTable.isDeltaTable(spark, path);
          if (!create) {
            BronzeLoader.followTypes(landing, state.table, path);
          }
          Map<String, String> positions = new LinkedHashMap<>();
          positions.put(LOG_END, Long.toString(position.asLong()));
          if (state.landedDescription != null) {
            positions.put(LOG_COLUMNS, JSON.valueToTree(state.landedDescription).toString());
          }
          BronzeLoader.append(landing, state.table, Commits.Tag.of(BronzeLoader.JOB, state.table.name(), batchId, runId)
              .with(positions), create, path);
          state.batchId = batchId;
          results.add(new BronzeLoader.TableResult(state.table.name(), batchId, rows, rows,
              Optional.of(new CursorValue.IntegerValue(position.asLong())), RunLog.Status.SUCCEEDED, null));
        } catch (RuntimeException e) {
          // The batch is not recorded: the next run reads these changes again from the log.
          throw new LakehouseException("bronze " + state.table.name() + ": " + Errors.describe(e), e);
        }
      }
      marks.add(new Watermark(state.table.name(), state.batchId, Optional.of(new CursorValue.IntegerValue(position.asLong())),
          runId));
    }
    CrashPoints.reach("log.after-bronze");
    watermarks.recordAll(marks);
    CrashPoints.reach("log.after-watermarks");
    batch.clear();
    LOG.info("log: batch to {} landed ({} rows)", position, results.stream().mapToLong(BronzeLoader.TableResult::rowsWritten).sum());
    Captured landed = new Captured(results, 0, 0, position);
    afterBatch.accept(landed);
    return landed;
  }

  /** How often a long read on the reader thread answers the replication connection (well inside wal_sender_timeout). */
  private static final Duration KEEP_ALIVE = Duration.ofSeconds(10);

  /** The new columns, the transaction that last wrote the newest of them (its ALTER) first. */
  private static final String ALTERED_BY = """
      SELECT a.attname, a.xmin::text FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND c.relname = ? AND a.attname = ANY (?) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY age(a.xmin)""";

  /**
   * Bronze's column names (lower case) when it exists, else null: what the log has brought so far.
   * Read at a table's first relation message of a session, before any of its changes of the session
   * can have landed; a run in which the table has no change does not read it.
   */
  private Set<String> bronzeColumns(TableSpec table) {
    String path = paths.bronze(table.name());
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return null;
    }
    Set<String> names = new HashSet<>();
    for (String name : spark.read().format("delta").load(path).columns()) {
      names.add(name.toLowerCase(java.util.Locale.ROOT));
    }
    return names;
  }

  /**
   * The columns (lower case) the log last described up to bronze's last batch, as that batch's
   * commit recorded them; else bronze's columns ({@link #bronzeColumns}); null when bronze does not
   * exist yet.
   */
  private Set<String> lastDescribed(TableSpec table) {
    Optional<String> recorded = Commits.last(spark, paths.bronze(table.name()), BronzeLoader.JOB)
        .map(c -> c.positions().get(LOG_COLUMNS));
    if (recorded.isEmpty()) {
      return bronzeColumns(table);
    }
    Set<String> names = new HashSet<>();
    try {
      JSON.readTree(recorded.get()).forEach(name -> names.add(name.asText().toLowerCase(java.util.Locale.ROOT)));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return bronzeColumns(table);
    }
    return names;
  }

  /**
   * The rows that hold a value in a column new to the log, as of the ALTER that made it: added
   * with a default ({@code ADD COLUMN ... DEFAULT} writes no row, yet every row then holds the
   * default) or renamed (every row holds its value under the new name). The log carries no change
   * for the rows nobody touched since, so bronze, silver and gold would keep NULL there; query mode
   * reads every row holding a value in a new column, and so does this. Those rows are exactly the
   * ones whose version predates the ALTER (an older {@code xmin}, or frozen) or was written by it (a
   * volatile default rewrites every row): read now, their values are the ones they have held since,
   * so each lands as a version of the transaction that first showed the new column, ordered before
   * that transaction's own changes. A row changed since the
   * ALTER is left out: the log holds that change, and its version is exact. A column added without
   * a default finds no row and lands nothing. A name bronze holds already (dropped and added again,
   * or renamed back) reads every row unchanged since the ALTER, whatever it holds: silver has the
   * old values there.
   *
   * <p>Each row goes to {@code each} as it is read (the caller spills as it does for a large
   * transaction), as log text per column of {@code columns}: null where a column is not in the
   * table now.
   */
  private void rowsHoldingValues(TableState state, List<String> fresh, List<SourceColumn> columns,
                                 java.util.function.Consumer<String[]> each) {
    try (Connection connection = SourceDatabase.connect(source)) {
      String alteredBy = null;
      List<String> named = new ArrayList<>();
      try (PreparedStatement query = connection.prepareStatement(ALTERED_BY)) {
        query.setString(1, state.schema);
        query.setString(2, state.table.sourceTable());
        query.setArray(3, connection.createArrayOf("text", fresh.toArray()));
        try (ResultSet rows = query.executeQuery()) {
          while (rows.next()) {
            alteredBy = alteredBy == null ? rows.getString(2) : alteredBy;
            named.add(rows.getString(1));
          }
        }
      }
      if (alteredBy == null) {
        return;  // gone again from the catalog: nothing holds a value in it now
      }
      Set<String> present = new HashSet<>();
      for (SourceColumn column : SourceColumns.discover(connection, state.schema, state.table.sourceTable(), Set.of(), false)) {
        present.add(column.name());
      }
      List<String> select = new ArrayList<>();
      for (SourceColumn column : columns) {
        select.add(present.contains(column.name()) ? Identifiers.pgQuote(column.name()) + "::text" : "NULL::text");
      }
      // A name bronze holds already was dropped and added again (or renamed back): every row holds
      // its default or NULL there now, where silver holds the old values, so every row is read.
      Set<String> held = bronzeColumns(state.table);
      List<String> again = held == null ? List.of()
          : named.stream().filter(n -> held.contains(n.toLowerCase(java.util.Locale.ROOT))).toList();
      String holding = again.isEmpty() ? named.stream().map(n -> Identifiers.pgQuote(n) + " IS NOT NULL")
          .collect(java.util.stream.Collectors.joining(" OR ")) : "TRUE";
      long found = 0;
      connection.setAutoCommit(false);
      try (PreparedStatement query = connection.prepareStatement("SELECT " + String.join(", ", select) + " FROM "
          + SourceDatabase.qualified(state.schema, state.table.sourceTable()) + " WHERE age(xmin) >= age(?::xid) AND ("
          + holding + ")")) {
        query.setFetchSize(10_000);
        query.setString(1, alteredBy);
        try (ResultSet rows = query.executeQuery()) {
          while (rows.next()) {
            String[] values = new String[columns.size()];
            for (int c = 0; c < values.length; c++) {
              values[c] = rows.getString(c + 1);
            }
            each.accept(values);
            found++;
          }
        }
      } finally {
        connection.rollback();
      }
      if (found > 0 && again.isEmpty()) {
        LOG.info("log {}: columns {} are new to the log; the {} rows that have held a value in them since the ALTER"
            + " land as versions", state.table.name(), named, found);
      } else if (found > 0) {
        LOG.warn("log {}: columns {} are described by the log again (dropped and added again); the {} rows unchanged"
            + " since the ALTER land as versions", state.table.name(), again, found);
      }
    } catch (SQLException e) {
      // Not fatal: the rows keep NULL in the new column until they change, and the user is told.
      LOG.warn("log {}: columns {} are new to the log, and the rows holding a value in them could not be read ({});"
          + " those rows keep NULL there in bronze and silver until they change", state.table.name(), fresh,
          Errors.oneLine(e.getMessage()));
    }
  }

  /**
   * A batch a run landed but did not record (it died between the bronze commits and the
   * watermarks): recorded now, with the position its commit holds.
   */
  private void recover(String runId, Map<String, TableState> states, Map<String, Watermark> recorded) {
    List<Watermark> marks = new ArrayList<>();
    for (TableState state : states.values()) {
      Optional<Commits.Commit> last = Commits.last(spark, paths.bronze(state.table.name()), BronzeLoader.JOB);
      if (last.isPresent() && last.get().batch() > state.batchId) {
        long position = Long.parseLong(last.get().positions().getOrDefault(LOG_END, "0"));
        LOG.warn("log {}: batch {} of an interrupted run was landed; recording it", state.table.name(), last.get().batch());
        state.batchId = last.get().batch();
        state.position = position;
        marks.add(new Watermark(state.table.name(), state.batchId, Optional.of(new CursorValue.IntegerValue(position)), runId));
      } else if (!recorded.containsKey(state.table.name()) && last.isPresent()) {
        // The initial copy: its position is the snapshot's.
        long position = Long.parseLong(last.get().positions().getOrDefault(LOG_END, "0"));
        state.batchId = last.get().batch();
        state.position = position;
        marks.add(new Watermark(state.table.name(), state.batchId, Optional.of(new CursorValue.IntegerValue(position)), runId));
      }
    }
    watermarks.recordAll(marks);
  }

  /** The log position before which a table's bronze already holds everything (its last commit's). */
  private long landedUntil(TableSpec table) {
    return Commits.last(spark, paths.bronze(table.name()), BronzeLoader.JOB)
        .map(c -> c.positions().get(LOG_END)).map(Long::parseLong).orElse(0L);
  }

  /**
   * Where the log ends now: the insert position, not pg_current_wal_lsn() (the write position),
   * which with synchronous_commit = off may still be before transactions that have committed, and
   * a run that drains the slot must land every one of them.
   */
  private LogSequenceNumber currentLsn() {
    try (Connection connection = SourceDatabase.connect(source); Statement s = connection.createStatement();
         ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()")) {
      rs.next();
      return LogSequenceNumber.valueOf(rs.getString(1));
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read the source's log position", e);
    }
  }

  /** Several micro-batches of one run as one result per table. */
  private static List<BronzeLoader.TableResult> merge(List<BronzeLoader.TableResult> results) {
    Map<String, BronzeLoader.TableResult> merged = new LinkedHashMap<>();
    for (BronzeLoader.TableResult r : results) {
      merged.merge(r.table(), r, (a, b) -> new BronzeLoader.TableResult(a.table(), b.batchId(),
          a.rowsRead() + b.rowsRead(), a.rowsWritten() + b.rowsWritten(), b.watermark(), b.status(), b.error()));
    }
    return new ArrayList<>(merged.values());
  }

  private Path spillDirectory() {
    try {
      return Files.createTempDirectory("lakehouse-log-spill-");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create a spill directory", e);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.debug("cannot delete {}", dir, e);
    }
  }

  /** A log table as the capture sees it: its columns now, and what its bronze holds. */
  private static final class TableState {
    final TableSpec table;
    final String schema;
    private List<SourceColumn> columns;
    /** Bronze's row shape for {@link #columns}: built once per shape, not once per row. */
    private StructType rowSchema;
    /** Written by the writer thread only, once the capture has started. */
    volatile long batchId;
    long skipBefore;

    /** The log position its watermark records. */
    long position;
    /** The columns the log last described, up to the last batch landed (writer thread; null: not known yet). */
    volatile List<String> landedDescription;

    /** The table's shape as the log last described it (null until its first relation message). */
    Relation relation;
    /** Columns the last relation message brought, for the next change to fill in (null: none). */
    List<String> fresh;
    /** Counts the shapes a batch has spilled rows of: each shape is spilled apart from the others. */
    int shape;
    /** Columns a value was found unreadable in during this capture (each is reported once). */
    final Set<String> unparsedColumns = new HashSet<>();

    TableState(TableSpec table, String schema, Watermark recorded) {
      this.table = table;
      this.schema = schema;
      this.batchId = recorded == null ? 1 : recorded.batchId();
      this.position = recorded == null ? 0 : recorded.cursor().map(c -> ((CursorValue.IntegerValue) c).value()).orElse(0L);
    }

    /** The table's columns now, and bronze's row shape for them. */
    void columns(List<SourceColumn> now) {
      BronzeLoader.checkColumnNames(table, schema + "." + table.sourceTable(), now);
      StructType shape = new StructType();
      for (SourceColumn column : now) {
        shape = shape.add(new StructField(column.name(), column.dataType(), true, org.apache.spark.sql.types.Metadata.empty()));
      }
      rowSchema = shape.add("_batch_id", DataTypes.LongType).add("_ingested_at", DataTypes.TimestampType)
          .add("_source", DataTypes.StringType).add(BronzeOps.OP, DataTypes.StringType)
          .add(LSN, DataTypes.LongType).add(SEQ, DataTypes.LongType).add(COMMIT_TIME, DataTypes.TimestampType)
          .add(UNCHANGED, DataTypes.createArrayType(DataTypes.StringType))
          .add(UNPARSED, DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType));
      columns = now;
    }

    StructType rowSchema() {
      return rowSchema;
    }
  }

  /** The rows of one micro-batch, per table: in memory up to the budget, then spilled to Parquet files. */
  private final class Batch {
    private final Map<String, TableState> states;
    private final Path spill;
    /** Answers the server while the reader is busy elsewhere (reading a table's rows), so it keeps the connection. */
    private final Runnable keepAlive;
    private final Map<String, List<Row>> rows = new LinkedHashMap<>();
    private final Map<String, StructType> schemas = new HashMap<>();
    private final Map<String, Long> counts = new HashMap<>();
    /** Per table, the columns of the last relation message in this batch. */
    final Map<String, List<String>> described = new HashMap<>();
    private int inMemory;
    /** The end of the last complete transaction added. */
    LogSequenceNumber position;

    Batch(Map<String, TableState> states, Path spill, Runnable keepAlive) {
      this.states = states;
      this.spill = spill;
      this.keepAlive = keepAlive;
    }

    long rows() {
      return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    long rows(TableState state) {
      return counts.getOrDefault(state.table.name(), 0L);
    }

    void committed(LogSequenceNumber end) {
      position = end;
    }

    void add(TableState state, ReplicationEvent.Change change) {
      List<String> fresh = state.fresh;
      state.fresh = null;
      if (change.commitLsn().asLong() < state.skipBefore) {
        return;  // landed already, with any rows that held a value in a new column
      }
      if (fresh != null) {
        List<SourceColumn> columns = state.columns;
        long[] answered = {System.nanoTime()};
        rowsHoldingValues(state, fresh, columns, text -> {
          if (System.nanoTime() - answered[0] > KEEP_ALIVE.toNanos()) {
            keepAlive.run();
            answered[0] = System.nanoTime();
          }
          Object[] row = new Object[text.length];
          Map<String, String> unparsed = null;
          for (int c = 0; c < text.length; c++) {
            unparsed = parse(state, text[c], columns.get(c), row, c, unparsed);
          }
          // Before the transaction's own changes (their ordinals start at 1): one of those supersedes it.
          add(state, row, BronzeOps.UPSERT, change.commitLsn(), 0, change.commitTime(), null, unparsed);
        });
      }
      Relation relation = change.relation();
      switch (change.op()) {
        case INSERT -> append(state, relation, change.newValues(), BronzeOps.INSERT, change);
        case UPDATE -> {
          if (change.oldImage() != ReplicationEvent.OldImage.NONE && keyChanged(state, relation, change)) {
            append(state, relation, change.oldValues(), BronzeOps.DELETE, change);
          }
          append(state, relation, change.newValues(), BronzeOps.UPSERT, change);
        }
        case DELETE -> append(state, relation, change.oldValues(), BronzeOps.DELETE, change);
      }
    }

    void truncate(TableState state, ReplicationEvent.Truncate truncate) {
      state.fresh = null;  // every row that held a value then is gone
      if (truncate.commitLsn().asLong() < state.skipBefore) {
        return;
      }
      Object[] values = new Object[state.columns.size()];
      add(state, values, TRUNCATE, truncate.commitLsn(), truncate.ordinal(), truncate.commitTime(), null, null);
    }

    /** A table's shape changed in the log: the next rows follow the new columns. */
    void reshape(TableState state, Relation relation) {
      Relation described = state.relation;
      state.relation = relation;
      List<String> names = relation.columnNames();
      this.described.put(state.table.name(), names);
      // New to the log since it last described the table (for the first description of a session:
      // since the description bronze's last batch recorded, else every column bronze holds): added,
      // renamed or added again by an ALTER, perhaps holding values.
      Set<String> seen = described == null ? lastDescribed(state.table) : new HashSet<>(described.columnNames().stream()
          .map(n -> n.toLowerCase(java.util.Locale.ROOT)).toList());
      if (seen != null) {
        List<String> fresh = names.stream().filter(n -> !seen.contains(n.toLowerCase(java.util.Locale.ROOT))).toList();
        state.fresh = fresh.isEmpty() ? null : fresh;
      }
      List<String> known = state.columns.stream().map(SourceColumn::name).toList();
      // The first description in a session matches the catalog the columns were read from; a
      // later one with other types is an ALTER COLUMN ... TYPE while capturing.
      if (names.equals(known) && (described == null || types(described).equals(types(relation)))) {
        return;
      }
      // Rows so far keep their shape: spilled before the new columns arrive.
      spillTable(state);
      state.shape++;
      try (Connection connection = SourceDatabase.connect(source)) {
        List<SourceColumn> now = new ArrayList<>(SourceColumns.discover(connection, state.schema,
            state.table.sourceTable(), state.table.asText(), false));
        // The log describes its changes as they were written: a column renamed or dropped since
        // still carries their values, under its old name and type. It lands under that name (a
        // rename is a dropped column and a new one, as in query mode), never dropped on the way.
        for (Relation.Column logged : relation.columns()) {
          if (now.stream().noneMatch(c -> c.name().equalsIgnoreCase(logged.name()))) {
            now.add(SourceColumns.ofType(connection, state.schema + "." + state.table.sourceTable(), logged.name(),
                Integer.toUnsignedLong(logged.typeOid()), logged.typeModifier(),
                state.table.asText().contains(logged.name())));
          }
        }
        for (SourceColumn column : now) {
          state.columns.stream().filter(c -> c.name().equals(column.name())).findFirst().ifPresent(before -> {
            if (!before.dataType().equals(column.dataType())
                && !TypeWidening.widens(before.dataType(), column.dataType())) {
              throw new LakehouseException("Column " + column.name() + " of " + state.table.name() + " changed type from "
                  + before.dataType().simpleString() + " to " + column.dataType().simpleString() + " in the log; bronze."
                  + state.table.name() + " takes no more changes (" + TypeWidening.TAKEN + ")");
            }
          });
        }
        state.columns(now);
        // Not "the table's columns are now": the log may describe changes written before the
        // catalog's current columns (a first description older than a column added since).
        LOG.warn("log {}: the log's changes from here on have columns {} (before: {})", state.table.name(), names,
            described == null ? known : described.columnNames());
      } catch (SQLException e) {
        throw SourceDatabase.queryError("Cannot read the columns of " + state.table.name(), e);
      }
    }

    /**
     * Where the log's row holds {@code column}: by its name, else ignoring case (renamed in case
     * only since the change was written; Spark and Delta see one column), else -1.
     */
    private static int position(Relation relation, String column) {
      int exact = relation.indexOf(column);
      if (exact >= 0) {
        return exact;
      }
      for (int i = 0; i < relation.columns().size(); i++) {
        if (relation.columns().get(i).name().equalsIgnoreCase(column)) {
          return i;
        }
      }
      return -1;
    }

    private static List<List<Integer>> types(Relation relation) {
      return relation.columns().stream().map(c -> List.of(c.typeOid(), c.typeModifier())).toList();
    }

    private boolean keyChanged(TableState state, Relation relation, ReplicationEvent.Change change) {
      for (String key : state.table.primaryKey()) {
        int i = relation.indexOf(key);
        if (i >= 0 && !change.oldValues().get(i).isUnchangedToast()
            && !java.util.Objects.equals(change.oldValues().get(i), change.newValues().get(i))) {
          return true;
        }
      }
      return false;
    }

    private void append(TableState state, Relation relation, List<ColumnValue> values, String op,
                        ReplicationEvent.Change change) {
      Object[] row = new Object[state.columns.size()];
      List<String> unchanged = null;
      Map<String, String> unparsed = null;
      for (int c = 0; c < state.columns.size(); c++) {
        SourceColumn column = state.columns.get(c);
        int i = position(relation, column.name());
        if (i < 0 || values.isEmpty()) {
          continue;
        }
        ColumnValue value = values.get(i);
        if (value.isUnchangedToast()) {
          unchanged = unchanged == null ? new ArrayList<>() : unchanged;
          unchanged.add(column.name());
        } else if (!value.isNull()) {
          unparsed = parse(state, new String(value.bytes(), java.nio.charset.StandardCharsets.UTF_8), column, row, c,
              unparsed);
        }
      }
      add(state, row, op, change.commitLsn(), change.ordinal(), change.commitTime(), unchanged, unparsed);
    }

    /**
     * Puts {@code text}'s value into {@code row[c]}; a value the column's Spark type cannot hold
     * stays NULL there and goes into {@code unparsed} (returned, created on first use) with its
     * text, so the row still lands and the capture goes on ({@link #UNPARSED}).
     */
    private Map<String, String> parse(TableState state, String text, SourceColumn column, Object[] row, int c,
                                      Map<String, String> unparsed) {
      if (text == null) {
        return unparsed;
      }
      try {
        // The table's setting only for the rare infinite value: this runs for every value of every change.
        String value = InfiniteValues.infinite(text, column) && state.table.clampsInfinity(column.name())
            ? InfiniteValues.text(text, column) : text;
        row[c] = TextValues.parse(value, column, moneyScale);
        return unparsed;
      } catch (TextValues.Unrepresentable e) {
        if (state.unparsedColumns.add(column.name())) {
          // A delete's old image (REPLICA IDENTITY FULL) may hold such a value too; silver
          // applies deletes by key, so only inserted and updated versions are held aside.
          LOG.warn("log {}: {}; such values land with {} NULL and their text in {}, and silver quarantines"
              + " the versions that hold them", state.table.name(), e.getMessage(), column.name(), UNPARSED);
        }
        Map<String, String> values = unparsed == null ? new java.util.TreeMap<>() : unparsed;
        values.put(column.name(), text);
        return values;
      }
    }

    private void add(TableState state, Object[] values, String op, LogSequenceNumber commitLsn, long ordinal,
                     Instant commitTime, List<String> unchanged, Map<String, String> unparsed) {
      Object[] row = java.util.Arrays.copyOf(values, values.length + 9);
      int n = values.length;
      row[n] = null;
      row[n + 1] = null;
      row[n + 2] = null;
      row[n + 3] = op;
      row[n + 4] = commitLsn.asLong();
      row[n + 5] = ordinal;
      row[n + 6] = Timestamp.from(commitTime);
      row[n + 7] = unchanged;
      row[n + 8] = unparsed;
      rows.computeIfAbsent(state.table.name(), k -> new ArrayList<>()).add(RowFactory.create(row));
      counts.merge(state.table.name(), 1L, Long::sum);
      schemas.put(state.table.name(), state.rowSchema());
      if (++inMemory >= settings.bufferRows()) {
        states.values().forEach(this::spillTable);
      }
    }

    private void spillTable(TableState state) {
      List<Row> buffered = rows.get(state.table.name());
      if (buffered == null || buffered.isEmpty()) {
        return;
      }
      spark.createDataFrame(buffered, schemas.get(state.table.name()))
          .write().mode(SaveMode.Append).parquet(spill.resolve(state.table.name()).resolve("shape-" + state.shape).toString());
      inMemory -= buffered.size();
      buffered.clear();
    }

    /**
     * The table's rows of this batch, with the batch's own columns filled. The rows in memory have
     * the shape they were read with (the reader may have moved on to a newer one).
     */
    Dataset<Row> dataset(TableState state, long batchId) {
      StructType schema = schemas.get(state.table.name());
      Dataset<Row> memory = spark.createDataFrame(rows.getOrDefault(state.table.name(), List.of()), schema);
      Path spilled = spill.resolve(state.table.name());
      Dataset<Row> all = memory;
      if (Files.exists(spilled)) {
        // One read per shape (a column added, or widened, mid-batch): one read would take one file's shape for all.
        try (var shapes = Files.list(spilled)) {
          for (Path shape : shapes.sorted().toList()) {
            all = spark.read().parquet(shape.toString()).unionByName(all, true);
          }
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
      return all.withColumn("_batch_id", lit(batchId))
          .withColumn("_ingested_at", lit(Timestamp.from(Instant.now())))
          .withColumn("_source", lit(source.label() + "." + state.schema + "." + state.table.sourceTable()));
    }

    void clear() {
      rows.clear();
      counts.clear();
      inMemory = 0;
      if (Files.exists(spill)) {
        deleteQuietly(spill);
      }
    }
  }
}
