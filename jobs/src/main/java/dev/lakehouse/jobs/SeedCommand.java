package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.acme.AcmeSchema;
import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lakehouse seed}: (re)creates the ACME schema with deterministic data. */
@Command(name = "seed", description = "Create the ACME source schema and fill it with deterministic data.")
public final class SeedCommand extends LakehouseCli.Subcommand {

  @Option(names = "--scale", defaultValue = "1",
      description = "1 gives a few thousand rows; 1000 gives millions (default: ${DEFAULT-VALUE}).")
  int scale;

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open()) {
      Map<String, Long> counts = seed(lakehouse, scale);
      counts.forEach((table, rows) -> out().printf("seeded %-12s %,12d rows%n", table, rows));
      out().flush();
      return 0;
    }
  }

  static Map<String, Long> seed(Lakehouse lakehouse, int scale) {
    if (scale < 1) {
      throw new IllegalArgumentException("--scale must be at least 1");
    }
    try (Connection connection = SourceDatabase.connect(lakehouse.source())) {
      return AcmeSeeder.seed(connection, AcmeSchema.schema(lakehouse.source()), scale).byTable();
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Seeding failed", e);
    }
  }
}
