package dev.lakehouse.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.acme.AcmeSchema;
import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.acme.AcmeSimulator;
import dev.lakehouse.pipeline.Pipeline;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.source.SourceDatabase;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.SourceSettings;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.postgresql.PGConnection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lakehouse bench pipeline}: the whole pipeline on a generated ACME source of N order items
 * (other tables in proportion, generated inside PostgreSQL), measured in one run against the
 * baseline of PostgreSQL's own {@code COPY ... TO STDOUT} of every table: the initial load per
 * stage, an incremental cycle of K changes, a run with nothing new, optionally many small cycles
 * before and after maintenance; peak heap and the lakehouse's size per layer.
 */
@Command(name = "pipeline", description = "The whole pipeline on a generated ACME source, per stage, against COPY.")
public final class PipelineBenchmark implements Callable<Integer> {

  /** Order items per seed scale unit (AcmeSeeder: about 1,500 items per scale). */
  private static final double ITEMS_PER_SCALE = 1500;
  /** Disk per order item, PostgreSQL (tables, indexes, WAL) and lakehouse together, measured at 1M items with margin. */
  private static final long BYTES_PER_ITEM = 900;

  @Spec
  CommandSpec spec;

  @Option(names = "--rows", defaultValue = "1000000", description = "Order items in the source (default: ${DEFAULT-VALUE}).")
  long rows;

  @Option(names = "--changes", defaultValue = "10000", description = "Changes in the incremental cycle (default: ${DEFAULT-VALUE}).")
  int changes;

  @Option(names = "--cycles", defaultValue = "0", description = "Small cycles run after the measured ones (default: none).")
  int cycles;

  @Option(names = "--cycle-changes", defaultValue = "100", description = "Changes per small cycle (default: ${DEFAULT-VALUE}).")
  int cycleChanges;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the figures as JSON.")
  Path json;

  @Option(names = "--work-dir", paramLabel = "DIR", description = "Where the source and lakehouse go (default: a temporary directory).")
  Path workDir;

  @Override
  public Integer call() throws Exception {
    if (rows < 1000 || changes < 1 || cycles < 0 || cycleChanges < 1) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--rows must be at least 1000, --changes and --cycle-changes at least 1, --cycles at least 0");
    }
    PrintWriter out = spec.commandLine().getOut();
    LakehouseCli cli = (LakehouseCli) spec.parent().parent().userObject();
    Path work = workDir != null ? Files.createDirectories(workDir) : Files.createTempDirectory("lakehouse-bench-pipeline-");
    long needed = rows * BYTES_PER_ITEM;
    long free = work.toFile().getUsableSpace();
    if (free < needed) {
      throw new LakehouseException(String.format("bench pipeline needs about %.1f GB free in %s for %,d order items;"
          + " %.1f GB are free (choose --work-dir elsewhere, or fewer --rows)", needed / 1e9, work, rows, free / 1e9));
    }
    out.printf("disk: about %.1f GB needed, %.1f GB free in %s%n", needed / 1e9, free / 1e9, work);
    HeapSampler heap = new HeapSampler();
    Map<String, Object> report = new LinkedHashMap<>();
    try (EmbeddedSource postgres = EmbeddedSource.start(work.resolve("source"))) {
      LakehouseConfig base = cli.config();
      SourceSettings source = postgres.settings(base.spec().source());
      String schema = AcmeSchema.schema(source);
      int scale = (int) Math.max(1, Math.round(rows / ITEMS_PER_SCALE));
      long started = System.nanoTime();
      AcmeSeeder.Counts counts;
      try (Connection c = SourceDatabase.connect(source)) {
        counts = AcmeSeeder.seed(c, schema, scale);
      }
      double seedSeconds = seconds(started);
      out.printf("source: %s in %.1f s (scale %d)%n", counts, seedSeconds, scale);
      report.put("source", Map.of("order_items", counts.orderItems(), "total_rows", counts.total(),
          "seed_seconds", seedSeconds));

      Map<String, Double> copy = new LinkedHashMap<>();
      for (String table : AcmeSchema.TABLES) {
        copy.put(table, copySeconds(source, schema, table));
      }
      double copyTotal = copy.values().stream().mapToDouble(Double::doubleValue).sum();
      out.printf("baseline COPY ... TO STDOUT of every table: %.2f s (%,.0f rows/s) %s%n", copyTotal,
          counts.total() / copyTotal, copy);
      report.put("copy_seconds", copy);

      Path root = work.resolve("lakehouse");
      LakehouseConfig config = base.with(Map.of("lakehouse.root", root.toString(), "lakehouse.source.url", source.url(),
          "lakehouse.source.user", source.user(), "lakehouse.source.password", source.password()));
      try (Lakehouse lakehouse = new Lakehouse(config.spec())) {
        lakehouse.spark();
        Pipeline pipeline = new Pipeline(lakehouse);
        heap.start();
        RunResult initial = measured(pipeline, "initial load", counts.total(), copyTotal, out, report);

        try (Connection c = SourceDatabase.connect(source)) {
          AcmeSimulator.simulate(c, schema, changes, 42L);
        }
        RunResult cycle = measured(pipeline, "incremental cycle (" + changes + " changes)", changes, 0, out, report);
        RunResult quiet = measured(pipeline, "nothing new", 0, 0, out, report);
        List<String> written = new ArrayList<>();
        quiet.tables().stream().filter(t -> t.stage() != Stage.BRONZE && t.rowsWritten() > 0)
            .forEach(t -> written.add(t.stage().label() + "." + t.table()));
        out.printf("  written by the run with nothing new: %s%n", written.isEmpty() ? "nothing (run log only)" : written);
        report.put("nothing_new_wrote", written);

        if (cycles > 0) {
          List<Double> times = new ArrayList<>();
          for (int i = 0; i < cycles; i++) {
            try (Connection c = SourceDatabase.connect(source)) {
              AcmeSimulator.simulate(c, schema, cycleChanges, 1000L + i);
            }
            long start = System.nanoTime();
            succeed(pipeline.run(EnumSet.of(Stage.BRONZE, Stage.SILVER, Stage.RECONCILE, Stage.GOLD), List.of()));
            times.add(seconds(start));
            if (i == 0 || (i + 1) % 50 == 0) {
              out.printf("  cycle %d: %.1f s%n", i + 1, times.get(i));
              out.flush();
            }
          }
          long start = System.nanoTime();
          succeed(pipeline.run(EnumSet.of(Stage.MAINTAIN), List.of()));
          double maintainSeconds = seconds(start);
          try (Connection c = SourceDatabase.connect(source)) {
            AcmeSimulator.simulate(c, schema, cycleChanges, 999_999L);
          }
          start = System.nanoTime();
          succeed(pipeline.run(EnumSet.of(Stage.BRONZE, Stage.SILVER, Stage.RECONCILE, Stage.GOLD), List.of()));
          double after = seconds(start);
          double first = times.get(0);
          double last = times.get(times.size() - 1);
          out.printf("%d cycles of %d changes: first %.1f s, last %.1f s (%.2fx), maintain %.1f s, after maintain %.1f s (%.2fx the first)%n",
              cycles, cycleChanges, first, last, last / first, maintainSeconds, after, after / first);
          report.put("cycles", Map.of("count", cycles, "changes", cycleChanges, "first_seconds", first,
              "last_seconds", last, "maintain_seconds", maintainSeconds, "after_maintain_seconds", after));
        }
        heap.stop();
        out.printf("peak JVM heap: %,d MB (max %,d MB)%n", heap.peak() / (1 << 20),
            Runtime.getRuntime().maxMemory() / (1 << 20));
        report.put("peak_heap_mb", heap.peak() / (1 << 20));
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (String layer : List.of(LakehousePaths.BRONZE, LakehousePaths.SILVER, LakehousePaths.GOLD,
            LakehousePaths.QUARANTINE, LakehousePaths.CONTROL)) {
          sizes.put(layer, size(root.resolve(layer)));
        }
        out.printf("lakehouse size: %s (MB)%n", sizes.entrySet().stream()
            .map(e -> e.getKey() + " " + e.getValue() / (1 << 20)).toList());
        report.put("lakehouse_bytes", sizes);
        report.put("stage_seconds", Map.of("initial", stageSeconds(initial), "cycle", stageSeconds(cycle),
            "nothing_new", stageSeconds(quiet)));
      }
    } finally {
      heap.stop();
      if (workDir == null) {
        ExtractBenchmark.deleteQuietly(work);
      }
    }
    if (json != null) {
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), report);
      out.println("wrote " + json);
    }
    out.flush();
    return 0;
  }

  private static RunResult measured(Pipeline pipeline, String what, long rows, double copySeconds, PrintWriter out,
                                    Map<String, Object> report) {
    long start = System.nanoTime();
    RunResult result = succeed(pipeline.runAll(List.of()));
    double total = seconds(start);
    out.printf("%n%s: %.1f s in all%n", what, total);
    for (Map.Entry<Stage, Duration> stage : result.stageTimes().entrySet()) {
      long stageRows = result.of(stage.getKey()).stream().mapToLong(TableRun::rowsWritten).sum();
      double seconds = stage.getValue().toMillis() / 1000.0;
      out.printf("  %-10s %8.1f s %,14d rows written %,14.0f rows/s%n", stage.getKey().label(), seconds, stageRows,
          seconds == 0 ? 0 : stageRows / seconds);
    }
    if (copySeconds > 0) {
      double bronze = result.stageTimes().getOrDefault(Stage.BRONZE, Duration.ZERO).toMillis() / 1000.0;
      out.printf("  COPY of every table %.1f s; bronze / COPY time %.2f; the whole load / COPY time %.2f%n",
          copySeconds, bronze / copySeconds, total / copySeconds);
    }
    out.flush();
    report.put(what, Map.of("seconds", total, "rows", rows));
    return result;
  }

  private static Map<String, Double> stageSeconds(RunResult result) {
    Map<String, Double> stages = new LinkedHashMap<>();
    result.stageTimes().forEach((stage, time) -> stages.put(stage.label(), time.toMillis() / 1000.0));
    return stages;
  }

  private static RunResult succeed(RunResult result) {
    if (result.failed()) {
      throw new LakehouseException(String.join("; ", result.failureLines()));
    }
    return result;
  }

  private static double copySeconds(SourceSettings source, String schema, String table) throws SQLException, IOException {
    try (Connection c = SourceDatabase.connect(source)) {
      long start = System.nanoTime();
      c.unwrap(PGConnection.class).getCopyAPI().copyOut(
          "COPY (SELECT * FROM " + SourceDatabase.qualified(schema, table) + ") TO STDOUT", OutputStream.nullOutputStream());
      return seconds(start);
    }
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private static long size(Path dir) {
    if (!Files.exists(dir)) {
      return 0;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.map(Path::toFile).filter(File::isFile).mapToLong(File::length).sum();
    } catch (IOException e) {
      return 0;
    }
  }

  /** The JVM's used heap, sampled every 50 ms; its maximum. */
  private static final class HeapSampler {
    private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    private final AtomicLong peak = new AtomicLong();
    private Thread thread;

    void start() {
      thread = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
          try {
            Thread.sleep(50);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "bench-heap-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    void stop() {
      if (thread != null) {
        thread.interrupt();
      }
    }

    long peak() {
      return peak.get();
    }
  }
}
