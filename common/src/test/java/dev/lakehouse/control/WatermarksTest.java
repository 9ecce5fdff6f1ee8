package dev.lakehouse.control;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.bronze.CursorValue;
import dev.lakehouse.control.Watermarks.Watermark;
import dev.lakehouse.testing.LakehouseTestBase;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/**
 * The watermarks a read gives back are those of the table as it is: after this JVM's own append
 * without a Spark job, and after anyone else's write (another instance, plain SQL) from the table.
 */
class WatermarksTest extends LakehouseTestBase {

  private static Watermark at(String table, long batch, String instant) {
    return new Watermark(table, batch, Optional.ofNullable(instant).map(i -> new CursorValue.TimestampTz(Instant.parse(i))),
        "run-" + batch);
  }

  /** What the table says, read with plain SQL (no memory of earlier reads). */
  private static Map<String, Long> batchesInTheTable(String path) {
    Map<String, Long> batches = new HashMap<>();
    for (Row row : spark.sql(Watermarks.currentSql(path)).collectAsList()) {
      batches.put(row.getString(0), row.getLong(1));
    }
    return batches;
  }

  private static Map<String, Long> batches(Map<String, Watermark> watermarks) {
    Map<String, Long> batches = new HashMap<>();
    watermarks.forEach((table, w) -> batches.put(table, w.batchId()));
    return batches;
  }

  @Test
  void aReadGivesTheTablesStateWhoeverWroteIt() throws Exception {
    String path = lakehouseRoot.resolve("watermarks-memo/_control/watermarks").toString();
    Watermarks watermarks = new Watermarks(spark, path, ZoneOffset.UTC);
    assertEquals(Map.of(), watermarks.readAll());

    watermarks.recordAll(List.of(at("orders", 1, "2026-01-01T00:00:00.123456Z"), at("codes", 1, null)));
    Map<String, Watermark> first = watermarks.readAll();
    assertEquals(Map.of("orders", at("orders", 1, "2026-01-01T00:00:00.123456Z"), "codes", at("codes", 1, null)), first);

    // Its own append: the next read needs no Spark job, and gives what the table says.
    watermarks.recordAll(List.of(at("orders", 2, "2026-01-02T00:00:00Z")));
    List<Map<String, Watermark>> read = new java.util.ArrayList<>();
    assertEquals(0, sparkJobsOf(() -> read.add(watermarks.readAll())), "read from memory");
    assertEquals(Map.of("orders", at("orders", 2, "2026-01-02T00:00:00Z"), "codes", at("codes", 1, null)), read.get(0));
    assertEquals(batchesInTheTable(path), batches(read.get(0)));

    // Another instance's append, and a plain SQL insert: each read sees them.
    Watermarks other = new Watermarks(spark, path, ZoneOffset.UTC);
    other.recordAll(List.of(at("codes", 2, null)));
    assertEquals(Map.of("orders", 2L, "codes", 2L), batches(watermarks.readAll()));
    spark.sql("INSERT INTO delta.`" + path + "` VALUES ('orders', 3, NULL, 'run-3', current_timestamp(),"
        + " 'timestamptz:2026-01-03T00:00:00Z')");
    assertEquals(at("orders", 3, "2026-01-03T00:00:00Z"), watermarks.readAll().get("orders"));
    assertEquals(at("orders", 3, "2026-01-03T00:00:00Z"), other.readAll().get("orders"));

    // A batch recorded again ties in the table: the read comes from the table, not from memory.
    watermarks.recordAll(List.of(at("orders", 3, "2026-01-03T00:00:00Z")));
    assertEquals(batchesInTheTable(path), batches(watermarks.readAll()));
    assertEquals(at("orders", 3, "2026-01-03T00:00:00Z"), watermarks.readAll().get("orders"));

    // Re-created at the same path: a new table, nothing of the old one.
    deleteRecursively(java.nio.file.Path.of(path));
    assertEquals(Map.of(), watermarks.readAll());
    watermarks.recordAll(List.of(at("codes", 1, null)));
    assertEquals(Map.of("codes", at("codes", 1, null)), watermarks.readAll());
  }
}
