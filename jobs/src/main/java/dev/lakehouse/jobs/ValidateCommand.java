package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.pipeline.SpecCheck;
import dev.lakehouse.spec.GoldSpec;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.SpecException;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakehouse validate}: the specification (read and checked when the command line loads it),
 * then, against the live source, every table, key, cursor and column. Non-zero exit on any problem.
 */
@Command(name = "validate", description = "Check the configuration, and against the source that every table and column exists.")
public final class ValidateCommand extends LakehouseCli.Subcommand {

  @Option(names = "--offline", description = "Check the configuration only, without connecting to the source.")
  boolean offline;

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open()) {
      LakehouseSpec spec = lakehouse.spec();
      GoldSpec gold = spec.gold();
      out().println("specification: " + count(spec.tables().size(), "table") + ", "
          + count(gold.dimensions().size(), "dimension") + ", " + count(gold.facts().size(), "fact") + ", "
          + count(gold.marts().size(), "mart"));
      if (!offline) {
        List<String> problems = SpecCheck.againstSource(lakehouse.spark(), lakehouse.source(), spec, spec.tables());
        if (!problems.isEmpty()) {
          out().flush();
          throw new SpecException(problems);
        }
        out().println("source " + lakehouse.source().safeUrl() + ": every table and column found");
      }
      out().println("ok");
      out().flush();
      return 0;
    }
  }

  private static String count(int n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }
}
