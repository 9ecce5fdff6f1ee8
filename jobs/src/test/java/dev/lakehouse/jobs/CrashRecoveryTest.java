package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.bronze.BronzeLoader;
import dev.lakehouse.silver.SilverLoader;
import dev.lakehouse.config.LakehouseConfig;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.testing.LakehouseTestBase;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kills a real bronze process at each crash point, as kill -9 would, runs bronze again, and
 * compares every table with an uninterrupted run over the same source state.
 */
class CrashRecoveryTest extends LakehouseTestBase {

  private static final List<String> TABLES = List.of("customers", "order_items", "orders", "products");
  private static LakehouseConfig reference;

  @BeforeAll
  static void seedAndRunOnceUninterrupted() throws Exception {
    try (Connection c = source()) {
      AcmeSeeder.seed(c, "operations", 1);
    }
    // An item whose order does not exist, so silver has something to quarantine.
    sourceExecute("INSERT INTO operations.order_items (order_item_id, order_id, product_id, quantity, unit_price)"
        + " VALUES (990001, 990001, 1, 1, 1.00)");
    reference = rooted("reference");
    new BronzeLoader(spark, reference.source(), reference.paths()).load("reference", reference.tables());
    new SilverLoader(spark, reference.paths()).load("reference", reference.tables());
  }

  private static LakehouseConfig rooted(String name) {
    return testConfig(Map.of("lakehouse.root", lakehouseRoot.resolve(name).toString()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"extract.reading", "bronze.after-commit", "bronze.after-runlog"})
  void crashThenRerunEqualsAnUninterruptedRun(String crashPoint) throws Exception {
    LakehouseConfig crashed = rooted("crash-" + crashPoint);
    int exit = runBronzeInChildJvm(crashed, crashPoint);
    assertEquals(137, exit, "the child halted at " + crashPoint);

    new BronzeLoader(spark, crashed.source(), crashed.paths()).load("rerun", crashed.tables());

    for (String table : TABLES) {
      String columns = "* EXCEPT (_ingested_at)";
      String a = reference.paths().bronze(table);
      String b = crashed.paths().bronze(table);
      assertEquals(count("SELECT count(*) FROM delta.`%s`", a), count("SELECT count(*) FROM delta.`%s`", b), table);
      assertEquals(0L, count("SELECT count(*) FROM ((SELECT %s FROM delta.`%s`) EXCEPT ALL (SELECT %s FROM delta.`%s`))",
          columns, a, columns, b), table + " after a crash at " + crashPoint);
    }
    assertEquals(sql("SELECT table_name, batch_id, watermark FROM (%s) ORDER BY 1", Watermarks.currentSql(reference.paths().control("watermarks"))),
        sql("SELECT table_name, batch_id, watermark FROM (%s) ORDER BY 1", Watermarks.currentSql(crashed.paths().control("watermarks"))));
  }

  @ParameterizedTest
  @ValueSource(strings = {"silver.after-quarantine", "silver.after-merge"})
  void silverCrashThenRerunEqualsAnUninterruptedRun(String crashPoint) throws Exception {
    LakehouseConfig crashed = rooted("crash-" + crashPoint);
    new BronzeLoader(spark, crashed.source(), crashed.paths()).load("bronze", crashed.tables());
    assertEquals(137, runInChildJvm("silver", crashed, crashPoint), "the child halted at " + crashPoint);

    new SilverLoader(spark, crashed.paths()).load("rerun", crashed.tables());

    for (String table : TABLES) {
      assertSameRows(reference.paths().silver(table), crashed.paths().silver(table), "*", table);
    }
    assertSameRows(reference.paths().table("quarantine", "order_items"), crashed.paths().table("quarantine", "order_items"),
        "* EXCEPT (_run_id, _quarantined_at)", "quarantine");
  }

  private static void assertSameRows(String a, String b, String columns, String what) {
    assertEquals(count("SELECT count(*) FROM delta.`%s`", a), count("SELECT count(*) FROM delta.`%s`", b), what);
    assertEquals(0L, count("SELECT count(*) FROM ((SELECT %s FROM delta.`%s`) EXCEPT ALL (SELECT %s FROM delta.`%s`))",
        columns, a, columns, b), what);
  }

  private static int runBronzeInChildJvm(LakehouseConfig config, String crashPoint) throws Exception {
    return runInChildJvm("bronze", config, crashPoint);
  }

  private static int runInChildJvm(String job, LakehouseConfig config, String crashPoint) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx2g");
    command.add("-Duser.timezone=UTC");
    command.addAll(Arrays.asList(Files.readString(Paths.get("target/jvm.options")).trim().split("\\s+")));
    command.add("-D" + CrashPoints.PROPERTY + "=" + crashPoint);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(LakehouseCli.class.getName());
    command.add(job);
    command.addAll(List.of("--set", "lakehouse.root=" + config.paths().root(),
        "--set", "lakehouse.source.url=" + sourceUrl(),
        "--set", "lakehouse.source.user=postgres",
        "--set", "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"=2"));
    Path log = Files.createTempFile("crash-" + crashPoint, ".log");
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    process.getOutputStream().close();
    if (!process.waitFor(5, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new AssertionError("child did not finish; log: " + log);
    }
    System.err.println("child log for " + crashPoint + ": " + log + File.pathSeparator);
    return process.exitValue();
  }
}
