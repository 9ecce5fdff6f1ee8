package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.bronze.BronzeOps;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.SpecException;
import dev.lakehouse.testing.EngineTestBase;
import java.math.BigDecimal;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Silver's shape: conformed columns, one row per key, its own columns, and no commit when nothing changes. */
class SilverConformTest extends EngineTestBase {

  @Test
  void silverHoldsOneConformedRowPerKeyWithItsChangeTimeReadInTheSourceZone() {
    sourceExecute(
        """
        CREATE TABLE people ("PersonId" int PRIMARY KEY, "FullName" text, email text, country text,
                             amount text, born text, changed_at timestamp NOT NULL)""",
        "INSERT INTO people VALUES"
            + " (1, '  Ana Silva ', ' Ana.Silva@Example.COM ', 'pt', '12.50', '1990-01-02', '2026-06-01 09:00:00'),"
            + " (2, 'Bo', 'BO@X.ORG', 'se ', '7', '1985-12-31', '2026-06-01 10:30:00')");
    LakehouseSpec spec = spec("conform", """
        source.time-zone = "Asia/Tokyo"
        tables.people {
          primary-key = [PersonId], mode = incremental, cursor = changed_at
          silver {
            rename { PersonId = person_id, FullName = full_name }
            cast { amount = "decimal(10,2)", born = date }
            lowercase = [email]
            uppercase = [country]
          }
        }""");
    String silver = spec.paths().silver("people");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));

    assertEquals(List.of("person_id", "full_name", "email", "country", "amount", "born", "changed_at", "_batch_id",
            "_updated_at", "_row_hash", "_is_deleted", "_deleted_at"),
        Arrays.asList(spark.read().format("delta").load(silver).columns()));
    assertEquals(List.of(
            Arrays.asList(1, "Ana Silva", "ana.silva@example.com", "PT", new BigDecimal("12.50"), Date.valueOf("1990-01-02"),
                1L, Timestamp.from(Instant.parse("2026-06-01T00:00:00Z")), false, null),
            Arrays.asList(2, "Bo", "bo@x.org", "SE", new BigDecimal("7.00"), Date.valueOf("1985-12-31"),
                1L, Timestamp.from(Instant.parse("2026-06-01T01:30:00Z")), false, null)),
        sql("SELECT person_id, full_name, email, country, amount, born, _batch_id, _updated_at, _is_deleted, _deleted_at"
            + " FROM delta.`%s` ORDER BY person_id", silver),
        "renamed, cast, trimmed, lower- and upper-cased; a timestamp cursor read as Tokyo time");
    List<String> business = List.of("person_id", "full_name", "email", "country", "amount", "born", "changed_at");
    assertEquals(0L, spark.read().format("delta").load(silver)
            .where(col("_row_hash").isNull().or(col("_row_hash").notEqual(BronzeOps.hash(business)))).count(),
        "_row_hash: a hash of the conformed business columns, silver's own columns left out");

    // Two bronze runs (say hourly) before silver runs again: bronze holds both versions, silver the latest.
    sourceExecute("UPDATE people SET \"FullName\" = 'Bo B', changed_at = '2026-06-02 08:00:00' WHERE \"PersonId\" = 2");
    succeeded(run(spec, Stage.BRONZE));
    sourceExecute("UPDATE people SET \"FullName\" = 'Bo Final', changed_at = '2026-06-02 09:00:00' WHERE \"PersonId\" = 2");
    RunResult third = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    TableRun applied = outcome(third, Stage.SILVER, "people");
    assertEquals(List.of(3L, 1L, 1L, 0L), List.of(applied.batch(), applied.rowsRead(), applied.count("updated"),
        applied.count("inserted")), "batches 2 and 3 applied: one key, its latest version");
    assertEquals(List.of(List.of(1, "Ana Silva", 1L), List.of(2, "Bo Final", 3L)),
        sql("SELECT person_id, full_name, _batch_id FROM delta.`%s` ORDER BY person_id", silver));
    assertEquals(List.of(Timestamp.from(Instant.parse("2026-06-02T00:00:00Z"))),
        sql("SELECT _updated_at FROM delta.`%s` WHERE person_id = 2", silver).get(0));
    assertEquals(List.of(List.of("Bo B"), List.of("Bo Final")), sql("SELECT FullName FROM delta.`%s` WHERE PersonId = 2 AND _batch_id > 1"
        + " ORDER BY _batch_id", spec.paths().bronze("people")),
        "bronze keeps every version");
  }

  /**
   * The source keeps its key unique as it is: trimming it would make 'a1' and 'a1 ' one silver row
   * (the second merged over the first, or both kept under one key). The key stays as the source
   * holds it, the other text columns are trimmed, and reconcile finds every key where it is.
   */
  @Test
  void keysThatDifferOnlyInBlanksStayDistinctRowsWhileOtherColumnsAreTrimmed() {
    sourceExecute(
        "CREATE TABLE tickets (ticket_no text PRIMARY KEY, seat text, changed_at timestamptz NOT NULL)",
        "INSERT INTO tickets VALUES ('a1', ' A-1 ', '2026-06-01 09:00+00'), ('a1 ', 'B 7 ', '2026-06-01 09:10+00')");
    LakehouseSpec spec = spec("blank_keys", """
        tables.tickets { primary-key = [ticket_no], mode = incremental, cursor = changed_at }""");
    String silver = spec.paths().silver("tickets");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    // Later, a third key that trims to the same value: a new row, not an update of 'a1'.
    sourceExecute("INSERT INTO tickets VALUES (' a1', 'C', '2026-06-01 09:20+00')");
    RunResult second = succeeded(run(spec, Stage.BRONZE, Stage.SILVER, Stage.RECONCILE));
    assertEquals(List.of(1L, 0L), List.of(outcome(second, Stage.SILVER, "tickets").count("inserted"),
        outcome(second, Stage.SILVER, "tickets").count("updated")));
    assertEquals(List.of(List.of("[ a1]", "C", false), List.of("[a1]", "A-1", false), List.of("[a1 ]", "B 7", false)),
        sql("SELECT concat('[', ticket_no, ']'), seat, _is_deleted FROM delta.`%s` ORDER BY ticket_no", silver));

    SpecException cased = org.junit.jupiter.api.Assertions.assertThrows(SpecException.class, () -> spec("cased_keys", """
        tables.tickets { primary-key = [ticket_no], mode = full, silver.lowercase = [ticket_no, seat] }"""));
    assertEquals(1, cased.problems().size(), cased.getMessage());
    assertTrue(cased.problems().get(0).startsWith("lakehouse.tables.tickets.silver.lowercase: ticket_no is in the primary"
        + " key, which silver keeps as the source holds it: keys that differ only in case would become one row"),
        cased.getMessage());
  }

  /**
   * A column a relationships rule points at another table's key is left untrimmed like that key:
   * trimmed, the scan of ticket 'a1 ' would silently point at ticket 'a1', and the scan of 'zz '
   * at nothing, with the quarantine showing a value the source does not hold.
   */
  @Test
  void aReferenceToAKeyKeepsItsBlanksLikeTheKey() {
    sourceExecute(
        "CREATE TABLE ref_tickets (ticket_no text PRIMARY KEY, seat text)",
        "INSERT INTO ref_tickets VALUES ('a1', ' A-1 '), ('a1 ', 'B 7 ')",
        "CREATE TABLE ref_scans (scan_id int PRIMARY KEY, ticket_no text, gate text)",
        "INSERT INTO ref_scans VALUES (1, 'a1', ' north '), (2, 'a1 ', 'south '), (3, 'zz ', 'east')");
    LakehouseSpec spec = spec("blank_references", """
        tables.ref_tickets { primary-key = [ticket_no], mode = full }
        tables.ref_scans { primary-key = [scan_id], mode = full, quality = [
          { rule = relationships, column = ticket_no, to = ref_tickets, to-column = ticket_no, action = quarantine } ] }""");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of(List.of(1, "[a1]", "north"), List.of(2, "[a1 ]", "south")),
        sql("SELECT scan_id, concat('[', ticket_no, ']'), gate FROM delta.`%s` ORDER BY scan_id",
            spec.paths().silver("ref_scans")));
    assertEquals(List.of(List.of(3, "[zz ]")), sql("SELECT scan_id, concat('[', ticket_no, ']') FROM delta.`%s`",
        spec.paths().quarantine("ref_scans")), "only the scan whose ticket does not exist is held aside");
  }

  @Test
  void aBatchThatChangesNothingIsRecordedAsAppliedWithoutData() {
    sourceExecute(
        "CREATE TABLE same (id int PRIMARY KEY, v text)",
        "INSERT INTO same VALUES (1, 'a'), (2, 'b')");
    LakehouseSpec spec = spec("unchanged", """
        tables.same_snapshot { source-table = same, primary-key = [id], mode = full, land = snapshot }""");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    String snapshot = spec.paths().silver("same_snapshot");
    long version = version(snapshot);

    RunResult again = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(2L, outcome(again, Stage.BRONZE, "same_snapshot").rowsWritten(), "bronze has a new snapshot");
    TableRun snapshotRun = outcome(again, Stage.SILVER, "same_snapshot");
    assertEquals(List.of(2L, 2L, 0L, "nothing changed"),
        Arrays.asList(snapshotRun.batch(), snapshotRun.rowsRead(), snapshotRun.rowsWritten(), snapshotRun.detail()));
    assertEquals(version + 1, version(snapshot), "silver: one commit");
    org.apache.spark.sql.Row commit = io.delta.tables.DeltaTable.forPath(spark, snapshot).history()
        .where("version = " + (version + 1)).first();
    assertEquals("Manual Update", commit.getAs("operation"), "without data");
    assertTrue(commit.<scala.collection.Map<String, String>>getAs("operationMetrics").isEmpty(), "without data");
    assertEquals(2L, dev.lakehouse.control.Commits.lastBatch(spark, snapshot), "that records batch 2 as applied");
    assertEquals(List.of(List.of(1, "a"), List.of(2, "b")), sql("SELECT id, v FROM delta.`%s` ORDER BY id", snapshot));
  }

  /**
   * A source whose column names Delta cannot hold as they are: discover's configuration runs as
   * written (one table made incremental on its change time). Bronze keeps the source's names (Delta column mapping), silver has discover's names;
   * a column of that kind added later stops silver with one line until it is given a name.
   */
  @Test
  void columnNamesDeltaCannotHoldLandInBronzeAsTheyAreAndInSilverUnderTheirSilverNames() throws Exception {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE SCHEMA shop",
        "CREATE TABLE shop.\"Line Items\" (\"Line No\" int PRIMARY KEY, \"Unit Price\" numeric(10,2),"
            + " \"qty;x\" int, \"ship.to\" text, \"note`s\" text, _synced int, \"Updated At\" timestamptz NOT NULL)",
        "INSERT INTO shop.\"Line Items\" VALUES (1, 1.50, 3, 'a.1', 'n1', 1, '2026-06-01 09:00+00'),"
            + " (2, 2.25, 1, 'b.2', 'n2', 1, '2026-06-01 10:00+00')",
        "CREATE TABLE shop.price_list (sku text PRIMARY KEY, list_price numeric(8,2) NOT NULL)",
        "INSERT INTO shop.price_list VALUES ('a', 10.00), ('b', 20.00)");
    String discovered;
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(urlOf(db), "postgres", "")) {
      discovered = dev.lakehouse.source.Discovery.configuration(
          dev.lakehouse.source.SourceCatalog.read(c, List.of("shop")));
    }
    java.util.function.Function<String, LakehouseSpec> specWith = extra -> dev.lakehouse.spec.LakehouseConfig.of(
        com.typesafe.config.ConfigFactory.parseString(extra)
            // discover makes both tables full (no index on the change time); line_items reads a window.
            .withFallback(com.typesafe.config.ConfigFactory.parseString(
                "lakehouse.tables.line_items { mode = incremental, cursor = \"Updated At\" }"))
            .withFallback(com.typesafe.config.ConfigFactory.parseMap(java.util.Map.of(
                "lakehouse.root", lakehouseRoot.resolve("unstorable").toString(),
                "lakehouse.source.url", urlOf(db), "lakehouse.source.user", "postgres",
                "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"", "2")))
            .withFallback(com.typesafe.config.ConfigFactory.parseString(discovered)
                .withoutPath("lakehouse.tables.line_items.land"))).spec();
    LakehouseSpec spec = specWith.apply("");
    String bronze = spec.paths().bronze("line_items");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));

    assertEquals(List.of("Line No", "Unit Price", "qty;x", "ship.to", "note`s", "_synced", "Updated At"),
        Arrays.stream(spark.read().format("delta").load(bronze).columns())
            .filter(c -> !dev.lakehouse.spec.Identifiers.ownColumn(c)).toList(),
        "bronze keeps the source's names");
    assertEquals(List.of(List.of(1, new BigDecimal("1.50"), 3, "a.1", "n1", 1), List.of(2, new BigDecimal("2.25"), 1, "b.2", "n2", 1)),
        sql("SELECT line_no, unit_price, qty_x, ship_to, note_s, synced FROM delta.`%s` ORDER BY line_no",
            spec.paths().silver("line_items")), "a dot, a back-quote or a leading _: silver has plain names");
    assertEquals(List.of(List.of("a", new BigDecimal("10.00")), List.of("b", new BigDecimal("20.00"))),
        sql("SELECT sku, list_price FROM delta.`%s` ORDER BY sku", spec.paths().silver("price_list")));

    executeIn(db,
        "UPDATE shop.\"Line Items\" SET \"Unit Price\" = 1.75, \"note`s\" = 'n1b', _synced = 2,"
            + " \"Updated At\" = '2026-06-02 09:00+00' WHERE \"Line No\" = 1",
        "INSERT INTO shop.\"Line Items\" VALUES (3, 9.99, 2, 'c.3', NULL, 3, '2026-06-02 09:30+00')",
        "UPDATE shop.price_list SET list_price = 25.00 WHERE sku = 'b'",
        "DELETE FROM shop.price_list WHERE sku = 'a'");
    RunResult second = succeeded(run(spec, Stage.BRONZE, Stage.SILVER, Stage.RECONCILE));
    assertEquals(2L, outcome(second, Stage.BRONZE, "price_list").rowsWritten(), "a changed row and a delete marker");
    assertEquals(List.of(List.of(1, new BigDecimal("1.75"), "n1b", 2), List.of(2, new BigDecimal("2.25"), "n2", 1),
            Arrays.asList(3, new BigDecimal("9.99"), null, 3)),
        sql("SELECT line_no, unit_price, note_s, synced FROM delta.`%s` ORDER BY line_no", spec.paths().silver("line_items")));
    assertEquals(List.of(List.of("a", true), List.of("b", false)),
        sql("SELECT sku, _is_deleted FROM delta.`%s` ORDER BY sku", spec.paths().silver("price_list")));

    // The source adds such columns: the run stops before anything is written, one line per column,
    // until each has a silver name; then bronze takes them (price_list's bronze switching to
    // column mapping) and silver applies them.
    executeIn(db, "ALTER TABLE shop.\"Line Items\" ADD COLUMN \"Gift (wrap)\" boolean",
        "UPDATE shop.\"Line Items\" SET \"Gift (wrap)\" = true, \"Updated At\" = '2026-06-03 09:00+00' WHERE \"Line No\" = 2",
        "ALTER TABLE shop.price_list ADD COLUMN \"Pack Size\" int",
        "UPDATE shop.price_list SET \"Pack Size\" = 6 WHERE sku = 'b'");
    long bronzeVersion = version(bronze);
    dev.lakehouse.spec.SpecException stopped = org.junit.jupiter.api.Assertions.assertThrows(
        dev.lakehouse.spec.SpecException.class, () -> run(spec, Stage.BRONZE, Stage.SILVER));
    String needsName = "' needs a silver name without space , ; { } ( ) = . ` tab or newline, not starting with _"
        + " (silver.rename { ";
    assertEquals(List.of(
            "lakehouse.tables.line_items: shop.Line Items: column 'Gift (wrap)" + needsName + "\"Gift (wrap)\" = new_name })",
            "lakehouse.tables.price_list: shop.price_list: column 'Pack Size" + needsName + "\"Pack Size\" = new_name })"),
        stopped.problems());
    assertEquals(bronzeVersion, version(bronze), "nothing landed");
    succeeded(run(specWith.apply("lakehouse.tables { line_items.silver.rename { \"Gift (wrap)\" = gift_wrap },"
        + " price_list.silver.rename { \"Pack Size\" = pack_size } }"), Stage.BRONZE, Stage.SILVER));
    assertEquals(1L, count("SELECT count(*) FROM delta.`%s` WHERE `Gift (wrap)`", bronze), "bronze has it");
    assertEquals(1L, count("SELECT count(*) FROM delta.`%s` WHERE `Pack Size` = 6", spec.paths().bronze("price_list")));
    assertEquals(List.of(Arrays.asList(1, null), List.of(2, true), Arrays.asList(3, null)),
        sql("SELECT line_no, gift_wrap FROM delta.`%s` ORDER BY line_no", spec.paths().silver("line_items")));
    assertEquals(List.of(List.of("b", new BigDecimal("25.00"), 6)),
        sql("SELECT sku, list_price, pack_size FROM delta.`%s` WHERE NOT _is_deleted", spec.paths().silver("price_list")));

    // Maintenance compacts (bronze line_items has 3 files: past 2) and vacuums column-mapped tables like any other.
    String named = "lakehouse.tables { line_items.silver.rename { \"Gift (wrap)\" = gift_wrap },"
        + " price_list.silver.rename { \"Pack Size\" = pack_size } }\n";
    LakehouseSpec compacting = specWith.apply(named + "lakehouse.maintain.max-files = 2");
    List<dev.lakehouse.maintain.Maintenance.TableResult> maintained =
        new dev.lakehouse.maintain.Maintenance(spark, compacting).run(true);
    assertEquals(1L, maintained.stream().filter(r -> r.table().equals("bronze.line_items")).findFirst()
        .orElseThrow(() -> new AssertionError(maintained.toString())).filesAfter());
    assertEquals(List.of(List.of(1, 2L), List.of(2, 2L), List.of(3, 1L)),
        sql("SELECT `Line No`, count(*) FROM delta.`%s` GROUP BY 1 ORDER BY 1", bronze),
        "every version, once (the lookback's re-read of line 3 stayed out)");
    executeIn(db, "UPDATE shop.\"Line Items\" SET \"qty;x\" = 7, \"Updated At\" = '2026-06-04 09:00+00' WHERE \"Line No\" = 3");
    succeeded(run(compacting, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of(List.of(3, 7)),
        sql("SELECT line_no, qty_x FROM delta.`%s` WHERE line_no = 3", spec.paths().silver("line_items")));
  }
}
