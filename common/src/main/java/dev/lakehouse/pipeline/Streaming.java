package dev.lakehouse.pipeline;

import dev.lakehouse.Errors;
import dev.lakehouse.Lakehouse;
import dev.lakehouse.bronze.LogCapture;
import dev.lakehouse.control.LakehouseLock;
import dev.lakehouse.control.RunId;
import dev.lakehouse.control.RunLog;
import dev.lakehouse.maintain.Maintenance;
import dev.lakehouse.spark.LakehouseSpark;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.TableSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lakehouse stream}: the log tables continuously. One thread reads the slot and lands a
 * micro-batch in bronze every trigger; another applies what landed to silver as soon as it is
 * there, and every gold trigger also runs the tables not in log mode (bronze, silver, reconcile)
 * and gold, then compacts the tables past {@code maintain.max-files} (with {@code maintain.after-run}),
 * so a stream that runs for months keeps few files. A stop request (SIGTERM, Ctrl-C) lets the
 * current micro-batch finish and commit, then silver and gold catch up once more, then it ends. One
 * lock for the whole time. Losing the source (a restart, a broken connection) does not end it: the
 * log is read again from the last commit, after a wait that doubles up to a minute.
 */
public final class Streaming {

  private static final Logger LOG = LoggerFactory.getLogger(Streaming.class);
  /** The first wait before reading the log again after losing the source; it doubles up to the last. */
  private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  private static final Duration LAST_RETRY = Duration.ofSeconds(60);

  /** What a stream did. */
  public record Summary(long batches, long changes, long silverCycles, long goldCycles, String failure) {}

  private final Lakehouse lakehouse;
  private final AtomicLong changes = new AtomicLong();

  public Streaming(Lakehouse lakehouse) {
    this.lakehouse = lakehouse;
  }

  /** Bronze rows landed so far by {@link #run}, read while it runs (counted, not queried). */
  public long changesLanded() {
    return changes.get();
  }

  /**
   * Streams until {@code stop} says so (checked at batch boundaries); {@code progress} gets a line
   * for people after each cycle that did something.
   */
  public Summary run(BooleanSupplier stop, Consumer<String> progress) {
    LakehouseSpec spec = lakehouse.spec();
    List<TableSpec> logged = spec.logTables();
    List<TableSpec> others = spec.tables().stream().filter(t -> !t.log()).toList();
    if (logged.isEmpty()) {
      throw new dev.lakehouse.LakehouseException("No table is in mode = log; lakehouse stream reads the log tables"
          + " (use lakehouse run for the others)");
    }
    Pipeline pipeline = new Pipeline(lakehouse);
    AtomicBoolean captureDone = new AtomicBoolean();
    AtomicLong landedBatches = new AtomicLong();
    AtomicLong silverCycles = new AtomicLong();
    AtomicLong goldCycles = new AtomicLong();
    AtomicReference<String> failure = new AtomicReference<>();
    // The landed batches' and silver cycles' run-log entries, committed with the next gold cycle's:
    // a run-log commit per micro-batch cost the writer half a second each time, and as much again
    // per silver cycle. The run log is a record for people; recovery reads the layers' own commits.
    Queue<RunLog.Entry> landedEntries = new ConcurrentLinkedQueue<>();
    try (LakehouseLock lock = LakehouseLock.acquire(lakehouse.paths().root(), "stream", spec.lockLease(),
        lakehouse.spark().sessionState().newHadoopConf())) {
      pipeline.check(spec.tables());
      SparkSession session = LakehouseSpark.newSession(lakehouse.spark());
      Lakehouse applying = lakehouse.withSession(session);
      Pipeline applier = new Pipeline(applying);
      Thread apply = new Thread(() -> {
        long seenBatches = -1;
        long lastGold = 0;
        boolean last = false;
        while (!last) {
          last = captureDone.get();
          try {
            long batches = landedBatches.get();
            if (batches != seenBatches) {
              seenBatches = batches;
              // Its run-log entries go in with the next gold cycle's: one commit fewer per cycle.
              RunResult silver = applier.execute(RunId.next(Instant.now()), EnumSet.of(Stage.SILVER), logged, Instant.now(),
                  List.of(), landedEntries::addAll);
              silverCycles.incrementAndGet();
              report(silver, progress);
            }
            boolean goldDue = System.nanoTime() - lastGold >= spec.log().goldTrigger().toNanos();
            if (goldDue || last) {
              lastGold = System.nanoTime();
              EnumSet<Stage> stages = EnumSet.of(Stage.GOLD);
              if (!others.isEmpty()) {
                stages.add(Stage.BRONZE);
                stages.add(Stage.SILVER);
                if (spec.reconcileOnRun()) {
                  stages.add(Stage.RECONCILE);
                }
              }
              List<TableSpec> tables = others.isEmpty() ? logged : others;
              RunResult gold = applier.execute(RunId.next(Instant.now()), stages, tables, Instant.now(),
                  drain(landedEntries));
              goldCycles.incrementAndGet();
              report(gold, progress);
              if (spec.maintain().afterRun()) {
                for (Maintenance.TableResult r : new Maintenance(applying.spark(), spec).compactWhereNeeded()) {
                  if (r.compacted()) {
                    progress.accept("maintain: " + r.table() + " compacted, " + r.filesBefore() + " -> " + r.filesAfter()
                        + " files");
                  }
                }
              }
            }
            if (!last) {
              Thread.sleep(Math.max(100, spec.log().trigger().toMillis() / 4));
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          } catch (Exception e) { // Spark's checked exceptions too, thrown from Scala undeclared
            failure.compareAndSet(null, Errors.describe(e));
            LOG.error("stream: applying failed: {}", Errors.describe(e));
            LOG.debug("stream: applying failure detail", e);
          }
        }
      }, "lakehouse-stream-apply");
      apply.start();
      AtomicLong retryMillis = new AtomicLong(FIRST_RETRY.toMillis());
      try {
        while (true) {
          String runId = RunId.next(Instant.now());
          long attemptStarted = System.nanoTime();
          LogCapture.Captured captured = pipeline.captureLog(runId, logged, false, stop, batch -> {
            if (!batch.results().isEmpty()) {
              retryMillis.set(FIRST_RETRY.toMillis());
              landedBatches.incrementAndGet();
              long rows = batch.results().stream().mapToLong(r -> r.rowsWritten()).sum();
              changes.addAndGet(rows);
              Instant now = Instant.now();
              landedEntries.addAll(Pipeline.entries(runId, Stage.BRONZE, Pipeline.bronzeRuns(batch.results(),
                  logged.stream().map(TableSpec::name).collect(java.util.stream.Collectors.toSet())), now, now));
              progress.accept("bronze: " + rows + " changes landed, log position " + batch.position());
            }
          });
          var failed = captured.results().stream().filter(r -> r.failed()).findFirst();
          if (failed.isPresent() && captured.sourceLost() && !stop.getAsBoolean()) {
            // A source restarting or a network break passes: what landed is committed and the
            // slot resumes after it, so the stream reads the log again rather than ending.
            if (System.nanoTime() - attemptStarted >= LAST_RETRY.toNanos()) {
              retryMillis.set(FIRST_RETRY.toMillis()); // the source held for a while: a new loss, not the same one
            }
            long wait = retryMillis.getAndUpdate(m -> Math.min(m * 2, LAST_RETRY.toMillis()));
            LOG.warn("stream: lost the source; reading the log again in {} s", wait / 1000);
            if (sleepUnlessStopped(wait, stop)) {
              continue;
            }
          }
          failed.ifPresent(r -> failure.compareAndSet(null, "bronze " + r.table() + ": " + r.error()));
          break;
        }
      } finally {
        captureDone.set(true);
        try {
          apply.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    return new Summary(landedBatches.get(), changes.get(), silverCycles.get(), goldCycles.get(), failure.get());
  }

  /** Sleeps {@code millis} unless {@code stop} says so first; whether it slept the whole time. */
  private static boolean sleepUnlessStopped(long millis, BooleanSupplier stop) {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    while (System.nanoTime() < deadline) {
      if (stop.getAsBoolean()) {
        return false;
      }
      try {
        Thread.sleep(Math.min(200, Math.max(1, (deadline - System.nanoTime()) / 1_000_000L)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  private static List<RunLog.Entry> drain(Queue<RunLog.Entry> queue) {
    List<RunLog.Entry> entries = new ArrayList<>();
    for (RunLog.Entry entry = queue.poll(); entry != null; entry = queue.poll()) {
      entries.add(entry);
    }
    return entries;
  }

  private static void report(RunResult result, Consumer<String> progress) {
    long written = result.tables().stream().mapToLong(TableRun::rowsWritten).sum();
    if (written > 0 || result.failed()) {
      progress.accept(result.stageTimes().keySet().stream().map(Stage::label).toList() + ": " + written
          + " rows written" + (result.failed() ? ", failed: " + result.failureLines() : "") + " ("
          + Duration.between(Instant.now().minus(result.elapsed()), Instant.now()).toMillis() + " ms)");
    }
  }
}
