package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.catalog.LakehouseCatalog;
import dev.lakehouse.catalog.LakehouseCatalog.TableRef;
import dev.lakehouse.spark.DeltaSnapshots;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.Snapshot;
import picocli.CommandLine.Command;

/** {@code lakehouse tables}: every table with its row count and Delta version. */
@Command(name = "tables", description = "List every lakehouse table with its row count and Delta version.")
public final class TablesCommand extends LakehouseCli.Subcommand {

  public record TableInfo(String name, long rows, long version, String path) {}

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open()) {
      List<TableInfo> tables = describe(lakehouse.spark(), LakehouseCatalog.registerAll(lakehouse.spark(), lakehouse.paths()));
      out().printf("%-40s %12s %8s%n", "table", "rows", "version");
      tables.forEach(t -> out().printf("%-40s %12d %8d%n", t.name(), t.rows(), t.version()));
      out().println("lakehouse root: " + lakehouse.paths().root());
      out().flush();
      return 0;
    }
  }

  /**
   * Each table's latest version and its rows at that version: from the commit's checksum where it
   * lists the table's files (no Spark job), else counted by a query pinned to that version.
   */
  public static List<TableInfo> describe(SparkSession spark, List<TableRef> tables) {
    return tables.stream().map(t -> {
      Snapshot snapshot = DeltaSnapshots.latest(spark, t.path());
      long rows = DeltaSnapshots.rowsFromChecksum(snapshot).orElseGet(() -> spark.read().format("delta")
          .option("versionAsOf", snapshot.version()).load(t.path()).count());
      return new TableInfo(t.qualifiedName(), rows, snapshot.version(), t.path());
    }).toList();
  }
}
