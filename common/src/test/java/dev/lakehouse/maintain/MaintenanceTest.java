package dev.lakehouse.maintain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.catalog.LakehouseCatalog.TableRef;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** VACUUM keeps exactly what maintain.retention asks for, and leaves the session as it was. */
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

    List<Maintenance.TableResult> results = new Maintenance(spark, spec).run(List.of(new TableRef("silver", "things", path)),
        true);

    assertNull(results.get(0).error());
    assertEquals(Duration.ofDays(1), results.get(0).vacuumedTo());
    assertFalse(Files.exists(stale), "older than the retention: removed");
    assertTrue(Files.exists(recent), "younger than the retention: kept");
    assertEquals(10L, count("SELECT count(*) FROM delta.`%s`", path));
    assertEquals("7", spark.conf().get(LISTING), "the session's own setting is back");
    assertFalse(spark.conf().contains("spark.databricks.delta.vacuum.retentionWindowIgnore.enabled"));
    spark.conf().unset(LISTING);
  }

  private static Path unreferenced(String table, String name, Duration age) throws Exception {
    Path file = Path.of(table).resolve(name);
    Files.write(file, new byte[] {1, 2, 3});
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(age)));
    return file;
  }
}
