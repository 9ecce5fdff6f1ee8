package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.pipeline.Pipeline;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.SparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The commands that run stages of the pipeline: each picks stages, runs them, prints the result. */
final class StageCommands {

  private StageCommands() {}

  abstract static class StageCommand extends LakehouseCli.Subcommand {
    @Option(names = "--tables", split = ",", paramLabel = "TABLE", description = "Only these tables (default: all).")
    List<String> tables = new ArrayList<>();

    abstract Set<Stage> stages(Lakehouse lakehouse);

    @Override
    public Integer call() {
      try (Lakehouse lakehouse = cli.open()) {
        RunResult result = new Pipeline(lakehouse).run(stages(lakehouse), tables);
        return finish(lakehouse, result, out());
      }
    }
  }

  /** Prints the result; a failed table makes the command fail, with one line per failure. */
  static int finish(Lakehouse lakehouse, RunResult result, PrintWriter out) {
    RunPrinter.print(result, out);
    SparkContext context = lakehouse.spark().sparkContext();
    if (!context.isLocal()) {
      // On a cluster: how many executors the run had (the driver is not one).
      out.println("executors: " + (context.statusTracker().getExecutorInfos().length - 1));
      out.flush();
    }
    if (result.failed()) {
      List<String> lines = result.failureLines();
      throw new LakehouseException(lines.size() == 1 ? lines.get(0)
          : lines.size() + " tables failed: " + String.join("; ", lines));
    }
    return 0;
  }

  @Command(name = "run", description = "Run the pipeline: bronze, silver (with reconcile of hard deletes), gold.")
  static final class Run extends StageCommand {
    @Override
    Set<Stage> stages(Lakehouse lakehouse) {
      return Pipeline.runStages(lakehouse.spec());
    }
  }

  @Command(name = "maintain", description = "Compact tables that passed lakehouse.maintain.max-files, then VACUUM every table"
      + " (keeping lakehouse.maintain.retention of history, and whatever a later step still reads).")
  static final class Maintain extends StageCommand {
    @Override
    Set<Stage> stages(Lakehouse lakehouse) {
      return EnumSet.of(Stage.MAINTAIN);
    }
  }

  @Command(name = "bronze", description = "Extract the configured source tables into bronze Delta tables.")
  static final class Bronze extends StageCommand {
    @Override
    Set<Stage> stages(Lakehouse lakehouse) {
      return EnumSet.of(Stage.BRONZE);
    }
  }

  @Command(name = "silver", description = "Apply new bronze batches to silver: one conformed current row per key.")
  static final class Silver extends StageCommand {
    @Override
    Set<Stage> stages(Lakehouse lakehouse) {
      return EnumSet.of(Stage.SILVER);
    }
  }

  @Command(name = "reconcile", description = "Compare source keys with silver and soft-delete the missing ones (incremental tables).")
  static final class Reconcile extends StageCommand {
    @Override
    Set<Stage> stages(Lakehouse lakehouse) {
      return EnumSet.of(Stage.RECONCILE);
    }
  }

  @Command(name = "gold", description = "Build gold from silver: SCD2 dimensions, facts, calendar and marts.")
  static final class Gold extends StageCommand {
    @Override
    Set<Stage> stages(Lakehouse lakehouse) {
      return EnumSet.of(Stage.GOLD);
    }
  }
}
