package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** The lakehouse command line, in-process, against this class's database and lakehouse root. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LakehouseCliTest extends LakehouseTestBase {

  private static List<String> target;

  @BeforeAll
  static void target() {
    target = List.of(
        "--set", "lakehouse.root=" + lakehouseRoot,
        "--set", "lakehouse.source.url=" + sourceUrl(),
        "--set", "lakehouse.source.user=postgres");
  }

  @Test
  @Order(1)
  void seedThenBronzeThenQueryByTableName() {
    CliRunner seed = CliRunner.run(target, "seed", "--scale", "1");
    assertEquals(0, seed.exitCode(), seed.err());
    assertTrue(seed.out().contains("seeded customers"), seed.out());

    CliRunner bronze = CliRunner.run(target, "bronze");
    assertEquals(0, bronze.exitCode(), bronze.err());
    long orders = sourceCount("SELECT count(*) FROM operations.orders");
    assertTrue(bronze.out().matches("(?s).*orders\\s+1\\s+" + orders + "\\s+" + orders + "\\s.*succeeded.*"), bronze.out());

    CliRunner csv = CliRunner.run(target, "sql", "SELECT count(*) AS n FROM bronze.orders", "--format", "csv");
    assertEquals(0, csv.exitCode(), csv.err());
    assertEquals("n\n" + orders + "\n", csv.out());

    CliRunner json = CliRunner.run(target, "sql",
        "SELECT table_name, status FROM _control.runs WHERE table_name = 'orders'", "--format", "json");
    assertEquals("[\n  {\"table_name\":\"orders\",\"status\":\"succeeded\"}\n]\n", json.out());

    CliRunner table = CliRunner.run(target, "sql", "SELECT 'a,b' AS x, CAST(NULL AS INT) AS y");
    assertEquals("x   | y\n----+-----\na,b | NULL\n(1 row)\n", table.out());
  }

  @Test
  @Order(2)
  void optionsWorkBeforeOrAfterTheSubcommand() {
    CliRunner after = CliRunner.run(target, "sql", "SELECT 1 AS one", "--format", "csv", "--env", "local");
    assertEquals("one\n1\n", after.out(), after.err());
    List<String> before = new java.util.ArrayList<>(List.of("--env", "local"));
    before.addAll(target);
    CliRunner first = CliRunner.run(List.of(), before.toArray(String[]::new));
    assertEquals(2, first.exitCode(), "no subcommand: usage error");
  }

  @Test
  @Order(3)
  void tablesListsRowCountsAndVersions() {
    CliRunner tables = CliRunner.run(target, "tables");
    assertEquals(0, tables.exitCode(), tables.err());
    long customers = sourceCount("SELECT count(*) FROM operations.customers");
    assertTrue(tables.out().matches("(?s).*bronze\\.customers\\s+" + customers + "\\s+0\\n.*"), tables.out());
    assertTrue(tables.out().contains("_control.watermarks"), tables.out());
  }

  @Test
  @Order(4)
  void badInputIsOneLineAndNonZero() {
    CliRunner env = CliRunner.run(target, "tables", "--env", "staging");
    assertEquals(1, env.exitCode());
    assertEquals("lakehouse: Unknown environment 'staging': no conf/staging.conf\n", env.err());

    sourceExecute("CREATE ROLE cli_reader LOGIN PASSWORD 'opensesame'");
    CliRunner password = CliRunner.run(target, "bronze", "--set", "lakehouse.source.user=cli_reader",
        "--set", "lakehouse.source.password=letmein");
    assertEquals(1, password.exitCode());
    assertTrue(password.err().startsWith("lakehouse: Authentication failed for " + sourceUrl()
        + " as user 'cli_reader'"), password.err());
    assertEquals(1, password.err().lines().count(), password.err());
    assertFalse(password.err().contains("letmein"));

    CliRunner missing = CliRunner.run(target, "bronze", "--tables", "orders,invoices");
    assertEquals(1, missing.exitCode());
    assertTrue(missing.err().contains("No table 'invoices' in lakehouse.tables"), missing.err());

    CliRunner badSql = CliRunner.run(target, "sql", "SELECT * FROM bronze.nothing_here");
    assertEquals(1, badSql.exitCode());
    assertEquals(1, badSql.err().lines().count(), badSql.err());
  }

  @Test
  @Order(5)
  void runBuildsGoldThenReportAndCheckWork() throws Exception {
    CliRunner run = CliRunner.run(target, "run");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().contains("gold table"), run.out());
    assertTrue(run.out().contains("reconcile"), run.out());

    CliRunner list = CliRunner.run(target, "report", "--list");
    assertEquals(0, list.exitCode(), list.err());
    for (String mart : List.of("mart_open_orders_by_delivery_date_status", "mart_pending_items_by_product",
        "mart_top_customers_pending_orders", "mart_top_delivery_dates")) {
      assertTrue(list.out().matches("(?s).*" + mart + "\\s+[1-9][0-9]*\\n.*"), list.out());
    }

    java.nio.file.Path csv = lakehouseRoot.resolve("top-dates.csv");
    CliRunner export = CliRunner.run(target, "report", "mart_top_delivery_dates", "--format", "csv",
        "--out", csv.toString(), "--limit", "5");
    assertEquals(0, export.exitCode(), export.err());
    List<String> lines = java.nio.file.Files.readAllLines(csv);
    assertEquals("delivery_date,weekday_name,orders,items,rank", lines.get(0));
    assertEquals(6, lines.size(), lines.toString());
    assertTrue(lines.get(1).endsWith(",1"), "ranked first: " + lines.get(1));

    CliRunner unknown = CliRunner.run(target, "report", "mart_nothing");
    assertEquals(1, unknown.exitCode());
    assertTrue(unknown.err().startsWith("lakehouse: No mart 'mart_nothing'"), unknown.err());

    CliRunner check = CliRunner.run(target, "check");
    assertEquals(0, check.exitCode(), check.err());
    assertTrue(check.out().contains("dim_customer     ok"), check.out());
  }
}
