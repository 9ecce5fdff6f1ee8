package dev.lakehouse.pipeline;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.bronze.BronzeLoader;
import dev.lakehouse.bronze.CursorValue;
import dev.lakehouse.bronze.LogCapture;
import dev.lakehouse.bronze.LogSetup;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.DqResults;
import dev.lakehouse.control.LakehouseLock;
import dev.lakehouse.control.RunId;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.gold.GoldBuilder;
import dev.lakehouse.maintain.Maintenance;
import dev.lakehouse.quality.Quality;
import dev.lakehouse.silver.SilverLoader;
import dev.lakehouse.silver.SilverReconciler;
import dev.lakehouse.spark.CodeGeneration;
import dev.lakehouse.source.SourceDatabase;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.SpecException;
import dev.lakehouse.spec.TableSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A run of the lakehouse: one lock, one run id, the chosen stages in order (bronze, silver,
 * reconcile, gold), and the run log. Before anything is extracted the specification is checked
 * against the source ({@link SpecCheck}). A table that fails in a stage is recorded and the others
 * go on; silver applies what bronze has; gold runs only on a silver that applied cleanly, since it
 * would otherwise mix old and new states. Every stage's outcome, gold's included, goes to
 * {@code _control/runs}; silver's rule results to {@code _control/dq_results}.
 */
public final class Pipeline {

  private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

  private final Lakehouse lakehouse;

  public Pipeline(Lakehouse lakehouse) {
    this.lakehouse = lakehouse;
  }

  /** Every stage, as {@code lakehouse run} does; reconcile unless configured off; maintenance as configured. */
  public RunResult runAll(List<String> tables) {
    return run(runStages(lakehouse.spec()), tables);
  }

  /** The stages of {@code lakehouse run}. */
  public static Set<Stage> runStages(LakehouseSpec spec) {
    Set<Stage> stages = EnumSet.of(Stage.BRONZE, Stage.SILVER, Stage.GOLD);
    if (spec.reconcileOnRun()) {
      stages.add(Stage.RECONCILE);
    }
    if (spec.maintain().afterRun() || spec.maintain().everyRuns() > 0) {
      stages.add(Stage.MAINTAIN);
    }
    return stages;
  }

  /** Runs {@code stages} (in stage order) on the named tables, or all when none are named. */
  public RunResult run(Set<Stage> stages, List<String> tableNames) {
    Instant started = Instant.now();
    LakehouseSpec spec = lakehouse.spec();
    List<TableSpec> tables = spec.tables(tableNames);
    String runId = RunId.next(started);
    String job = stages.size() == 1 ? stages.iterator().next().label() : "run";
    try (LakehouseLock lock = LakehouseLock.acquire(lakehouse.paths().root(), job, spec.lockLease(),
        lakehouse.spark().sessionState().newHadoopConf())) {
      if (stages.contains(Stage.BRONZE) || stages.contains(Stage.RECONCILE)) {
        check(tables, stages.contains(Stage.BRONZE));
      }
      return execute(runId, stages, tables, started);
    }
  }

  /** The specification against the live source; nothing has run when this throws. */
  void check(List<TableSpec> tables) {
    check(tables, true);
  }

  /** As above; {@code logReady} when bronze will read the log tables. */
  void check(List<TableSpec> tables, boolean logReady) {
    List<String> problems = SpecCheck.againstSource(lakehouse.spark(), lakehouse.source(), lakehouse.spec(), tables,
        logReady);
    if (!problems.isEmpty()) {
      throw new SpecException(problems);
    }
  }

  /** The stages, in order, under a lock the caller holds; every stage's outcome in the run log, in one commit. */
  RunResult execute(String runId, Set<Stage> stages, List<TableSpec> tables, Instant started) {
    return execute(runId, stages, tables, started, List.of());
  }

  /** As above, with {@code earlier} entries (what a stream's bronze did meanwhile) in the same run-log commit. */
  RunResult execute(String runId, Set<Stage> stages, List<TableSpec> tables, Instant started,
                    List<RunLog.Entry> earlier) {
    return execute(runId, stages, tables, started, earlier, null);
  }

  /**
   * As above; a run that succeeds hands its entries to {@code deferTo} (when not null) for a later
   * run-log commit instead of committing them: a stream's silver cycles leave theirs to its next
   * gold cycle. A failed run commits them at once.
   */
  RunResult execute(String runId, Set<Stage> stages, List<TableSpec> tables, Instant started,
                    List<RunLog.Entry> earlier, java.util.function.Consumer<List<RunLog.Entry>> deferTo) {
    OptionalLong landed = OptionalLong.empty();
    SourceSizes sizes = new SourceSizes();
    List<TableRun> results = new ArrayList<>();
    Map<Stage, Duration> times = new LinkedHashMap<>();
    List<String> notes = new ArrayList<>();
    RunLog runLog = new RunLog(lakehouse.spark(), lakehouse.paths().control("runs"));
    // One commit to the run log per run, not per stage: each commit is a Spark job and a Delta
    // transaction, and every tenth makes a checkpoint (a run with nothing new spent a third of its
    // time there). The stages' own commits, not the run log, are what recovery reads.
    List<RunLog.Entry> logged = new ArrayList<>(earlier);
    boolean finished = false;
    try {
      for (Stage stage : Stage.values()) {
        if (!stages.contains(stage)) {
          continue;
        }
        if (stage == Stage.GOLD && results.stream().anyMatch(r -> r.stage() == Stage.SILVER && r.failed())) {
          String note = "gold skipped: silver failed for a table, so gold would mix old and new states";
          notes.add(note);
          LOG.warn(note);
          continue;
        }
        Instant stageStart = Instant.now();
        OptionalLong landedSoFar = landed;
        List<TableRun> stageResults = CodeGeneration.forRows(lakehouse.spark(), lakehouse.spec().spark().conf(),
            lakehouse.spec().spark().codegenMinRows(), () -> rowsTaken(stage, tables, landedSoFar, sizes), () -> switch (stage) {
              case BRONZE -> bronze(runId, tables);
              case SILVER -> silver(runId, tables);
              case RECONCILE -> reconcile(runId, notFailedEarlier(tables, results));
              case GOLD -> gold(runId);
              case MAINTAIN -> maintain(stages, results, runLog);
            });
        if (stage == Stage.BRONZE) {
          landed = OptionalLong.of(stageResults.stream().mapToLong(TableRun::rowsWritten).sum());
        }
        if (stage == Stage.MAINTAIN && stageResults.isEmpty()) {
          continue;
        }
        Instant stageEnd = Instant.now();
        times.put(stage, Duration.between(stageStart, stageEnd));
        results.addAll(stageResults);
        logged.addAll(entries(runId, stage, stageResults, stageStart, stageEnd));
      }
      finished = true;
    } finally {
      boolean failed = results.stream().anyMatch(TableRun::failed);
      if (finished && deferTo != null && !failed) {
        deferTo.accept(logged);
      } else if (finished) {
        runLog.appendAll(logged);
        CrashPoints.reach("run.after-runlog");
      } else {
        try {
          runLog.appendAll(logged); // what the stages before the failure did
        } catch (RuntimeException e) {
          LOG.warn("the run log could not record run {}: {}", runId, dev.lakehouse.Errors.describe(e));
        }
      }
    }
    return new RunResult(runId, results, times, notes, Duration.between(started, Instant.now()));
  }

  /**
   * About how many rows {@code stage} works on, where that is known before it runs. Bronze reads a
   * window of changes of a table it already holds (counted as none) and the whole of a full table
   * or of a first load; reconcile reads every key of the incremental tables. Silver and gold work
   * on what bronze landed, but their MERGEs read the tables they merge into and the marts are
   * rebuilt whole, so they count at least the tables' size: a few changes on a large lakehouse
   * are still many rows read. Whole tables count as PostgreSQL estimates them.
   */
  private OptionalLong rowsTaken(Stage stage, List<TableSpec> tables, OptionalLong landed, SourceSizes sizes) {
    return switch (stage) {
      case BRONZE -> sizes.of(tables.stream().filter(t -> !(t.log() || t.incremental())
          || !io.delta.tables.DeltaTable.isDeltaTable(lakehouse.spark(), lakehouse.paths().bronze(t.name()))).toList());
      case RECONCILE -> sizes.of(tables.stream().filter(TableSpec::incremental).toList());
      case SILVER -> atLeast(landed, sizes.of(tables));
      case GOLD -> atLeast(landed, sizes.of(lakehouse.spec().tables()));
      case MAINTAIN -> OptionalLong.empty();
    };
  }

  private static OptionalLong atLeast(OptionalLong landed, OptionalLong tableRows) {
    return tableRows.isEmpty() ? tableRows : OptionalLong.of(Math.max(landed.orElse(0), tableRows.getAsLong()));
  }

  /** PostgreSQL's estimates of the specification's tables, read once per run, when a stage first asks. */
  private final class SourceSizes {
    private Map<String, OptionalLong> byTable;

    /** The tables' rows together; empty when one of them has no estimate. */
    OptionalLong of(List<TableSpec> tables) {
      if (tables.isEmpty()) {
        return OptionalLong.of(0);
      }
      if (byTable == null) {
        byTable = read();
      }
      long rows = 0;
      for (TableSpec table : tables) {
        OptionalLong estimate = byTable.getOrDefault(table.name(), OptionalLong.empty());
        if (estimate.isEmpty()) {
          return estimate;
        }
        rows += estimate.getAsLong();
      }
      return OptionalLong.of(rows);
    }

    private Map<String, OptionalLong> read() {
      Map<String, OptionalLong> estimates = new java.util.HashMap<>();
      try (java.sql.Connection connection = SourceDatabase.connect(lakehouse.source())) {
        for (TableSpec table : lakehouse.spec().tables()) {
          estimates.put(table.name(), SourceDatabase.estimatedRows(connection,
              SourceDatabase.schemaOf(connection, lakehouse.source(), table), table.sourceTable()));
        }
      } catch (java.sql.SQLException | RuntimeException e) {
        return Map.of(); // no estimates: stages run compiled; bronze reports what is wrong with the source
      }
      return estimates;
    }
  }

  static List<RunLog.Entry> entries(String runId, Stage stage, List<TableRun> runs, Instant start, Instant end) {
    return runs.stream().map(r -> new RunLog.Entry(runId, stage.label(), r.table(),
        r.batch(), r.rowsRead(), r.rowsWritten(), start, end, r.status(), r.error(), r.detail())).toList();
  }

  private List<TableRun> bronze(String runId, List<TableSpec> tables) {
    List<TableSpec> queried = tables.stream().filter(t -> !t.log()).toList();
    List<TableSpec> logged = tables.stream().filter(TableSpec::log).toList();
    List<BronzeLoader.TableResult> results = new ArrayList<>();
    if (!queried.isEmpty()) {
      results.addAll(new BronzeLoader(lakehouse.spark(), lakehouse.source(), lakehouse.paths())
          .load(runId, queried, lakehouse.spec().parallelism()));
    }
    if (!logged.isEmpty()) {
      results.addAll(captureLog(runId, logged, true, () -> false, b -> { }).results());
    }
    return bronzeRuns(results, logged.stream().map(TableSpec::name).collect(java.util.stream.Collectors.toSet()));
  }

  /**
   * The log tables' changes: their initial copies when they have no bronze yet, then the slot, in
   * micro-batches; with {@code drain}, until everything it held when this started is landed.
   */
  LogCapture.Captured captureLog(String runId, List<TableSpec> logged, boolean drain,
                                 java.util.function.BooleanSupplier stop,
                                 java.util.function.Consumer<LogCapture.Captured> afterBatch) {
    List<BronzeLoader.TableResult> results = new ArrayList<>();
    boolean sourceLost = false;
    try {
      new LogSetup(lakehouse.source(), lakehouse.spec().log()).requireReady(logged);
      LogCapture capture = new LogCapture(lakehouse.spark(), lakehouse.source(), lakehouse.paths(), lakehouse.spec().log());
      List<BronzeLoader.TableResult> copies = capture.initialCopies(runId, logged);
      results.addAll(copies);
      if (copies.stream().anyMatch(c -> !c.failed())) {
        afterBatch.accept(new LogCapture.Captured(copies, 0, 0, null));
      }
      List<String> failedCopies = copies.stream().filter(BronzeLoader.TableResult::failed)
          .map(BronzeLoader.TableResult::table).toList();
      List<TableSpec> ready = logged.stream().filter(t -> !failedCopies.contains(t.name())).toList();
      if (!ready.isEmpty()) {
        LogCapture.Captured captured = capture.capture(runId, ready, drain, stop, lakehouse.spec().log().trigger(),
            afterBatch);
        for (BronzeLoader.TableResult r : captured.results()) {
          // An initial copy in this run stays the table's line unless the log landed more after it.
          boolean copied = results.stream().anyMatch(c -> c.table().equals(r.table()));
          if (copied && r.rowsWritten() == 0) {
            continue;
          }
          results.removeIf(c -> c.table().equals(r.table()) && !c.failed() && r.batchId() > c.batchId());
          results.add(r);
        }
        return new LogCapture.Captured(results, captured.transactions(), captured.changes(), captured.position());
      }
    } catch (RuntimeException e) {
      String message = dev.lakehouse.Errors.describe(e);
      sourceLost = SourceDatabase.lostConnection(e);
      LOG.error("log capture failed: {}", message);
      LOG.debug("log capture failure detail", e);
      for (TableSpec table : logged) {
        if (results.stream().noneMatch(r -> r.table().equals(table.name()) && r.failed())) {
          results.add(new BronzeLoader.TableResult(table.name(), 0, 0, 0, java.util.Optional.empty(),
              RunLog.Status.FAILED, message));
        }
      }
    }
    return new LogCapture.Captured(results, 0, 0, null, sourceLost);
  }

  /** The run log's entries for bronze; a {@code logTables} table's watermark is a log position, shown as one. */
  static List<TableRun> bronzeRuns(List<BronzeLoader.TableResult> results, Set<String> logTables) {
    List<TableRun> runs = new ArrayList<>();
    for (BronzeLoader.TableResult r : results) {
      String detail = r.failed() ? null : r.status() == RunLog.Status.RECOVERED ? r.error()
          : r.rowsWritten() == 0 ? "nothing new" : r.watermark().map(w -> logTables.contains(r.table())
              && w instanceof CursorValue.IntegerValue lsn
              ? "log position " + org.postgresql.replication.LogSequenceNumber.valueOf(lsn.value()).asString()
              : "watermark " + w.encode()).orElse(null);
      if (r.note() != null) {
        detail = detail == null ? r.note() : r.note() + "; " + detail;
      }
      runs.add(new TableRun(Stage.BRONZE, r.table(), r.status(), r.batchId(), r.rowsRead(), r.rowsWritten(),
          Map.of(), r.failed() ? r.error() : null, detail, Duration.ZERO));
    }
    return runs;
  }

  private List<TableRun> silver(String runId, List<TableSpec> tables) {
    List<SilverLoader.TableResult> loaded = new SilverLoader(lakehouse.spark(), lakehouse.paths(),
        lakehouse.spec().source().timeZone()).load(runId, tables, lakehouse.spec().parallelism());
    List<TableRun> runs = new ArrayList<>();
    List<DqResults.Result> dq = new ArrayList<>();
    for (SilverLoader.TableResult r : loaded) {
      Map<String, Long> counts = new LinkedHashMap<>();
      counts.put("inserted", r.inserted());
      counts.put("updated", r.updated());
      counts.put("deleted", r.deleted());
      counts.put("quarantined", r.quarantined());
      String detail = null;
      for (Quality.Outcome o : r.outcomes()) {
        dq.add(new DqResults.Result(r.table(), o.rule().name(), o.rule().action().name().toLowerCase(),
            o.checked(), o.failed(), r.fromBatch(), r.toBatch()));
        if (o.rule() instanceof dev.lakehouse.quality.Rule.OneVersionPerBatch && o.failed() > 0) {
          detail = o.failed() + (o.failed() == 1 ? " key" : " keys") + " arrived in more than one version in one bronze"
              + " batch; the latest of each was applied";
        }
      }
      long written = r.inserted() + r.updated() + r.deleted();
      if (detail == null && !r.failed()) {
        // A batch of delete markers only has no rows in, yet is not "up to date": it deleted.
        detail = written > 0 ? null
            : r.toBatch() < r.fromBatch() || r.rowsIn() == 0 ? "up to date" : "nothing changed";
      }
      runs.add(new TableRun(Stage.SILVER, r.table(), r.status(), r.toBatch(), r.rowsIn(), written, counts,
          r.error(), detail, Duration.ZERO));
    }
    new DqResults(lakehouse.spark(), lakehouse.paths().control("dq_results")).append(runId, dq);
    return runs;
  }

  /**
   * The tables whose bronze and silver steps did not fail in this run: reconcile leaves the others
   * to the next run, since their failure is reported already and their silver is behind.
   */
  private static List<TableSpec> notFailedEarlier(List<TableSpec> tables, List<TableRun> done) {
    Set<String> failed = done.stream().filter(TableRun::failed).map(TableRun::table)
        .collect(java.util.stream.Collectors.toSet());
    return tables.stream().filter(t -> !failed.contains(t.name())).toList();
  }

  private List<TableRun> reconcile(String runId, List<TableSpec> tables) {
    List<TableRun> runs = new ArrayList<>();
    for (SilverReconciler.TableResult r : new SilverReconciler(lakehouse.spark(), lakehouse.source(), lakehouse.paths())
        .reconcile(runId, tables, lakehouse.spec().parallelism())) {
      String detail = r.byFingerprint() ? "keys unchanged"
          : r.relanded() == 0 ? null
          : r.relanded() + (r.relanded() == 1 ? " row" : " rows") + " silver lacks and no window will read landed in"
              + " bronze for the next run";
      runs.add(new TableRun(Stage.RECONCILE, r.table(), r.status(), 0, r.sourceKeys(), r.deleted(),
          Map.of("deleted", r.deleted(), "relanded", r.relanded()), r.error(), detail, Duration.ZERO));
    }
    return runs;
  }

  /**
   * Alone ({@code lakehouse maintain}): every table, compacted where needed, then vacuumed. After
   * other stages: the tables this run wrote that passed the file threshold are compacted, and
   * every {@code every-runs} runs the whole lakehouse is maintained.
   */
  private List<TableRun> maintain(Set<Stage> stages, List<TableRun> done, RunLog runLog) {
    Maintenance maintenance = new Maintenance(lakehouse.spark(), lakehouse.spec());
    List<Maintenance.TableResult> results;
    if (stages.size() == 1) {
      results = maintenance.run(true);
    } else {
      int every = lakehouse.spec().maintain().everyRuns();
      if (every > 0 && (runLog.runs() + 1) % every == 0) {
        results = maintenance.run(true);
      } else if (lakehouse.spec().maintain().afterRun()) {
        Set<String> written = new java.util.HashSet<>();
        for (TableRun r : done) {
          if (r.rowsWritten() > 0 && !r.failed()) {
            String layer = switch (r.stage()) {
              case BRONZE -> "bronze";
              case GOLD -> "gold";
              default -> "silver";
            };
            written.add(layer + "." + r.table());
          }
        }
        results = written.isEmpty() ? List.of() : maintenance.run(maintenance.overThreshold(written), false);
      } else {
        results = List.of();
      }
    }
    List<TableRun> runs = new ArrayList<>();
    for (Maintenance.TableResult r : results) {
      Map<String, Long> counts = new LinkedHashMap<>();
      counts.put("files_before", r.filesBefore());
      counts.put("files_after", r.filesAfter());
      String detail = (r.compacted() ? "compacted " + r.filesBefore() + " -> " + r.filesAfter() + " files" : "")
          + (r.vacuumedTo() == null ? "" : (r.compacted() ? ", " : "") + "vacuumed, keeping "
              + dev.lakehouse.spec.Durations.written(r.vacuumedTo()));
      runs.add(new TableRun(Stage.MAINTAIN, r.table(), r.error() == null ? RunLog.Status.SUCCEEDED : RunLog.Status.FAILED,
          0, r.filesBefore(), r.filesAfter(), counts, r.error(), detail.isEmpty() ? "nothing to do" : detail, Duration.ZERO));
    }
    return runs;
  }

  private List<TableRun> gold(String runId) {
    LakehouseSpec spec = lakehouse.spec();
    List<TableRun> runs = new ArrayList<>();
    for (GoldBuilder.TableResult r : new GoldBuilder(lakehouse.spark(), lakehouse.paths(), spec.gold(), spec.tables(),
        spec.source().timeZone(), spec.parallelism()).build(runId)) {
      Map<String, Long> counts = new LinkedHashMap<>();
      counts.put("inserted", r.inserted());
      counts.put("updated", r.updated());
      counts.put("deleted", r.deleted());
      runs.add(new TableRun(Stage.GOLD, r.table(), r.status(), 0, 0, r.inserted() + r.updated() + r.deleted(), counts,
          r.error(), r.detail(), Duration.ZERO));
    }
    return runs;
  }
}
