package dev.lakehouse.maintain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.catalog.LakehouseCatalog.TableRef;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** VACUUM keeps exactly what maintain.retention asks for, and leaves the session as it was; every-runs fires when it says. */
class MaintenanceTest extends EngineTestBase {

  private static final String LISTING = "spark.sql.sources.parallelPartitionDiscovery.parallelism";

  @Test
  void vacuumRemovesWhatIsOlderThanTheConfiguredRetentionAndNothingYounger() throws Exception {
    LakehouseSpec spec = spec("maintain", "maintain.retention = 1d");
    String path = spec.paths().silver("things");
    spark.range(10).write().format("delta").save(path);
    // Files no version references: one older than the retention, one younger. Delta's own default
    // (7 days) would keep both, so this tells the configured retention is the one applied.
    Path stale = unreferenced(path, "stale.parquet", Duration.ofDays(3));
    Path recent = unreferenced(path, "recent.parquet", Duration.ofHours(12));
    spark.conf().set(LISTING, "7");

    // Delta's VACUUM prints its counts on Scala's console, which is where the command's own
    // report goes; maintain keeps them off it.
    java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
    List<Maintenance.TableResult> results = scala.Console$.MODULE$.withOut(console, () -> new Maintenance(spark, spec)
        .run(List.of(new TableRef("silver", "things", path)), true));
    assertEquals("", console.toString(java.nio.charset.StandardCharsets.UTF_8), "nothing printed");

    assertNull(results.get(0).error());
    assertEquals(Duration.ofDays(1), results.get(0).vacuumedTo());
    assertFalse(Files.exists(stale), "older than the retention: removed");
    assertTrue(Files.exists(recent), "younger than the retention: kept");
    assertEquals(10L, count("SELECT count(*) FROM delta.`%s`", path));
    assertEquals("7", spark.conf().get(LISTING), "the session's own setting is back");
    assertFalse(spark.conf().contains("spark.databricks.delta.vacuum.retentionWindowIgnore.enabled"));
    spark.conf().unset(LISTING);
  }

  @Test
  void everyRunsMaintainsTheWholeLakehouseOnEveryNthRunAndOnNoOther() {
    sourceExecute("CREATE TABLE crates (id int PRIMARY KEY, label text)", "INSERT INTO crates VALUES (1, 'a')");
    LakehouseSpec spec = spec("every-runs", """
        maintain.every-runs = 3
        tables.crates { primary-key = [id], mode = full }""");
    List<Integer> maintained = new java.util.ArrayList<>();
    for (int run = 1; run <= 6; run++) {
      RunResult result = succeeded(run(spec, Stage.BRONZE, Stage.SILVER, Stage.MAINTAIN));
      if (!result.of(Stage.MAINTAIN).isEmpty()) {
        maintained.add(run);
        assertEquals(List.of("bronze.crates", "silver.crates"), result.of(Stage.MAINTAIN).stream().map(TableRun::table)
            .filter(t -> t.endsWith(".crates")).sorted().toList(), "run " + run + ": every table, not only those it wrote");
        // The retention as the configuration writes it (the default 7 days), not Java's PT168H.
        result.of(Stage.MAINTAIN).forEach(r -> assertEquals("vacuumed, keeping 7d", r.detail(), r.table()));
      }
    }
    // The run that maintains counts itself: the third, not the second (its entry is written when it ends).
    assertEquals(List.of(3, 6), maintained);
  }

  private static Path unreferenced(String table, String name, Duration age) throws Exception {
    Path file = Path.of(table).resolve(name);
    Files.write(file, new byte[] {1, 2, 3});
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(age)));
    return file;
  }
}
