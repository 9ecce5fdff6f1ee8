package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.bronze.LogSetup;
import dev.lakehouse.control.Commits;
import dev.lakehouse.pipeline.Streaming;
import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.source.SourceDatabase;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.SourceSettings;
import io.delta.tables.DeltaTable;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lakehouse bench log}: a source under a steady write load (a bounded loop of updates on
 * 127.0.0.1) while {@code stream} runs; from each change's commit time to when it was visible in
 * bronze, silver and gold (the commit that first held it), the p50 and p95 latencies, and the
 * change rate bronze sustained against the rate the source wrote.
 */
@Command(name = "log", description = "Stream a source under a steady write load: latency to bronze, silver and"
    + " gold, and the sustained change rate.")
public final class LogBenchmark implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--rows", defaultValue = "100000", description = "Rows in the source table (default: ${DEFAULT-VALUE}).")
  int rows;

  @Option(names = "--rate", defaultValue = "20000", description = "Changes per second the source writes (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--seconds", defaultValue = "60", description = "How long the source writes (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--transaction", defaultValue = "100", description = "Changes per source transaction (default: ${DEFAULT-VALUE}).")
  int transaction;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    LakehouseCli cli = (LakehouseCli) spec.parent().parent().userObject();
    Path work = Files.createTempDirectory("lakehouse-bench-log-");
    try (EmbeddedSource postgres = EmbeddedSource.startTemporary()) {
      SourceSettings source = postgres.settings(cli.config().spec().source());
      try (Connection c = SourceDatabase.connect(source); Statement s = c.createStatement()) {
        s.execute("CREATE SCHEMA bench");
        s.execute("CREATE TABLE bench.events (id bigint PRIMARY KEY, kind text NOT NULL, amount numeric(12,2),"
            + " note text, updated_at timestamptz NOT NULL DEFAULT now())");
        s.execute("INSERT INTO bench.events (id, kind, amount) SELECT i, 'k' || (i % 20), i % 1000 FROM generate_series(1, "
            + rows + ") i");
      }
      // Its own specification: this source's one table, in log mode, and a dimension on it.
      var sparkSettings = cli.config().spec().spark();
      StringBuilder conf = new StringBuilder();
      sparkSettings.conf().forEach((k, v) -> conf.append("\"").append(k).append("\" = \"").append(v).append("\"\n"));
      LakehouseSpec lakehouseSpec = LakehouseConfig.of(com.typesafe.config.ConfigFactory.parseString("""
          lakehouse {
            root = "%s"
            source { url = "%s", user = "%s", schema = bench }
            spark { master = "%s", conf { %s } }
            tables.events { primary-key = [id], mode = log }
            gold.dimensions.event { source = events, natural-key = [id], tracked = [kind, amount] }
          }""".formatted(work.resolve("lakehouse"), source.url(), source.user(), sparkSettings.master(), conf))).spec();
      try (Lakehouse lakehouse = new Lakehouse(lakehouseSpec)) {
        new LogSetup(lakehouse.source(), lakehouseSpec.log()).setup(lakehouseSpec.logTables());
        AtomicBoolean stop = new AtomicBoolean();
        Streaming streaming = new Streaming(lakehouse);
        Thread stream = new Thread(() -> streaming.run(stop::get, line -> { }), "bench-stream");
        stream.start();
        // Steady state is measured: the load starts once the initial copy is in silver and gold.
        waitForRows(lakehouse.spark(), lakehouseSpec.paths().silver("events"), rows, "silver");
        waitForRows(lakehouse.spark(), lakehouseSpec.paths().gold("dim_event"), rows, "gold");
        out.printf("initial copy of %,d rows in silver and gold; writing %,d changes/s for %d s in transactions of %d...%n",
            rows, rate, seconds, transaction);
        out.flush();
        AtomicLong written = new AtomicLong();
        long landedBefore = streaming.changesLanded();
        long writeStart = System.nanoTime();
        write(source, written);
        double writeSeconds = (System.nanoTime() - writeStart) / 1e9;
        // Let the stream catch up, then stop it cleanly. Its own count, not a query of bronze: a
        // scan of bronze every half second would compete with the stream it measures.
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (System.nanoTime() < deadline && streaming.changesLanded() - landedBefore < written.get()) {
          Thread.sleep(500);
        }
        Thread.sleep(lakehouseSpec.log().goldTrigger().toMillis() * 2);
        stop.set(true);
        stream.join();
        report(out, lakehouse.spark(), lakehouseSpec, written.get(), writeSeconds);
      }
    } finally {
      ExtractBenchmark.deleteQuietly(work);
    }
    return 0;
  }

  private void write(SourceSettings source, AtomicLong written) throws Exception {
    long total = (long) rate * seconds;
    long start = System.nanoTime();
    try (Connection c = SourceDatabase.connect(source)) {
      c.setAutoCommit(false);
      try (PreparedStatement update = c.prepareStatement(
          "UPDATE bench.events SET amount = amount + 1, kind = ?, updated_at = now() WHERE id = ?")) {
        while (written.get() < total) {
          for (int i = 0; i < transaction; i++) {
            update.setString(1, "k" + ThreadLocalRandom.current().nextInt(20));
            update.setLong(2, 1 + ThreadLocalRandom.current().nextInt(rows));
            update.addBatch();
          }
          update.executeBatch();
          c.commit();
          written.addAndGet(transaction);
          // Steady: never ahead of the target rate.
          long due = start + (long) (written.get() * 1e9 / rate);
          long wait = due - System.nanoTime();
          if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          }
        }
      }
    }
  }

  private static void waitForRows(SparkSession spark, String path, long rows, String layer) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (DeltaTable.isDeltaTable(spark, path) && spark.read().format("delta").load(path).count() >= rows) {
          return;
        }
      } catch (Exception e) {
        // not there yet
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException("the initial copy did not reach " + layer + " within 5 minutes");
  }

  /** For each change: the first bronze, silver and gold commits that held it; latencies from its commit time. */
  private static void report(PrintWriter out, SparkSession spark, LakehouseSpec spec, long written, double writeSeconds) {
    TreeMap<Long, Long> bronzeAt = commitTimes(spark, spec.paths().bronze("events"), c -> c.batch());
    TreeMap<Long, Long> silverAt = commitTimes(spark, spec.paths().silver("events"), c -> c.batch());
    TreeMap<Long, Long> goldAt = commitTimes(spark, spec.paths().gold("dim_event"), c -> {
      String position = c.positions().get("silver.events");
      return position == null ? -1 : Long.parseLong(position.split(":")[1]);
    });
    List<Row> changes = spark.read().format("delta").load(spec.paths().bronze("events")).where("_op <> 'S'")
        .selectExpr("_batch_id", "unix_millis(_commit_time)").collectAsList();
    long[] bronze = new long[changes.size()];
    long[] silver = new long[changes.size()];
    long[] gold = new long[changes.size()];
    long firstCommit = Long.MAX_VALUE;
    long lastLanded = 0;
    for (int i = 0; i < changes.size(); i++) {
      long batch = changes.get(i).getLong(0);
      long committed = changes.get(i).getLong(1);
      firstCommit = Math.min(firstCommit, committed);
      bronze[i] = bronzeAt.get(batch) - committed;
      lastLanded = Math.max(lastLanded, bronzeAt.get(batch));
      silver[i] = visible(silverAt, batch) - committed;
      gold[i] = visible(goldAt, batch) - committed;
    }
    double rateIn = changes.size() / ((lastLanded - firstCommit) / 1000.0);
    out.printf("%n%,d changes written in %.1f s (%,.0f changes/s); %,d landed in bronze%n", written, writeSeconds,
        written / writeSeconds, changes.size());
    out.printf("sustained into bronze: %,.0f changes/s (first commit to last landing), source rate %,.0f changes/s%n",
        rateIn, written / writeSeconds);
    out.printf("latency from commit to visible  p50      p95%n");
    out.printf("  bronze                      %6.2f s %6.2f s%n", percentile(bronze, 50), percentile(bronze, 95));
    out.printf("  silver                      %6.2f s %6.2f s%n", percentile(silver, 50), percentile(silver, 95));
    out.printf("  gold                        %6.2f s %6.2f s%n", percentile(gold, 50), percentile(gold, 95));
    out.flush();
  }

  private static long visible(TreeMap<Long, Long> at, long batch) {
    Map.Entry<Long, Long> first = null;
    for (Map.Entry<Long, Long> e : at.tailMap(batch, true).entrySet()) {
      if (first == null || e.getValue() < first.getValue()) {
        first = e;
      }
    }
    return first == null ? Long.MAX_VALUE / 4 : first.getValue();
  }

  /** Per batch reached, the earliest commit time (ms) of a commit that reached it. */
  private static TreeMap<Long, Long> commitTimes(SparkSession spark, String path,
                                                 java.util.function.ToLongFunction<Commits.Commit> reached) {
    TreeMap<Long, Long> times = new TreeMap<>();
    for (Row row : DeltaTable.forPath(spark, path).history().select("version", "timestamp", "userMetadata",
        "operationMetrics").collectAsList()) {
      var commit = Commits.parse(row.getLong(0), row.getString(2), Map.of());
      if (commit.isPresent()) {
        long batch = reached.applyAsLong(commit.get());
        long time = row.getTimestamp(1).getTime();
        times.merge(batch, time, Math::min);
      }
    }
    return times;
  }

  private static double percentile(long[] millis, int p) {
    if (millis.length == 0) {
      return Double.NaN;
    }
    long[] sorted = millis.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)] / 1000.0;
  }
}
