package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.acme.AcmeSchema;
import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.acme.AcmeSimulator;
import dev.lakehouse.pipeline.Pipeline;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.source.SourceDatabase;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code lakehouse bench incremental}: one incremental cycle (simulate, bronze, silver) on bases
 * of different sizes. The smallest base is the baseline: silver's time should follow the size of
 * the change, not of the table.
 */
@Command(name = "incremental", description = "An incremental cycle (simulate K changes, bronze, silver) on bases of different sizes.")
public final class IncrementalBenchmark implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--bases", split = ",", defaultValue = "200000,2000000",
      description = "Base sizes in source rows (default: ${DEFAULT-VALUE}).")
  List<Long> bases;

  @Option(names = "--changes", defaultValue = "10000", description = "Changes per cycle (default: ${DEFAULT-VALUE}).")
  int changes;

  record Timing(long base, long sourceRows, double initialSeconds, double bronzeSeconds, double silverSeconds) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    LakehouseCli cli = (LakehouseCli) spec.parent().parent().userObject();
    List<Timing> timings = new ArrayList<>();
    for (long base : bases) {
      timings.add(cycle(cli.config(), base, out));
    }
    out.printf("%n%12s %12s %14s %12s %12s %14s%n", "base", "source rows", "initial load", "bronze", "silver", "silver / first");
    for (Timing t : timings) {
      out.printf("%,12d %,12d %12.1f s %10.1f s %10.1f s %14.2f%n", t.base(), t.sourceRows(), t.initialSeconds(),
          t.bronzeSeconds(), t.silverSeconds(), t.silverSeconds() / timings.get(0).silverSeconds());
    }
    out.flush();
    return 0;
  }

  private static void succeed(RunResult result) {
    if (result.failed()) {
      throw new dev.lakehouse.LakehouseException(String.join("; ", result.failureLines()));
    }
  }

  private Timing cycle(LakehouseConfig base, long rows, PrintWriter out) throws Exception {
    Path root = Files.createTempDirectory("lakehouse-bench-incremental-");
    try (EmbeddedSource postgres = EmbeddedSource.startTemporary()) {
      SourceSettings source = postgres.settings(base.spec().source());
      int scale = (int) Math.max(1, rows / 2120);
      out.printf("base %,d: seeding scale %d...%n", rows, scale);
      out.flush();
      long sourceRows;
      try (Connection c = SourceDatabase.connect(source)) {
        sourceRows = AcmeSeeder.seed(c, AcmeSchema.schema(source), scale).total();
      }
      LakehouseConfig config = base.with(Map.of("lakehouse.root", root.toString(), "lakehouse.source.url", source.url(),
          "lakehouse.source.user", source.user(), "lakehouse.source.password", source.password()));
      try (Lakehouse lakehouse = new Lakehouse(config.spec())) {
        Pipeline pipeline = new Pipeline(lakehouse);
        lakehouse.spark();
        long start = System.nanoTime();
        succeed(pipeline.run(java.util.EnumSet.of(Stage.BRONZE, Stage.SILVER), List.of()));
        double initial = (System.nanoTime() - start) / 1e9;
        out.printf("base %,d: initial load %.1f s; simulating %,d changes...%n", rows, initial, changes);
        out.flush();
        try (Connection c = SourceDatabase.connect(source)) {
          AcmeSimulator.simulate(c, AcmeSchema.schema(source), changes, 42L);
        }
        start = System.nanoTime();
        succeed(pipeline.run(java.util.EnumSet.of(Stage.BRONZE), List.of()));
        double bronzeSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        succeed(pipeline.run(java.util.EnumSet.of(Stage.SILVER), List.of()));
        double silverSeconds = (System.nanoTime() - start) / 1e9;
        return new Timing(rows, sourceRows, initial, bronzeSeconds, silverSeconds);
      }
    } finally {
      ExtractBenchmark.deleteQuietly(root);
    }
  }
}
