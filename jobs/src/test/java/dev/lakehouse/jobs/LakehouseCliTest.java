package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.AcmeLakehouses;
import dev.lakehouse.testing.AcmeLakehouses.Built;
import dev.lakehouse.testing.InProcessMaster;
import dev.lakehouse.testing.LakehouseTestBase;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The lakehouse command line: in this JVM through {@link CliRunner} (sharing the test Spark
 * session), and as a child process with the command line's own logging configuration where what
 * reaches the terminal is the point.
 */
class LakehouseCliTest extends LakehouseTestBase {

  /** A Java stack frame, as printStackTrace writes it. */
  private static final Pattern STACK_FRAME = Pattern.compile("(?m)^\\s+at ");

  /** The options pointing every command at this database and root. */
  private static List<String> target(String database, Path root) {
    return List.of(
        "--set", "lakehouse.root=" + root,
        "--set", "lakehouse.source.url=" + urlOf(database),
        "--set", "lakehouse.source.user=postgres",
        "--set", "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"=2");
  }

  private static List<String> target(Built lakehouse) {
    return target(lakehouse.database(), lakehouse.root());
  }

  private static String[] args(String... args) {
    return args;
  }

  @Test
  void queriesTablesReportsAndChecksOverAFinishedRun() throws IOException {
    Built day0 = AcmeLakehouses.day0();
    // Read-only commands: the shared lakehouse will do, with its database.
    List<String> target = target(day0);
    long orders = AcmeLakehouses.count(day0.database(), "SELECT count(*) FROM operations.orders");
    long customers = AcmeLakehouses.count(day0.database(), "SELECT count(*) FROM operations.customers");

    CliRunner csv = CliRunner.run(target, "sql", "SELECT count(*) AS n FROM bronze.orders", "--format", "csv");
    assertEquals(0, csv.exitCode(), csv.err());
    assertEquals("n\n" + orders + "\n", csv.out());
    CliRunner json = CliRunner.run(target, "sql",
        "SELECT DISTINCT job, status FROM _control.runs WHERE table_name = 'orders' AND job = 'bronze'", "--format", "json");
    assertEquals("[\n  {\"job\":\"bronze\",\"status\":\"succeeded\"}\n]\n", json.out(), json.err());
    CliRunner table = CliRunner.run(target, "sql", "SELECT 'a,b' AS x, CAST(NULL AS INT) AS y");
    assertEquals("x   | y\n----+-----\na,b | NULL\n(1 row)\n", table.out());
    // A mistake in the query: Spark's words, its position, not the plan it appends.
    CliRunner typo = CliRunner.run(target, "sql", "SELECT nope FROM bronze.orders");
    assertOneLine(typo, 1, "with name `nope` cannot be resolved. Did you mean one of the following?");
    assertTrue(typo.err().endsWith("; line 1 pos 7\n"), typo.err());
    // One that fails as it runs: the same form, the expression's position instead of Spark's drawing of it.
    CliRunner divided = CliRunner.run(target, "sql", "SELECT 1 / 0 AS x FROM bronze.orders");
    assertOneLine(divided, 1, "[DIVIDE_BY_ZERO] Division by zero.");
    assertTrue(divided.err().endsWith("SQLSTATE: 22012; line 1 pos 7\n"), divided.err());

    // Global options before or after the subcommand.
    CliRunner after = CliRunner.run(target, "sql", "SELECT 1 AS one", "--format", "csv", "--env", "local");
    assertEquals("one\n1\n", after.out(), after.err());
    List<String> before = new ArrayList<>(List.of("--env", "local"));
    before.addAll(target);
    assertEquals(2, CliRunner.run(List.of(), before.toArray(String[]::new)).exitCode(), "no subcommand: usage error");

    CliRunner tables = CliRunner.run(target, "tables");
    assertEquals(0, tables.exitCode(), tables.err());
    assertTrue(tables.out().matches("(?s).*bronze\\.customers\\s+" + customers + "\\s+0\\n.*"), tables.out());
    assertTrue(tables.out().contains("_control.watermarks"), tables.out());
    assertTrue(tables.out().contains("lakehouse root: " + day0.root()), tables.out());

    CliRunner list = CliRunner.run(target, "report", "--list");
    assertEquals(0, list.exitCode(), list.err());
    for (String mart : List.of("mart_open_orders_by_delivery_date_status", "mart_pending_items_by_product",
        "mart_top_customers_pending_orders", "mart_top_delivery_dates")) {
      assertTrue(list.out().matches("(?s).*" + mart + "\\s+[1-9][0-9]*\\n.*"), list.out());
    }
    Path file = lakehouseRoot.resolve("top-dates.csv");
    CliRunner export = CliRunner.run(target, "report", "mart_top_delivery_dates", "--format", "csv",
        "--out", file.toString(), "--limit", "5");
    assertEquals(0, export.exitCode(), export.err());
    List<String> lines = Files.readAllLines(file);
    assertEquals("delivery_date,weekday_name,orders,items,rank", lines.get(0));
    assertEquals(6, lines.size(), lines.toString());
    assertTrue(lines.get(1).endsWith(",1"), "ranked first: " + lines.get(1));

    CliRunner unknown = CliRunner.run(target, "report", "mart_nothing");
    assertOneLine(unknown, 1, "No mart 'mart_nothing'");

    CliRunner check = CliRunner.run(target, "check");
    assertEquals(0, check.exitCode(), check.err());
    assertTrue(check.out().contains("dim_customer     ok"), check.out());
  }

  @Test
  void seedAndSimulateChangeTheSource() {
    String database = cloneDatabase("postgres");
    List<String> target = target(database, lakehouseRoot.resolve("seeded"));
    CliRunner seed = CliRunner.run(target, "seed", "--scale", "1");
    assertEquals(0, seed.exitCode(), seed.err());
    assertTrue(seed.out().matches("(?s)seeded customers\\s+100 rows\\n.*seeded order_items\\s+[\\d,]+ rows\\n"), seed.out());
    assertEquals(500, AcmeLakehouses.count(database, "SELECT count(*) FROM operations.orders"));
    CliRunner simulate = CliRunner.run(target, "simulate", "--changes", "50", "--seed", "3");
    assertEquals(0, simulate.exitCode(), simulate.err());
    assertTrue(simulate.out().startsWith("simulated (seed 3): "), simulate.out());
    assertTrue(AcmeLakehouses.count(database, "SELECT count(*) FROM operations.orders") > 500);
  }

  @Test
  void validateSaysOkOrNamesEveryProblem() {
    Built day0 = AcmeLakehouses.day0();
    List<String> target = target(day0.database(), lakehouseRoot.resolve("validated"));
    CliRunner ok = CliRunner.run(target, "validate");
    assertEquals(0, ok.exitCode(), ok.err());
    assertTrue(ok.out().startsWith("specification: 4 tables, 2 dimensions, 2 facts, 4 marts\n"), ok.out());
    assertTrue(ok.out().endsWith("every table and column found\nok\n"), ok.out());

    CliRunner problems = CliRunner.run(target, "validate",
        "--set", "lakehouse.tables.customers.cursor=updatd_at",
        "--set", "lakehouse.tables.orders.primary-key=[order_no]",
        "--set", "lakehouse.tables.invoices.primary-key=[invoice_id]");
    assertEquals(1, problems.exitCode(), problems.err());
    List<String> lines = problems.err().lines().toList();
    assertEquals(3, lines.size(), problems.err());
    assertTrue(lines.stream().allMatch(l -> l.startsWith("lakehouse: lakehouse.tables.")), problems.err());
    assertTrue(problems.err().contains("lakehouse.tables.customers.cursor: no column updatd_at"), problems.err());
    assertTrue(problems.err().contains("lakehouse.tables.orders.primary-key: no column order_no"), problems.err());
    assertTrue(problems.err().contains("lakehouse.tables.invoices"), problems.err());

    // Queries are analysed against tables shaped like silver and gold will be: a fact's and a
    // mart's (over a dimension, the calendar and another mart) each get a line naming their key.
    CliRunner queries = CliRunner.run(target, "validate",
        "--set", "lakehouse.gold.facts.fact_orders.query=SELECT o.order_id, o.customer_id, o.order_date,"
            + " o.delivery_date, o.status, o.created_at AS order_time, o.nope FROM silver.orders o"
            + " JOIN silver.order_items i ON i.order_id = o.order_id",
        "--set", "lakehouse.gold.marts.mart_days=SELECT c.name, d.weekday_name, d.full_date FROM gold.dim_customer c"
            + " CROSS JOIN gold.dim_date d",
        "--set", "lakehouse.gold.marts.mart_names=SELECT name, valid_from, customer_sk FROM gold.dim_customer",
        "--set", "lakehouse.gold.marts.mart_of_mart=SELECT count(*) FROM gold.mart_names WHERE nme IS NULL");
    assertEquals(1, queries.exitCode(), queries.err());
    List<String> queryLines = queries.err().lines().toList();
    assertEquals(3, queryLines.size(), queries.err());
    assertTrue(queryLines.stream().anyMatch(l -> l.startsWith("lakehouse: lakehouse.gold.facts.fact_orders.query:"
        + " [UNRESOLVED_COLUMN.WITH_SUGGESTION]") && l.contains("`o`.`nope`")), queries.err());
    assertTrue(queryLines.stream().anyMatch(l -> l.startsWith("lakehouse: lakehouse.gold.marts.mart_days:"
        + " [UNRESOLVED_COLUMN.WITH_SUGGESTION]") && l.contains("`d`.`full_date`")), queries.err());
    assertTrue(queryLines.stream().anyMatch(l -> l.startsWith("lakehouse: lakehouse.gold.marts.mart_of_mart:"
        + " [UNRESOLVED_COLUMN.WITH_SUGGESTION]") && l.contains("`nme`")), queries.err());

    CliRunner offline = CliRunner.run(target, "validate", "--offline", "--set", "lakehouse.tables.orders.mode=increment");
    // One line: the tables, facts and marts that read orders are not reported again.
    assertOneLine(offline, 1, "lakehouse: lakehouse.tables.orders.mode: must be one of [full, incremental, log],"
        + " not 'increment'");
  }

  /**
   * A tiny schema nobody configured: discover writes its configuration, and the command line runs
   * it as a user would (a child process, the configuration directory from LAKEHOUSE_CONF_DIR).
   */
  @Test
  void discoverThenRunATinySchema() throws Exception {
    String database = cloneDatabase("postgres");
    executeIn(database,
        "CREATE SCHEMA shop",
        "CREATE TABLE shop.items (item_id bigint PRIMARY KEY, name text NOT NULL, price numeric(8,2),"
            + " updated_at timestamptz NOT NULL DEFAULT now())",
        "CREATE INDEX ON shop.items (updated_at)",
        "INSERT INTO shop.items (item_id, name, price) VALUES (1, 'kettle', 24.90), (2, 'teapot', 31.00)",
        "CREATE TABLE shop.tags (tag text PRIMARY KEY, label text)",
        "INSERT INTO shop.tags VALUES ('new', 'New in'), ('sale', 'On sale')");
    Path conf = Files.createDirectories(lakehouseRoot.resolve("tiny-conf"));
    Path root = lakehouseRoot.resolve("tiny");
    List<String> target = target(database, root);

    CliRunner discover = CliRunner.run(target, "discover", "--schemas", "shop", "--out",
        conf.resolve("application.conf").toString());
    assertEquals(0, discover.exitCode(), discover.err());
    assertTrue(discover.err().startsWith("discovered 2 tables"), discover.err());
    String written = Files.readString(conf.resolve("application.conf"));
    assertTrue(written.contains("mode = incremental") && written.contains("cursor = updated_at"), written);
    Files.copy(confDir().resolve("local.conf"), conf.resolve("local.conf"));

    List<String> args = new ArrayList<>(List.of("run"));
    args.addAll(target);
    LakehouseProcess run = LakehouseProcess.run(Map.of("LAKEHOUSE_CONF_DIR", conf.toString()), List.of(), args);
    assertEquals(0, run.exit(), run.describe());
    assertTrue(run.out().matches("(?s)bronze .*items\\s+batch 1, read 2, landed 2.*tags\\s+batch 1, read 2, landed 2.*"
        + "silver .*reconcile .*run \\S+: ok in .*"), run.describe());
    assertEquals("", run.err(), "a run that succeeds prints nothing on stderr");
    assertEquals(List.of(List.of("kettle"), List.of("teapot")),
        sql("SELECT name FROM delta.`%s` ORDER BY item_id", root.resolve("silver/items")));
    assertEquals(2L, count("SELECT count(*) FROM delta.`%s`", root.resolve("silver/tags")));
  }

  /**
   * Every bad input ends the same way: one line on stderr, starting with {@code lakehouse: },
   * saying what is wrong (never a password), no stack trace, and exit code 1 (a failed run or an
   * invalid configuration) or 2 (the command line itself is wrong). Then the same again for the
   * inputs that make Spark fail a task, as a child process with the command line's own logging:
   * nothing reaches stderr but that line.
   */
  @Test
  void everyBadInputIsOneLineAndAnExitCode() throws Exception {
    String database = cloneDatabase(AcmeLakehouses.day0().database());
    Path empty = lakehouseRoot.resolve("bad-inputs");
    List<String> target = target(database, empty);
    String role = "cli_reader_" + database;
    executeIn(database,
        "DROP ROLE IF EXISTS " + role,
        "CREATE ROLE " + role + " LOGIN PASSWORD 'opensesame'",
        "CREATE TABLE operations.notes (id int, body text)",
        "INSERT INTO operations.notes VALUES (1, 'one'), (NULL, 'none')",
        "CREATE TABLE operations.pairs (id int, body text)",
        "INSERT INTO operations.pairs VALUES (1, 'a'), (1, 'b'), (2, 'c')");

    assertOneLine(CliRunner.run(target, "run", "--set", "lakehouse.source.url=jdbc:postgresql://127.0.0.1:1/nowhere",
        "--set", "lakehouse.source.connect-timeout=2s"), 1, "127.0.0.1:1");
    // A libpq-style URL where the driver's belongs: the form to write, its password masked.
    CliRunner libpq = CliRunner.run(target, "run", "--set", "lakehouse.source.url=postgresql://etl:hunter2@127.0.0.1/shop");
    assertOneLine(libpq, 1, "lakehouse.source.url: postgresql://etl:***@127.0.0.1/shop is not a URL of the PostgreSQL"
        + " driver; write it jdbc:postgresql://host:port/database");
    assertFalse(libpq.err().contains("hunter2"), "the password is never printed");
    CliRunner password = CliRunner.run(target, "run", "--set", "lakehouse.source.user=" + role,
        "--set", "lakehouse.source.password=letmein");
    assertOneLine(password, 1, "Authentication failed for " + urlOf(database) + " as user '" + role + "'");
    assertFalse(password.err().contains("letmein"), "the password is never printed");
    // The role may log in but read nothing: said before any COPY, with the grant that would do.
    assertOneLine(CliRunner.run(target, "run", "--tables", "customers", "--set", "lakehouse.source.user=" + role,
        "--set", "lakehouse.source.password=opensesame"), 1, "lakehouse.tables.customers: user '" + role
        + "' may not read operations.customers; GRANT SELECT ON operations.customers TO " + role);
    assertOneLine(CliRunner.run(target, "run", "--set", "lakehouse.tables.invoices.primary-key=[invoice_id]"), 1,
        "lakehouse.tables.invoices");
    assertOneLine(CliRunner.run(target, "run", "--set", "lakehouse.tables.customers.cursor=updatd_at"), 1,
        "lakehouse.tables.customers.cursor: no column updatd_at");
    assertOneLine(CliRunner.run(target, "bronze", "--tables", "notes", "--set", "lakehouse.tables.notes.primary-key=[id]"),
        1, "a NULL in the key (id)");
    assertOneLine(CliRunner.run(target, "bronze", "--tables", "pairs", "--set", "lakehouse.tables.pairs.primary-key=[id]"),
        1, "more than once in");
    assertOneLine(CliRunner.run(target, "run", "--set", "lakehouse.tables.customers.silver.cast.nope=int"), 1,
        "lakehouse.tables.customers.silver.cast: no column nope");
    Path aFile = Files.writeString(lakehouseRoot.resolve("not-a-directory"), "in the way");
    assertOneLine(CliRunner.run(target, "run", "--set", "lakehouse.root=" + aFile.resolve("lakehouse")), 1,
        "Cannot create the lock file " + aFile.resolve("lakehouse") + "/_control/.lock: " + aFile
            + " is a file where a directory is needed");
    // A scheme Hadoop has no file system for; S3's old schemes point at the one it has.
    assertOneLine(CliRunner.run(target, "run", "--set", "lakehouse.root=s3://bucket/lakehouse"), 1,
        "Cannot use the lock file s3://bucket/lakehouse/_control/.lock: lakehouse.root: Hadoop has no file system for"
            + " s3://; S3 is s3a://bucket/path here (Hadoop's S3A)");
    assertOneLine(CliRunner.run(target, "run", "--set", "lakehouse.root=gs://bucket/lakehouse"), 1,
        "lakehouse.root: Hadoop has no file system for gs://; use a local path, file:// or s3a://");
    assertOneLine(CliRunner.run(target, "run", "--set", "lakehouse.root"), 2, "--set");
    assertOneLine(CliRunner.run(target, "run", "--nope"), 2, "--nope");
    // The hint names the whole command, and its --help works.
    assertOneLine(CliRunner.run(target, "bench", "log", "--nope"), 2, "(see lakehouse bench log --help)");
    for (List<String> command : List.of(List.of("run"), List.of("bench", "log"), List.of("log", "status"))) {
      List<String> help = new ArrayList<>(command);
      help.add("--help");
      CliRunner shown = CliRunner.run(List.of(), help.toArray(String[]::new));
      assertEquals(0, shown.exitCode(), command + " --help: " + shown.err());
      assertTrue(shown.out().startsWith("Usage: lakehouse " + String.join(" ", command)), shown.out());
    }
    for (String name : List.of("../../escaped", "a`b")) {
      assertOneLine(CliRunner.run(target, "run", "--set", "lakehouse.tables.\"" + name + "\".primary-key=[id]"), 1,
          "is not a safe name");
    }
    assertFalse(Files.exists(empty.resolve("bronze")), "refused before anything was written");
    try (Stream<Path> around = Files.walk(lakehouseRoot)) {
      assertEquals(List.of(), around.filter(p -> p.getFileName().toString().contains("escaped")).toList());
    }

    // A cast the values do not survive: bronze lands them, silver refuses them.
    assertEquals(0, CliRunner.run(target, "bronze", "--tables", "customers").exitCode());
    List<String> badCast = List.of("silver", "--tables", "customers", "--set", "lakehouse.tables.customers.silver.cast.name=int");
    assertOneLine(CliRunner.run(target, badCast.toArray(String[]::new)), 1, "silver cast of customers.name to int failed");
    assertOneLine(CliRunner.run(target, "silver", "--tables", "customers", "--set",
        "lakehouse.tables.customers.silver.cast.nope=int"), 1, "lakehouse.tables.customers.silver.cast: no column nope");

    // Damaged tables: a data file gone, a log entry cut short.
    Built missingFile = AcmeLakehouses.fork(AcmeLakehouses.day0(), "missing-file");
    Path silverCustomers = missingFile.root().resolve("silver/customers");
    Path dataFile;
    try (Stream<Path> files = Files.list(silverCustomers)) {
      dataFile = files.filter(p -> p.toString().endsWith(".parquet")).findFirst().orElseThrow();
    }
    Files.delete(dataFile);
    // Reconcile reads silver's files and log entries only without a fingerprint remembered for
    // this version of it (here and below, none is): it reads them all and meets the damage.
    deleteRecursively(missingFile.root().resolve("_control/fingerprints"));
    assertOneLine(CliRunner.run(target(missingFile), "reconcile", "--tables", "customers"), 1,
        "reconcile customers: the Delta table at " + silverCustomers + " is damaged: its data file "
            + dataFile.getFileName() + " is missing. Restore a version from before the loss");
    // Cut short with its checksum file left (a local disk: the checksum no longer matches), and
    // without one (an object store: the JSON no longer parses).
    Built cutLog = AcmeLakehouses.fork(AcmeLakehouses.day0(), "cut-log");
    deleteRecursively(cutLog.root().resolve("_control/fingerprints"));
    for (String table : List.of("customers", "orders")) {
      Path entry = lastLogEntry(cutLog.root().resolve("silver").resolve(table));
      try (RandomAccessFile file = new RandomAccessFile(entry.toFile(), "rw")) {
        file.setLength(file.length() / 2);
      }
      if (table.equals("orders")) {
        Files.delete(entry.resolveSibling("." + entry.getFileName() + ".crc"));
      }
      assertOneLine(CliRunner.run(target(cutLog), "reconcile", "--tables", table), 1, "reconcile " + table
          + ": the transaction log of " + cutLog.root().resolve("silver").resolve(table) + " is damaged");
    }

    // What the terminal shows: the command line's own logging, Spark's task failures included.
    Map<Built, List<String>> children = new java.util.LinkedHashMap<>();
    children.put(missingFile, List.of("reconcile", "--tables", "customers"));
    children.put(cutLog, List.of("reconcile", "--tables", "customers"));
    children.put(new Built(database, empty), badCast);
    for (Map.Entry<Built, List<String>> child : children.entrySet()) {
      List<String> all = new ArrayList<>(child.getValue());
      all.addAll(target(child.getKey()));
      LakehouseProcess run = LakehouseProcess.run(Map.of("LAKEHOUSE_CONF_DIR", confDir().toString()), List.of(), all);
      assertEquals(1, run.exit(), run.describe());
      assertEquals(1, run.err().lines().count(), "one line on stderr: " + run.describe());
      assertTrue(run.err().startsWith("lakehouse: "), run.describe());
    }
    // A standalone master that is not there, or a master URL Spark does not know: one line at
    // once, not Spark's minute of retries ending in an error that names neither. In a child JVM,
    // since this one's session is running already, and a running session keeps its master.
    // Or a port where something else answers (here a real master's web UI): one line, without
    // the stack traces Spark's network layer logs for the exchange.
    try (InProcessMaster sparkMaster = InProcessMaster.start()) {
      Map<String, String> masters = Map.of(
          "spark://127.0.0.1:1", "Cannot reach the Spark master spark://127.0.0.1:1 (lakehouse.spark.master): 127.0.0.1:1"
              + " refused the connection. Start the master or correct the URL",
          "spark://127.0.0.1:" + sparkMaster.webUiPort(), "Cannot reach the Spark master spark://127.0.0.1:"
              + sparkMaster.webUiPort() + " (lakehouse.spark.master): 127.0.0.1:" + sparkMaster.webUiPort()
              + " is not a Spark master: it answered in another protocol",
          "nowhere", "lakehouse.spark.master: Spark does not know the master URL 'nowhere'; use local[N]");
      for (Map.Entry<String, String> master : masters.entrySet()) {
        List<String> all = new ArrayList<>(List.of("run", "--set", "lakehouse.spark.master=" + master.getKey()));
        all.addAll(target(new Built(database, lakehouseRoot.resolve("no-master"))));
        LakehouseProcess run = LakehouseProcess.run(Map.of("LAKEHOUSE_CONF_DIR", confDir().toString()), List.of(), all);
        assertEquals(1, run.exit(), run.describe());
        assertEquals(1, run.err().lines().count(), "one line on stderr: " + run.describe());
        assertTrue(run.err().startsWith("lakehouse: " + master.getValue()), run.describe());
      }
    }
    assertFalse(Files.exists(lakehouseRoot.resolve("no-master").resolve("bronze")), "nothing was written");
  }

  /** The newest entry of a Delta table's log. */
  private static Path lastLogEntry(Path table) throws IOException {
    File[] entries = table.resolve("_delta_log").toFile().listFiles((dir, name) -> name.endsWith(".json"));
    Arrays.sort(entries);
    return entries[entries.length - 1].toPath();
  }

  /** Exit code, one line on stderr starting with "lakehouse: " and holding {@code says}, no stack trace. */
  private static void assertOneLine(CliRunner run, int exit, String says) {
    String what = "exit " + run.exitCode() + ", stderr:\n" + run.err();
    assertEquals(exit, run.exitCode(), what);
    assertEquals(1, run.err().lines().count(), what);
    assertTrue(run.err().startsWith("lakehouse: "), what);
    assertTrue(run.err().contains(says), "expected '" + says + "' in " + what);
    assertFalse(STACK_FRAME.matcher(run.err()).find(), what);
    assertFalse(run.err().matches("(?s).*\\b\\w+(Exception|Error)\\b.*"), "an exception's class name: " + what);
  }
}
