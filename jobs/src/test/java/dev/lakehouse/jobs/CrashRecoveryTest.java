package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.pipeline.Pipeline;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.AcmeLakehouses;
import dev.lakehouse.testing.AcmeLakehouses.Built;
import dev.lakehouse.testing.LakehouseTestBase;
import io.delta.tables.DeltaTable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kills a real {@code lakehouse} process at each crash point, as kill -9 would, runs the same
 * command again, and compares every table with an uninterrupted run over the same source state.
 * The runs are the second run of the shared ACME lakehouse, after a simulated day (so bronze
 * appends, silver merges and quarantines, gold versions dimensions and re-keys facts); the
 * uninterrupted run is {@link AcmeLakehouses#day1()}, kept after each stage, so each crash test
 * only runs the stage it interrupts.
 */
class CrashRecoveryTest extends LakehouseTestBase {

  private static final List<String> TABLES = List.of("customers", "order_items", "orders", "products");
  private static final List<String> GOLD = List.of("dim_customer", "dim_product", "dim_date", "fact_order_items",
      "fact_orders", "mart_open_orders_by_delivery_date_status", "mart_pending_items_by_product",
      "mart_top_customers_pending_orders", "mart_top_delivery_dates");

  /** Day 1's source over a copy of the lakehouse as it was before {@code stage} ran. */
  private static Built before(Stage stage, String name) {
    AcmeLakehouses.Day day1 = AcmeLakehouses.day1();
    Path from = switch (stage) {
      case BRONZE -> AcmeLakehouses.day0().root();
      case SILVER -> day1.after().get(Stage.BRONZE);
      case RECONCILE -> day1.after().get(Stage.SILVER);
      case GOLD -> day1.after().get(Stage.RECONCILE);
      case MAINTAIN -> day1.after().get(Stage.GOLD);
    };
    // The source is only read, so the shared database will do.
    return new Built(day1.database(), AcmeLakehouses.copy(from, lakehouseRoot.resolve(name)));
  }

  /**
   * extract.reading halts once a reader has read 100 rows of its partition, which only a whole
   * table gives: here the first run, from an empty lakehouse over day 0's source, halted while
   * reading one of the tables (the ones before it are committed, the rest not yet).
   */
  @Test
  void extraction() throws Exception {
    AcmeLakehouses.Built day0 = AcmeLakehouses.day0();
    Built crashed = new Built(day0.database(), lakehouseRoot.resolve("crash-extract.reading"));
    assertEquals(137, runInChildJvm(crashed, "extract.reading", "bronze"), "the child halted while reading");
    LakehousePaths paths = crashed.spec().paths();
    assertTrue(TABLES.stream().anyMatch(t -> !DeltaTable.isDeltaTable(spark, paths.bronze(t))), "bronze was not finished");
    succeeded(run(crashed.spec(), Stage.BRONZE));
    assertSameBronze(day0.spec().paths(), paths);
  }

  @ParameterizedTest
  @ValueSource(strings = {"bronze.after-commit", "bronze.after-watermarks", "run.after-runlog"})
  void bronze(String crashPoint) throws Exception {
    Built crashed = before(Stage.BRONZE, "crash-bronze-" + crashPoint);
    assertEquals(137, runInChildJvm(crashed, crashPoint, "bronze"), "the child halted at " + crashPoint);
    succeeded(run(crashed.spec(), Stage.BRONZE));
    assertSameBronze(AcmeLakehouses.day1().at(Stage.BRONZE).spec().paths(), crashed.spec().paths());
  }

  private static void assertSameBronze(LakehousePaths reference, LakehousePaths paths) {
    for (String table : TABLES) {
      assertSameRows(reference.bronze(table), paths.bronze(table), "* EXCEPT (_ingested_at)", "bronze." + table);
    }
    String watermarks = "SELECT table_name, batch_id, cursor FROM (%s) ORDER BY 1";
    assertEquals(sql(watermarks, Watermarks.currentSql(reference.control("watermarks"))),
        sql(watermarks, Watermarks.currentSql(paths.control("watermarks"))), "watermarks");
  }

  /**
   * silver.after-quarantine: the halt comes right after order_items' quarantine write (its parents
   * are applied first, as the whole run would), and the re-run must not hold the rows twice.
   */
  @ParameterizedTest
  @ValueSource(strings = {"silver.after-quarantine", "silver.after-merge", "run.after-runlog"})
  void silver(String crashPoint) throws Exception {
    Built crashed = before(Stage.SILVER, "crash-silver-" + crashPoint);
    LakehousePaths paths = crashed.spec().paths();
    String quarantine = paths.quarantine("order_items");
    if (crashPoint.equals("silver.after-quarantine")) {
      try (Lakehouse lakehouse = new Lakehouse(crashed.spec())) {
        succeeded(new Pipeline(lakehouse).run(EnumSet.of(Stage.SILVER), List.of("customers", "products", "orders")));
      }
      assertEquals(137, runInChildJvm(crashed, crashPoint, "silver", "--tables", "order_items"));
      assertTrue(count("SELECT count(*) FROM delta.`%s`", quarantine) > 0, "the child quarantined rows before it halted");
    } else {
      assertEquals(137, runInChildJvm(crashed, crashPoint, "silver"), "the child halted at " + crashPoint);
    }
    succeeded(run(crashed.spec(), Stage.SILVER));

    LakehousePaths reference = AcmeLakehouses.day1().at(Stage.SILVER).spec().paths();
    for (String table : TABLES) {
      assertSameRows(reference.silver(table), paths.silver(table), "*", "silver." + table);
    }
    assertSameRows(reference.quarantine("order_items"), quarantine, "* EXCEPT (_run_id, _quarantined_at)",
        "quarantine.order_items");
  }

  @ParameterizedTest
  @ValueSource(strings = {"gold.after-dimension", "gold.after-facts", "gold.after-marts"})
  void gold(String crashPoint) throws Exception {
    Built crashed = before(Stage.GOLD, "crash-" + crashPoint);
    assertEquals(137, runInChildJvm(crashed, crashPoint, "gold"), "the child halted at " + crashPoint);
    succeeded(run(crashed.spec(), Stage.GOLD));

    LakehousePaths reference = AcmeLakehouses.day1().built().spec().paths();
    for (String table : GOLD) {
      assertSameRows(reference.gold(table), crashed.spec().paths().gold(table), "*", "gold." + table);
    }
  }

  /** The same rows, as many times each. */
  private static void assertSameRows(String expected, String actual, String columns, String what) {
    assertEquals(count("SELECT count(*) FROM delta.`%s`", expected), count("SELECT count(*) FROM delta.`%s`", actual), what);
    assertEquals(0L, count("SELECT count(*) FROM ((SELECT %s FROM delta.`%s`) EXCEPT ALL (SELECT %s FROM delta.`%s`))",
        columns, expected, columns, actual), what + ": rows of the uninterrupted run missing");
  }

  /** {@code lakehouse <args>} in a child JVM set to halt at {@code crashPoint}; its exit code. */
  private static int runInChildJvm(Built target, String crashPoint, String... args) throws Exception {
    LakehouseSpec spec = target.spec();
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--set", "lakehouse.root=" + spec.root(),
        "--set", "lakehouse.source.url=" + spec.source().url(),
        "--set", "lakehouse.source.user=" + spec.source().user(),
        "--set", "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"=2",
        "--set", "lakehouse.spark.conf.\"spark.databricks.delta.snapshotPartitions\"=1"));
    LakehouseProcess child = LakehouseProcess.run(Map.of("LAKEHOUSE_CONF_DIR", confDir().toString()),
        List.of("-D" + CrashPoints.PROPERTY + "=" + crashPoint), all);
    if (child.exit() != 137) {
      System.err.println("lakehouse " + String.join(" ", args) + " set to halt at " + crashPoint + ": " + child.describe());
    }
    return child.exit();
  }
}
