package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.control.RunId;
import dev.lakehouse.gold.GoldBuilder;
import dev.lakehouse.gold.GoldBuilder.TableResult;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code lakehouse gold}: dimensions, facts and marts from silver. */
@Command(name = "gold", description = "Build gold from silver: SCD2 dimensions, facts, calendar and marts.")
public final class GoldJob extends LakehouseCli.Subcommand {

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open(); var lock = BronzeJob.lock(lakehouse, "gold")) {
      print(out(), new GoldBuilder(lakehouse.spark(), lakehouse.config()).build(RunId.next(Instant.now())));
      return 0;
    }
  }

  static void print(PrintWriter out, List<TableResult> results) {
    out.printf("%-42s %9s %8s %8s%n", "gold table", "inserted", "updated", "deleted");
    results.forEach(r -> out.printf("%-42s %9d %8d %8d%n", r.table(), r.inserted(), r.updated(), r.deleted()));
    out.flush();
  }
}
