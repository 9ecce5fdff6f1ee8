package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.catalog.LakehouseCatalog;
import dev.lakehouse.report.ResultFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lakehouse sql "<query>"}: Spark SQL over the lakehouse, tables by layer and name. */
@Command(name = "sql", description = "Run Spark SQL over the lakehouse (bronze.orders, _control.runs, ...).")
public final class SqlCommand extends LakehouseCli.Subcommand {

  @Parameters(index = "0", paramLabel = "QUERY", description = "The query, e.g. \"SELECT count(*) FROM bronze.orders\".")
  String query;

  @Option(names = "--format", defaultValue = "table", description = "table, csv or json (default: ${DEFAULT-VALUE}).")
  ResultFormat format;

  @Option(names = "--limit", defaultValue = "1000", description = "At most this many rows; -1 for all (default: ${DEFAULT-VALUE}).")
  int limit;

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open()) {
      LakehouseCatalog.registerAll(lakehouse.spark(), lakehouse.paths());
      format.write(lakehouse.spark().sql(query), limit, out());
      return 0;
    }
  }
}
