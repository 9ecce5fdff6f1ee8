package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.acme.AcmeSimulator;
import dev.lakehouse.catalog.LakehouseCatalog;
import dev.lakehouse.acme.AcmeSchema;
import dev.lakehouse.bronze.LogSetup;
import dev.lakehouse.pipeline.Pipeline;
import dev.lakehouse.pipeline.Streaming;
import dev.lakehouse.spec.GoldSpec;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.LogSettings;
import dev.lakehouse.spec.TableSpec;
import java.util.concurrent.atomic.AtomicBoolean;
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
  public Integer call() throws Exception {
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

      if (online) {
        online(lakehouse, out, start);
      }

      out.printf("%nDone in %ds. Lakehouse: %s%n", Duration.between(start, Instant.now()).toSeconds(),
          lakehouse.paths().root());
      out.println("Explore it:  jobs/bin/lakehouse sql \"SELECT * FROM gold.dim_customer WHERE customer_id = 1\"");
      out.println("             jobs/bin/lakehouse report mart_top_delivery_dates --limit 10");
      out.println("             jobs/bin/lakehouse tables    |    jobs/bin/lakehouse check");
      out.flush();
      return 0;
    }
  }

  // Without fallbackValue, picocli sets a true-by-default negatable option to the opposite of its
  // default when it is named: --online switched the online part off and --no-online left it on.
  @Option(names = "--online", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "End with the online part: customers streamed from the log (default: ${DEFAULT-VALUE}).")
  boolean online;

  /**
   * The online part: customers read from PostgreSQL's log into a lakehouse of their own, by
   * {@code stream}; two changes of one customer and a delete of another, seen in silver and in the
   * SCD2 history within seconds, every intermediate version included.
   */
  private static void online(Lakehouse lakehouse, PrintWriter out, Instant start) throws Exception {
    step(out, start, "Online: customers from PostgreSQL's log (lakehouse stream), into a lakehouse of their own");
    String root = lakehouse.paths().root() + "-online";
    delete(Paths.get(root));
    LakehouseSpec base = lakehouse.spec();
    TableSpec customers = base.table("customers").orElseThrow();
    TableSpec logged = new TableSpec(customers.name(), customers.schema(), customers.sourceTable(), customers.primaryKey(),
        TableSpec.Mode.LOG, java.util.Optional.empty(), customers.lookback(), customers.land(), customers.partitions(),
        customers.partitionColumn(), customers.method(), customers.fetchSize(), customers.asText(), customers.conform(),
        customers.quality(), customers.infinity());
    GoldSpec gold = new GoldSpec(java.util.Map.of("customer", base.gold().dimensions().get("customer")),
        java.util.Map.of(), java.util.Map.of());
    LakehouseSpec spec = new LakehouseSpec(base.env(), root, base.source(), base.spark(), base.lockLease(), false,
        List.of(logged), gold, base.maintain(), new LogSettings("lakehouse_demo", "lakehouse_demo",
            Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(30), 50_000), base.parallelism());
    Lakehouse streamed = lakehouse.withSpec(spec);
    LogSetup setup = new LogSetup(streamed.source(), spec.log());
    setup.setup(spec.logTables()).forEach(line -> out.println("    " + line));
    AtomicBoolean stop = new AtomicBoolean();
    Thread stream = new Thread(() -> new Streaming(streamed).run(stop::get, line -> { }), "demo-stream");
    stream.start();
    try {
      String silver = streamed.paths().silver("customers");
      long customersNow;
      try (java.sql.Connection c = dev.lakehouse.source.SourceDatabase.connect(streamed.source());
           java.sql.Statement s = c.createStatement()) {
        String table = dev.lakehouse.source.SourceDatabase.qualified(AcmeSchema.schema(streamed.source()), "customers");
        try (java.sql.ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
          rs.next();
          customersNow = rs.getLong(1);
        }
        waitFor(() -> rows(streamed, silver, "TRUE") == customersNow);
        out.printf("    initial copy in silver: %,d customers%n", customersNow);
        Instant changed = Instant.now();
        s.execute("UPDATE " + table + " SET city = 'Bergen', updated_at = now() WHERE customer_id = 2");
        s.execute("UPDATE " + table + " SET city = 'Tromsø', updated_at = now() WHERE customer_id = 2");
        s.execute("DELETE FROM " + table + " WHERE customer_id = 3");
        waitFor(() -> rows(streamed, streamed.paths().gold("dim_customer"), "customer_id = 3 AND is_deleted") == 1
            && rows(streamed, silver, "customer_id = 2 AND city = 'Tromsø'") == 1);
        out.printf("    two updates of customer 2 and a delete of customer 3: in silver and gold after %.1f s%n",
            Duration.between(changed, Instant.now()).toMillis() / 1000.0);
      }
      ResultFormat.TABLE.write(streamed.spark().sql("SELECT customer_sk, customer_id, name, city, valid_from, valid_to,"
          + " is_current, is_deleted FROM delta.`" + streamed.paths().gold("dim_customer") + "`"
          + " WHERE customer_id IN (2, 3) ORDER BY customer_id, valid_from"), 20, out);
    } finally {
      stop.set(true);
      stream.join();
      setup.teardown();
    }
  }

  private static long rows(Lakehouse lakehouse, String path, String where) {
    try {
      return lakehouse.spark().read().format("delta").load(path).where(where).count();
    } catch (Exception e) {
      return -1;
    }
  }

  private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new LakehouseException("the online part did not see the changes within 3 minutes");
      }
      Thread.sleep(250);
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
