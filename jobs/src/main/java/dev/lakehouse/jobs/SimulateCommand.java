package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.acme.AcmeSchema;
import dev.lakehouse.acme.AcmeSimulator;
import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lakehouse simulate}: a day of OLTP activity on the ACME source. */
@Command(name = "simulate", description = "Apply a realistic day of changes to the ACME source.")
public final class SimulateCommand extends LakehouseCli.Subcommand {

  @Option(names = "--changes", defaultValue = "1000", description = "About this many row changes (default: ${DEFAULT-VALUE}).")
  int changes;

  @Option(names = "--seed", description = "Seed for the choices made (default: random, printed).")
  Long seed;

  @Override
  public Integer call() {
    long chosenSeed = seed != null ? seed : System.nanoTime();
    try (Lakehouse lakehouse = cli.open()) {
      Object summary = simulate(lakehouse, changes, chosenSeed);
      out().println("simulated (seed " + chosenSeed + "): " + summary);
      out().flush();
      return 0;
    }
  }

  static AcmeSimulator.Summary simulate(Lakehouse lakehouse, int changes, long seed) {
    if (changes < 1) {
      throw new IllegalArgumentException("--changes must be at least 1");
    }
    try (Connection connection = SourceDatabase.connect(lakehouse.source())) {
      return AcmeSimulator.simulate(connection, AcmeSchema.schema(lakehouse.source()), changes, seed);
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Simulation failed", e);
    }
  }
}
