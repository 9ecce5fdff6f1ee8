package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.acme.AcmeSimulator;
import dev.lakehouse.catalog.LakehouseCatalog;
import dev.lakehouse.pipeline.Pipeline;
import dev.lakehouse.report.ResultFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakehouse demo}: the whole story on the embedded source, no database to install.
 * Seeds ACME, runs the pipeline, simulates a day of changes, runs again, and shows the result.
 */
@Command(name = "demo", description = "Seed an embedded ACME source, run the pipeline twice around a day of changes, show the lakehouse.")
public final class DemoJob extends LakehouseCli.Subcommand {

  @Option(names = "--scale", defaultValue = "2", description = "Seed scale (default: ${DEFAULT-VALUE}).")
  int scale;

  @Option(names = "--changes", defaultValue = "2000", description = "Changes simulated between the runs (default: ${DEFAULT-VALUE}).")
  int changes;

  @Override
  public Integer call() {
    Instant start = Instant.now();
    PrintWriter out = out();
    try (Lakehouse lakehouse = cli.open()) {
      if (!lakehouse.sourceIsEmbedded()) {
        throw new LakehouseException("The demo runs on the embedded PostgreSQL; unset LAKEHOUSE_SOURCE_URL"
            + " (or lakehouse.source.url) to use it");
      }
      resetLocal(lakehouse);
      step(out, start, "Starting the embedded PostgreSQL source");
      lakehouse.source();
      step(out, start, "Seeding ACME Delivery Services (scale " + scale + ")");
      SeedCommand.seed(lakehouse, scale).forEach((t, n) -> out.printf("    %-12s %,10d rows%n", t, n));

      step(out, start, "First pipeline run");
      StageCommands.finish(lakehouse, new Pipeline(lakehouse).runAll(List.of()), out);

      step(out, start, "Simulating a day of activity (" + changes + " changes, seed 42)");
      AcmeSimulator.Summary summary = SimulateCommand.simulate(lakehouse, changes, 42L);
      out.println("    " + summary);

      step(out, start, "Second pipeline run: only the changes");
      StageCommands.finish(lakehouse, new Pipeline(lakehouse).runAll(List.of()), out);

      step(out, start, "What each layer holds");
      List<TablesCommand.TableInfo> tables = TablesCommand.describe(lakehouse.spark(),
          LakehouseCatalog.registerAll(lakehouse.spark(), lakehouse.paths()));
      tables.forEach(t -> out.printf("    %-28s %,10d rows  (Delta version %d)%n", t.name(), t.rows(), t.version()));

      step(out, start, "One customer's changes as bronze captured them");
      ResultFormat.TABLE.write(lakehouse.spark().sql(CUSTOMER_HISTORY), 10, out);

      step(out, start, "What ACME asks: the marts");
      for (String mart : lakehouse.spec().gold().marts().keySet()) {
        out.println("  gold." + mart);
        ResultFormat.TABLE.write(lakehouse.spark().sql("SELECT * FROM gold." + mart
            + (ReportCommand.ORDER.containsKey(mart) ? " ORDER BY " + ReportCommand.ORDER.get(mart) : "")), 5, out);
      }

      step(out, start, "One customer's history in gold.dim_customer (SCD Type 2) across the two runs");
      ResultFormat.TABLE.write(lakehouse.spark().sql(CUSTOMER_DIMENSION), 10, out);

      step(out, start, "Data quality: rule results of the second run, and what was held aside");
      ResultFormat.TABLE.write(lakehouse.spark().sql(DQ_RESULTS), 50, out);
      ResultFormat.TABLE.write(lakehouse.spark().sql(QUARANTINE), 50, out);

      out.printf("%nDone in %ds. Lakehouse: %s%n", Duration.between(start, Instant.now()).toSeconds(),
          lakehouse.paths().root());
      out.println("Explore it:  jobs/bin/lakehouse sql \"SELECT * FROM gold.dim_customer WHERE customer_id = 1\"");
      out.println("             jobs/bin/lakehouse report mart_top_delivery_dates --limit 10");
      out.println("             jobs/bin/lakehouse tables    |    jobs/bin/lakehouse check");
      out.flush();
      return 0;
    }
  }

  /** The customer with the most bronze versions, batch by batch. */
  private static final String CUSTOMER_HISTORY = """
      SELECT customer_id, name, city, email, updated_at, _batch_id
      FROM bronze.customers
      WHERE customer_id = (
        SELECT customer_id FROM bronze.customers
        GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1)
      ORDER BY updated_at""";

  /** The customer with the most versions in the dimension. */
  private static final String CUSTOMER_DIMENSION = """
      SELECT customer_sk, customer_id, name, city, email, valid_from, valid_to, is_current, is_deleted
      FROM gold.dim_customer
      WHERE customer_id = (
        SELECT customer_id FROM gold.dim_customer WHERE customer_id IS NOT NULL
        GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1)
      ORDER BY valid_from""";

  private static final String DQ_RESULTS = """
      SELECT table_name, rule, action, checked_rows, failed_rows
      FROM _control.dq_results
      WHERE run_id = (SELECT max(run_id) FROM _control.dq_results)
      ORDER BY table_name, rule""";

  private static final String QUARANTINE = """
      SELECT 'order_items' AS table_name, concat_ws(', ', _failed_rules) AS failed_rules, count(*) AS rows
      FROM quarantine.order_items GROUP BY 1, 2 ORDER BY 3 DESC""";

  private static void step(PrintWriter out, Instant start, String what) {
    out.printf("%n[%3ds] %s%n", Duration.between(start, Instant.now()).toSeconds(), what);
    out.flush();
  }

  /** The demo starts from nothing: its local lakehouse and embedded data directory are recreated. */
  private static void resetLocal(Lakehouse lakehouse) {
    String root = lakehouse.paths().root();
    if (root.contains("://")) {
      throw new LakehouseException("The demo writes a local lakehouse; lakehouse.root is " + root);
    }
    delete(Paths.get(root));
    delete(Paths.get(lakehouse.spec().source().embeddedDataDir()).toAbsolutePath());
  }

  private static void delete(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

}
