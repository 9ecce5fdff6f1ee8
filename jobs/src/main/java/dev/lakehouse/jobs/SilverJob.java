package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.control.RunId;
import dev.lakehouse.silver.SilverLoader;
import dev.lakehouse.silver.SilverLoader.TableResult;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lakehouse silver}: apply new bronze batches to the conformed silver tables. */
@Command(name = "silver", description = "Apply new bronze batches to silver: one conformed current row per key.")
public final class SilverJob extends LakehouseCli.Subcommand {

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

  public static List<TableResult> run(Lakehouse lakehouse, List<String> tableNames, String runId) {
    try (var lock = BronzeJob.lock(lakehouse, "silver")) {
      return new SilverLoader(lakehouse.spark(), lakehouse.paths()).load(runId, lakehouse.config().tables(tableNames));
    }
  }

  static void print(PrintWriter out, List<TableResult> results) {
    out.printf("%-14s %9s %8s %9s %8s %8s %11s  %s%n", "silver table", "batches", "rows in", "inserted", "updated",
        "deleted", "quarantined", "status");
    for (TableResult r : results) {
      String batches = r.toBatch() < r.fromBatch() ? "-" : r.fromBatch() == r.toBatch()
          ? Long.toString(r.toBatch()) : r.fromBatch() + ".." + r.toBatch();
      out.printf("%-14s %9s %8d %9d %8d %8d %11d  %s%n", r.table(), r.rowsIn() == 0 && !r.failed() ? "-" : batches,
          r.rowsIn(), r.inserted(), r.updated(), r.deleted(), r.quarantined(),
          r.status().name().toLowerCase() + (r.error() == null ? "" : ": " + r.error()));
    }
    out.flush();
  }

  static int failures(List<TableResult> results) {
    return LakehouseCli.failIfAny("silver", results, TableResult::failed, r -> r.table() + ": " + r.error());
  }
}
