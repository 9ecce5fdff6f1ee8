package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.gold.Scd2Spec;
import dev.lakehouse.spec.DimensionSpec;
import dev.lakehouse.gold.Scd2Invariants;
import io.delta.tables.DeltaTable;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code lakehouse check}: the SCD2 invariants of every dimension; non-zero exit when one is violated. */
@Command(name = "check", description = "Check the SCD Type 2 invariants of every gold dimension.")
public final class CheckCommand extends LakehouseCli.Subcommand {

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open()) {
      List<String> violations = new ArrayList<>();
      for (DimensionSpec dimension : lakehouse.spec().gold().dimensions().values()) {
        String path = lakehouse.paths().gold(dimension.table());
        if (!DeltaTable.isDeltaTable(lakehouse.spark(), path)) {
          violations.add(dimension.table() + ": does not exist; run gold first");
          continue;
        }
        List<String> found = Scd2Invariants.check(lakehouse.spark(), path, Scd2Spec.of(dimension));
        out().printf("%-16s %s%n", dimension.table(), found.isEmpty() ? "ok" : found.size() + " violations");
        found.forEach(v -> out().println("  " + v));
        found.forEach(v -> violations.add(dimension.table() + ": " + v));
      }
      out().flush();
      if (!violations.isEmpty()) {
        throw new LakehouseException("SCD2 invariants violated: " + violations.get(0)
            + (violations.size() > 1 ? " (and " + (violations.size() - 1) + " more)" : ""));
      }
      return 0;
    }
  }
}
