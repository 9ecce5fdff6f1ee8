package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.bronze.BronzeLoader;
import dev.lakehouse.control.RunId;
import dev.lakehouse.gold.GoldBuilder;
import dev.lakehouse.silver.SilverLoader;
import dev.lakehouse.silver.SilverReconciler;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import org.apache.spark.SparkContext;
import picocli.CommandLine.Command;

/** {@code lakehouse run}: the whole pipeline, layer by layer, under one lock and one run id. */
@Command(name = "run", description = "Run the pipeline: bronze, silver (with reconcile of hard deletes), gold.")
public final class RunCommand extends LakehouseCli.Subcommand {

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open()) {
      return run(lakehouse, out());
    }
  }

  /**
   * Bronze, silver, reconcile, gold. A table that failed in bronze still lets silver apply what it
   * has; gold waits for a clean silver.
   */
  public static int run(Lakehouse lakehouse, PrintWriter out) {
    String runId = RunId.next(Instant.now());
    List<BronzeLoader.TableResult> bronze;
    List<SilverLoader.TableResult> silver;
    try (var lock = BronzeJob.lock(lakehouse, "run")) {
      bronze = new BronzeLoader(lakehouse.spark(), lakehouse.source(), lakehouse.paths())
          .load(runId, lakehouse.config().tables());
      BronzeJob.print(out, bronze);
      silver = new SilverLoader(lakehouse.spark(), lakehouse.paths()).load(runId, lakehouse.config().tables());
      SilverJob.print(out, silver);
      if (lakehouse.config().raw().getBoolean("lakehouse.silver.reconcile-on-run")) {
        ReconcileJob.print(out, new SilverReconciler(lakehouse.spark(), lakehouse.source(), lakehouse.paths())
            .reconcile(runId, lakehouse.config().tables()));
      }
      if (silver.stream().noneMatch(SilverLoader.TableResult::failed)) {
        GoldJob.print(out, new GoldBuilder(lakehouse.spark(), lakehouse.config()).build(runId));
      } else {
        out.println("gold skipped: silver failed for a table, so gold would mix old and new states");
      }
    }
    printExecutors(lakehouse, out);
    BronzeJob.failures(bronze);
    return SilverJob.failures(silver);
  }

  /** On a cluster, how many executors the run had (the driver is not one); nothing in local mode. */
  static void printExecutors(Lakehouse lakehouse, PrintWriter out) {
    SparkContext context = lakehouse.spark().sparkContext();
    if (!context.isLocal()) {
      out.println("executors: " + (context.statusTracker().getExecutorInfos().length - 1));
      out.flush();
    }
  }
}
