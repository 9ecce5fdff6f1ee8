package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.control.RunId;
import dev.lakehouse.silver.SilverReconciler;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lakehouse reconcile}: soft-delete silver keys of incremental tables that the source no longer has. */
@Command(name = "reconcile", description = "Compare source keys with silver and soft-delete the missing ones (incremental tables).")
public final class ReconcileJob extends LakehouseCli.Subcommand {

  @Option(names = "--tables", split = ",", paramLabel = "TABLE", description = "Only these tables (default: all incremental).")
  List<String> tables = new ArrayList<>();

  static void print(java.io.PrintWriter out, List<SilverReconciler.TableResult> results) {
    out.printf("%-14s %12s %10s  %s%n", "reconcile", "source keys", "deleted", "status");
    results.forEach(r -> out.printf("%-14s %12d %10d  %s%n", r.table(), r.sourceKeys(), r.deleted(),
        r.status().name().toLowerCase() + (r.error() == null ? "" : ": " + r.error())));
    out.flush();
  }

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open(); var lock = BronzeJob.lock(lakehouse, "reconcile")) {
      List<SilverReconciler.TableResult> results = new SilverReconciler(lakehouse.spark(), lakehouse.source(),
          lakehouse.paths()).reconcile(RunId.next(Instant.now()), lakehouse.config().tables(tables));
      print(out(), results);
      List<String> failed = results.stream().filter(r -> r.error() != null).map(r -> r.table() + ": " + r.error()).toList();
      if (!failed.isEmpty()) {
        throw new LakehouseException("reconcile failed: " + String.join("; ", failed));
      }
      return 0;
    }
  }
}
