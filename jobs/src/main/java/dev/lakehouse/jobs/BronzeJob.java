package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.bronze.BronzeLoader;
import dev.lakehouse.bronze.BronzeLoader.TableResult;
import dev.lakehouse.config.TableSpec;
import dev.lakehouse.control.LakehouseLock;
import dev.lakehouse.control.RunId;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lakehouse bronze}: extract the configured source tables into bronze Delta tables. */
@Command(name = "bronze", description = "Extract the configured source tables into bronze Delta tables.")
public final class BronzeJob extends LakehouseCli.Subcommand {

  @Option(names = "--tables", split = ",", paramLabel = "TABLE", description = "Only these tables (default: all).")
  List<String> tables = new ArrayList<>();

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open()) {
      List<TableResult> results = run(lakehouse, tables, RunId.next(Instant.now()));
      print(out(), results);
      return failures(results);
    }
  }

  /** Takes the lakehouse lock and loads the tables; {@link #failures} turns failed tables into an error. */
  public static List<TableResult> run(Lakehouse lakehouse, List<String> tableNames, String runId) {
    List<TableSpec> specs = lakehouse.config().tables(tableNames);
    try (LakehouseLock lock = lock(lakehouse, "bronze")) {
      return new BronzeLoader(lakehouse.spark(), lakehouse.source(), lakehouse.paths()).load(runId, specs);
    }
  }

  static LakehouseLock lock(Lakehouse lakehouse, String job) {
    return LakehouseLock.acquire(lakehouse.paths().root(), job, lakehouse.config().lockLease(),
        lakehouse.spark().sessionState().newHadoopConf());
  }

  static void print(PrintWriter out, List<TableResult> results) {
    out.printf("%-14s %6s %10s %10s  %-27s %s%n", "bronze table", "batch", "read", "written", "watermark", "status");
    for (TableResult r : results) {
      out.printf("%-14s %6d %10d %10d  %-27s %s%n", r.table(), r.batchId(), r.rowsRead(), r.rowsWritten(),
          r.watermark().map(Object::toString).orElse("-"),
          r.status().name().toLowerCase() + (r.error() == null ? "" : ": " + r.error()));
    }
    out.flush();
  }

  static int failures(List<TableResult> results) {
    return LakehouseCli.failIfAny("bronze", results, TableResult::failed, r -> r.table() + ": " + r.error());
  }
}
