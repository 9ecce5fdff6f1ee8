package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.catalog.LakehouseCatalog;
import dev.lakehouse.report.ResultFormat;
import io.delta.tables.DeltaTable;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lakehouse report <mart>}: prints or exports a mart, in the order its question implies. */
@Command(name = "report", description = "Print or export a gold mart (see --list).")
public final class ReportCommand extends LakehouseCli.Subcommand {

  @Parameters(index = "0", arity = "0..1", paramLabel = "MART", description = "The mart, e.g. mart_top_delivery_dates.")
  String mart;

  @Option(names = "--list", description = "List the marts.")
  boolean list;

  @Option(names = "--format", defaultValue = "table", description = "table, csv or json (default: ${DEFAULT-VALUE}).")
  ResultFormat format;

  @Option(names = "--out", paramLabel = "FILE", description = "Write to FILE instead of the terminal.")
  Path outFile;

  @Option(names = "--limit", defaultValue = "-1", description = "At most this many rows (default: all).")
  int limit;

  /** How each mart reads best: its ranking first, ties broken so output is stable. */
  static final Map<String, String> ORDER = Map.of(
      "mart_open_orders_by_delivery_date_status", "delivery_date, status",
      "mart_pending_items_by_product", "pending_quantity DESC, product_id",
      "mart_top_customers_pending_orders", "rank, customer_id",
      "mart_top_delivery_dates", "rank, delivery_date");

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open()) {
      Map<String, dev.lakehouse.spec.MartSpec> marts = lakehouse.spec().gold().marts();
      if (list || mart == null) {
        out().printf("%-44s %8s%n", "mart", "rows");
        for (String name : marts.keySet()) {
          String path = lakehouse.paths().gold(name);
          boolean built = DeltaTable.isDeltaTable(lakehouse.spark(), path);
          out().printf("%-44s %8s%n", name, built ? Long.toString(lakehouse.spark().read().format("delta").load(path).count()) : "-");
        }
        out().flush();
        return 0;
      }
      if (!marts.containsKey(mart)) {
        throw new LakehouseException("No mart '" + mart + "'; marts are " + marts.keySet());
      }
      String path = lakehouse.paths().gold(mart);
      if (!DeltaTable.isDeltaTable(lakehouse.spark(), path)) {
        throw new LakehouseException("gold." + mart + " is not built yet; run `lakehouse run` or `lakehouse gold`");
      }
      LakehouseCatalog.registerAll(lakehouse.spark(), lakehouse.paths());
      Dataset<Row> rows = lakehouse.spark().sql("SELECT * FROM gold.`" + mart + "`"
          + (ORDER.containsKey(mart) ? " ORDER BY " + ORDER.get(mart) : ""));
      if (outFile == null) {
        format.write(rows, limit, out());
        return 0;
      }
      try (PrintWriter file = new PrintWriter(Files.newBufferedWriter(outFile, StandardCharsets.UTF_8))) {
        int written = format.write(rows, limit, file);
        out().println("wrote " + written + " rows to " + outFile);
        out().flush();
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot write " + outFile, e);
      }
      return 0;
    }
  }
}
