package dev.lakehouse.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.testing.LakehouseTestBase;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class LakehouseCatalogTest extends LakehouseTestBase {

  @AfterAll
  static void dropNames() {
    spark.sql("DROP TABLE IF EXISTS bronze.catalog_probe");
  }

  private static LakehousePaths lakehouseWithProbe(String root, int rows) {
    LakehousePaths paths = new LakehousePaths(lakehouseRoot.resolve(root).toString());
    spark.range(rows).write().format("delta").save(paths.bronze("catalog_probe"));
    return paths;
  }

  @Test
  void registersEveryTableByNameAndRepointsANameWhoseLakehouseIsGone() {
    LakehousePaths first = lakehouseWithProbe("first", 3);
    List<LakehouseCatalog.TableRef> found = LakehouseCatalog.registerAll(spark, first);
    assertTrue(found.stream().anyMatch(t -> t.qualifiedName().equals("bronze.catalog_probe")), found.toString());
    assertEquals(3L, count("SELECT count(*) FROM bronze.catalog_probe"));

    // The first lakehouse is deleted (a test's temporary root, a moved lakehouse): the name
    // still points there, and registering the second lakehouse must re-point it, not fail on it.
    deleteRecursively(Path.of(first.root()));
    LakehousePaths second = lakehouseWithProbe("second", 5);
    LakehouseCatalog.registerAll(spark, second);
    assertEquals(5L, count("SELECT count(*) FROM bronze.catalog_probe"));
    assertEquals(List.of(List.of(5L)), sql("SELECT count(*) FROM delta.`%s`", second.bronze("catalog_probe")),
        "path-based access keeps working");
  }

  @Test
  void aDirectoryWhoseFirstWriteFailedIsNoTable() throws Exception {
    LakehousePaths paths = lakehouseWithProbe("failed-first-write", 2);
    // What a first bronze write that failed leaves: a data file and a log directory, no commit.
    Path failed = Path.of(paths.bronze("never_committed"));
    java.nio.file.Files.createDirectories(failed.resolve("_delta_log/_staged_commits"));
    java.nio.file.Files.write(failed.resolve("part-00000.snappy.parquet"), new byte[] {1, 2, 3});

    List<String> names = LakehouseCatalog.registerAll(spark, paths).stream()
        .map(LakehouseCatalog.TableRef::qualifiedName).toList();
    assertTrue(names.contains("bronze.catalog_probe") && !names.contains("bronze.never_committed"), names.toString());
    assertEquals(2L, count("SELECT count(*) FROM bronze.catalog_probe"));
  }
}
