package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.catalog.LakehouseCatalog;
import dev.lakehouse.gold.Scd2Invariants;
import dev.lakehouse.gold.Scd2Spec;
import dev.lakehouse.maintain.Maintenance;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.Streaming;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.SpecException;
import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.source.replication.ChangeStream;
import dev.lakehouse.source.replication.ReplicationEndpoint;
import dev.lakehouse.spec.TableSpec;
import dev.lakehouse.testing.LakehouseTestBase;
import dev.lakehouse.testing.PgText;
import io.delta.tables.DeltaTable;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Tables in {@code mode = log}, against the real embedded PostgreSQL with {@code wal_level =
 * logical}: every version and delete from the log, in bronze, silver and gold's history; unchanged
 * TOASTed values; truncate; a column added while reading; the initial copy handed over to the log
 * under concurrent writes; and {@code stream}. Each test has its own database, slot and publication.
 */
class LogModeTest extends LakehouseTestBase {

  private static final AtomicInteger SLOTS = new AtomicInteger();

  private record Fixture(String db, LakehouseSpec spec) {}

  /** A fresh database with the devices table, and a lakehouse reading it in log mode. */
  private static Fixture fixture(String name) {
    return fixture(name, "");
  }

  /** As above, with {@code more} HOCON inside {@code lakehouse { }}, and {@code statements} run on the source first. */
  private static Fixture fixture(String name, String more, String... statements) {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE SCHEMA lab",
        // "Serial No": a name Delta holds only with column mapping; bronze keeps it, silver renames it.
        // "notes.text", TOASTed: a name Spark would read as a struct field unless every step quotes it.
        // _rev: a leading _ that is not one of the lakehouse's own names; silver renames it.
        "CREATE TABLE lab.devices (device_id bigint PRIMARY KEY, name text NOT NULL, firmware text,"
            + " \"notes.text\" text, price money, \"Serial No\" text, _rev int DEFAULT 1,"
            + " updated_at timestamptz NOT NULL DEFAULT now())",
        "ALTER TABLE lab.devices ALTER COLUMN \"notes.text\" SET STORAGE EXTERNAL",
        "INSERT INTO lab.devices (device_id, name, firmware, \"Serial No\") SELECT i, 'device ' || i, '1.0', 'SN-' || i"
            + " FROM generate_series(1, 50) i");
    if (statements.length > 0) {
      executeIn(db, statements);
    }
    String slot = "lh_test_" + SLOTS.incrementAndGet() + "_" + ProcessHandle.current().pid();
    LakehouseSpec spec = logSpec(name, db, slot, more);
    try (Lakehouse lakehouse = new Lakehouse(spec)) {
      new LogSetup(lakehouse.source(), spec.log()).setup(spec.logTables());
    }
    return new Fixture(db, spec);
  }

  /** The devices lakehouse on {@code db}, reading the log through {@code slot} (and a publication of that name). */
  private static LakehouseSpec logSpec(String name, String db, String slot, String more) {
    Path root = lakehouseRoot.resolve(name);
    return LakehouseConfig.of(ConfigFactory.parseString("""
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres, schema = lab }
          spark.conf { "spark.sql.shuffle.partitions" = "2" }
          log { publication = %s, slot = %s, trigger = 500ms, gold-trigger = 2s }
          tables.devices { primary-key = [device_id], mode = log, silver.rename { "Serial No" = serial_no, "notes.text" = notes, _rev = rev } }
          gold.dimensions.device { source = devices, natural-key = [device_id], tracked = [name, firmware] }
          %s
        }""".formatted(root, urlOf(db), slot, slot, more))).spec();
  }

  private static void teardown(Fixture f) {
    try (Lakehouse lakehouse = new Lakehouse(f.spec())) {
      new LogSetup(lakehouse.source(), f.spec().log()).teardown();
    }
  }

  private static void assertSilverEqualsTheSource(Fixture f) {
    TableSpec devices = f.spec().table("devices").orElseThrow();
    PgText.assertSameLines(PgText.sourceRows(urlOf(f.db()), devices, "lab"),
        PgText.silverRows(spark, f.spec().paths().silver("devices"), devices, urlOf(f.db()), "lab"), "silver.devices");
  }

  /**
   * A log table that bronze could not read stops the run before anything runs, in one line: the
   * slot was never set up, or the slot's name is taken by another database of the server (slot
   * names are per server), which setup refuses and a run must not read as its own.
   */
  @Test
  void aSlotNotSetUpOrHeldByAnotherDatabaseStopsTheRunInOneLine() {
    Fixture f = fixture("log-slot-taken");
    try {
      String other = cloneDatabase("template1");
      executeIn(other, "CREATE SCHEMA lab", "CREATE TABLE lab.devices (device_id bigint PRIMARY KEY, name text NOT NULL,"
          + " firmware text, \"notes.text\" text, price money, \"Serial No\" text, _rev int)");
      String slot = f.spec().log().slot();
      LakehouseSpec taken = logSpec("log-slot-taken-other", other, slot, "");
      SpecException e = assertThrows(SpecException.class, () -> runAll(taken));
      assertEquals(List.of("lakehouse.log: Replication slot " + slot + " on " + urlOf(other) + " belongs to database "
          + f.db() + ", not " + other + "; set lakehouse.log.slot to another name and run lakehouse log setup"),
          e.problems());
      LakehouseException refused = assertThrows(LakehouseException.class, () -> {
        try (Lakehouse lakehouse = new Lakehouse(taken)) {
          new LogSetup(lakehouse.source(), taken.log()).setup(taken.logTables());
        }
      });
      assertTrue(refused.getMessage().endsWith("set lakehouse.log.slot to another name (a slot's name is unique on the"
          + " server, not per database)"), refused.getMessage());

      LakehouseSpec unset = logSpec("log-slot-unset", other, slot + "_unset", "");
      e = assertThrows(SpecException.class, () -> runAll(unset));
      assertEquals(List.of("lakehouse.log: Replication slot " + slot + "_unset does not exist on " + urlOf(other)
          + "; run lakehouse log setup first"), e.problems());
      // A log table renamed in the source: one line, not a second one saying the publication
      // lacks it (setup could not add a table that is not there).
      executeIn(f.db(), "ALTER TABLE lab.devices RENAME TO devices_renamed");
      e = assertThrows(SpecException.class, () -> runAll(f.spec()));
      assertEquals(List.of("lakehouse.tables.devices: Source table lab.devices does not exist"), e.problems());
      for (LakehouseSpec spec : List.of(taken, unset, f.spec())) {
        assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().bronze("devices")), "nothing landed");
        assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().control("runs")), "no run recorded");
      }
    } finally {
      teardown(f);
    }
  }

  /**
   * An earlier stream that went silent without closing (its process killed mid-decode, its host
   * gone) holds the slot until the server drops it after {@code wal_sender_timeout}: the next run
   * waits for that instead of failing. The timeout is 20 s on this fixture's database, longer
   * than the fixed 10 s a run used to wait.
   */
  @Test
  void aSlotStillHeldByASilentEarlierStreamIsTakenOverOnceTheServerDropsIt() {
    Fixture f = fixture("log-slot-silent-holder");
    try {
      executeIn(f.db(), "ALTER DATABASE " + f.db() + " SET wal_sender_timeout = '20s'");
      succeeded(runAll(f.spec()));
      executeIn(f.db(), "UPDATE lab.devices SET firmware = '3.0' WHERE device_id = 3");
      // Opened and never read again: no answer to the server's keepalives, as from a dead client.
      ChangeStream silent = ChangeStream.open(ReplicationEndpoint.of(urlOf(f.db()), EmbeddedSource.SUPERUSER, ""),
          f.spec().log().slot(), f.spec().log().publication(), LogSequenceNumber.INVALID_LSN);
      long started = System.nanoTime();
      try {
        RunResult taken = succeeded(runAll(f.spec()));
        long waited = java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
        assertTrue(waited >= 12, "the run waited for the server to drop the silent stream: " + waited + " s");
        assertEquals(1L, taken.of(Stage.BRONZE).get(0).rowsWritten(), taken.tables().toString());
      } finally {
        silent.close();
      }
      assertSilverEqualsTheSource(f);
    } finally {
      teardown(f);
    }
  }

  @Test
  void everyVersionAndDeleteBetweenRunsReachesBronzeSilverAndGoldHistory() {
    Fixture f = fixture("log-versions");
    try {
      succeeded(runAll(f.spec()));
      assertEquals(50L, count("SELECT count(*) FROM delta.`%s` WHERE _op = 'S'", f.spec().paths().bronze("devices")));
      assertSilverEqualsTheSource(f);

      executeIn(f.db(),
          "UPDATE lab.devices SET firmware = '1.1', \"Serial No\" = 'SN-7b', _rev = 2 WHERE device_id = 7",
          "UPDATE lab.devices SET firmware = '1.2' WHERE device_id = 7",
          "DELETE FROM lab.devices WHERE device_id = 7",
          "INSERT INTO lab.devices (device_id, name, firmware) VALUES (51, 'device 51', '2.0')",
          // money arrives as text: every digit of it, whatever the grouping and sign.
          "UPDATE lab.devices SET price = '-1234567.89' WHERE device_id = 8",
          "UPDATE lab.devices SET price = '0.05' WHERE device_id = 9",
          // Times the log writes in a form of its own: before the Gregorian reform, past year 9999.
          "UPDATE lab.devices SET updated_at = '1500-06-01 12:30:00+00' WHERE device_id = 10",
          "UPDATE lab.devices SET updated_at = '10000-01-01 00:00:00+00' WHERE device_id = 11");
      RunResult second = succeeded(runAll(f.spec()));
      assertEquals(List.of(List.of(8L, new java.math.BigDecimal("-1234567.89")), List.of(9L, new java.math.BigDecimal("0.05"))),
          sql("SELECT device_id, price FROM delta.`%s` WHERE price IS NOT NULL ORDER BY device_id",
              f.spec().paths().silver("devices")));
      assertEquals(8L, second.of(Stage.BRONZE).get(0).rowsWritten(), second.tables().toString());
      assertTrue(second.of(Stage.BRONZE).get(0).detail().matches("log position [0-9A-F]+/[0-9A-F]+"),
          second.of(Stage.BRONZE).get(0).detail());
      assertEquals(List.of("U", "U", "D"), sql("SELECT _op FROM delta.`%s` WHERE device_id = 7 AND _op <> 'S'"
          + " ORDER BY _lsn, _seq", f.spec().paths().bronze("devices")).stream().map(r -> (String) r.get(0)).toList());
      assertEquals(List.of(List.of("SN-7b")), sql("SELECT DISTINCT `Serial No` FROM delta.`%s` WHERE device_id = 7"
          + " AND _op = 'U'", f.spec().paths().bronze("devices")), "bronze keeps the source's column name");
      assertSilverEqualsTheSource(f);

      // Gold: the copy's version, both updates, and a tombstone at the delete's commit time.
      List<List<Object>> history = sql("SELECT firmware, is_deleted, valid_from FROM delta.`%s` WHERE device_id = 7"
          + " ORDER BY valid_from", f.spec().paths().gold("dim_device"));
      assertEquals(List.of("1.0", "1.1", "1.2", "1.2"), history.stream().map(r -> (String) r.get(0)).toList(),
          history.toString());
      assertEquals(List.of(false, false, false, true), history.stream().map(r -> (Boolean) r.get(1)).toList());
      Timestamp deletedAt = (Timestamp) sql("SELECT max(_commit_time) FROM delta.`%s` WHERE device_id = 7 AND _op = 'D'",
          f.spec().paths().bronze("devices")).get(0).get(0);
      assertEquals(deletedAt, history.get(3).get(2), "the tombstone starts at the delete's commit time");
      assertEquals(List.of(), Scd2Invariants.check(spark, f.spec().paths().gold("dim_device"),
          Scd2Spec.of(f.spec().gold().dimensions().get("device"))));

      long version = io.delta.tables.DeltaTable.forPath(spark, f.spec().paths().silver("devices")).history(1)
          .first().getLong(0);
      succeeded(runAll(f.spec()));
      assertEquals(version, io.delta.tables.DeltaTable.forPath(spark, f.spec().paths().silver("devices")).history(1)
          .first().getLong(0), "nothing new: silver is not written");
    } finally {
      teardown(f);
    }
  }

  @Test
  void aDimensionKeyedByAnotherColumnFollowsEachRowThroughTheLog() {
    // Members by serial number; the table is keyed by device_id, and the log's deletes carry only that.
    Fixture f = fixture("log-natural", "gold.dimensions.serial { source = devices, natural-key = [serial_no],"
        + " tracked = [firmware] }");
    try {
      succeeded(runAll(f.spec()));
      executeIn(f.db(),
          "UPDATE lab.devices SET \"Serial No\" = 'SN-7b' WHERE device_id = 7",
          "UPDATE lab.devices SET firmware = '1.1' WHERE device_id = 7",
          "DELETE FROM lab.devices WHERE device_id = 8",
          "DELETE FROM lab.devices WHERE device_id = 9",
          "INSERT INTO lab.devices (device_id, name, firmware, \"Serial No\") VALUES (9, 'device 9', '2.0', 'SN-9x')");
      succeeded(runAll(f.spec()));
      String dimension = f.spec().paths().gold("dim_serial");
      assertEquals(sql("SELECT serial_no, firmware FROM delta.`%s` WHERE NOT _is_deleted ORDER BY serial_no",
              f.spec().paths().silver("devices")),
          sql("SELECT serial_no, firmware FROM delta.`%s` WHERE is_current AND serial_no IS NOT NULL ORDER BY serial_no",
              dimension), "one current member per live serial number, with silver's values");
      // The serial a row left, the deleted row's and the one a row had before it was deleted and
      // inserted again: each a version, then a tombstone at the commit that ended it.
      for (String serial : List.of("SN-7", "SN-8", "SN-9")) {
        assertEquals(List.of(List.of(false, false), List.of(false, true)), sql("SELECT is_current, is_deleted"
            + " FROM delta.`%s` WHERE serial_no = '%s' ORDER BY valid_from", dimension, serial), serial);
      }
      Timestamp moved = (Timestamp) sql("SELECT min(_commit_time) FROM delta.`%s` WHERE device_id = 7 AND _op = 'U'",
          f.spec().paths().bronze("devices")).get(0).get(0);
      assertEquals(List.of(List.of(moved)), sql("SELECT valid_from FROM delta.`%s` WHERE serial_no = 'SN-7' AND is_deleted",
          dimension), "SN-7 ends when device 7 took another serial");
      assertEquals(List.of(List.of("1.0", false), List.of("1.1", true)), sql("SELECT firmware, is_current FROM delta.`%s`"
          + " WHERE serial_no = 'SN-7b' ORDER BY valid_from", dimension));
      assertEquals(List.of(), Scd2Invariants.check(spark, dimension, Scd2Spec.of(f.spec().gold().dimensions().get("serial"))));
    } finally {
      teardown(f);
    }
  }

  @Test
  void unchangedToastValuesTruncateAndAColumnAddedWhileReading() {
    Fixture f = fixture("log-awkward");
    try {
      String big = "x".repeat(200_000);
      executeIn(f.db(), "UPDATE lab.devices SET \"notes.text\" = '" + big + "' WHERE device_id = 3");
      succeeded(runAll(f.spec()));
      // Another column changes: the log sends notes as unchanged; silver keeps the value.
      executeIn(f.db(), "UPDATE lab.devices SET firmware = '9.9' WHERE device_id = 3");
      succeeded(runAll(f.spec()));
      assertEquals(List.of("notes.text"), sql("SELECT explode(_unchanged) FROM delta.`%s` WHERE device_id = 3 AND _op = 'U'",
          f.spec().paths().bronze("devices")).stream().map(r -> (String) r.get(0)).toList(), "bronze says which");
      assertEquals(List.of(List.of(200_000, "9.9")), sql("SELECT length(notes), firmware FROM delta.`%s`"
          + " WHERE device_id = 3", f.spec().paths().silver("devices")));
      assertSilverEqualsTheSource(f);

      executeIn(f.db(), "ALTER TABLE lab.devices ADD COLUMN site text",
          "INSERT INTO lab.devices (device_id, name, site) VALUES (60, 'device 60', 'north')",
          "TRUNCATE lab.devices",
          "INSERT INTO lab.devices (device_id, name, site) VALUES (61, 'device 61', 'south')");
      succeeded(runAll(f.spec()));
      assertEquals(List.of(List.of(61L, "south")), sql("SELECT device_id, site FROM delta.`%s` WHERE NOT _is_deleted",
          f.spec().paths().silver("devices")));
      assertEquals(50L, count("SELECT count(*) FROM delta.`%s` WHERE _is_deleted", f.spec().paths().silver("devices")),
          "the truncate deleted every key silver held (60 came and went between two runs)");
      assertEquals(0L, count("SELECT count(*) FROM delta.`%s` WHERE is_current AND device_id <> 61",
          f.spec().paths().gold("dim_device")), "gold: every device but 61 ended at the truncate, 60 included");
      assertEquals(2L, count("SELECT count(*) FROM delta.`%s` WHERE device_id = 60", f.spec().paths().gold("dim_device")),
          "60's version and its tombstone");
    } finally {
      teardown(f);
    }
  }

  @Test
  void aColumnWidenedWhileReadingFollowsIntoBronzeAndSilver() {
    Fixture f = fixture("log-widened");
    try {
      succeeded(runAll(f.spec()));
      // One batch holds rows of both shapes: the old ones are decoded as int, the later as bigint.
      executeIn(f.db(), "UPDATE lab.devices SET _rev = 2 WHERE device_id = 1",
          "ALTER TABLE lab.devices ALTER COLUMN _rev TYPE bigint",
          "UPDATE lab.devices SET _rev = 5000000000 WHERE device_id = 2");
      succeeded(runAll(f.spec()));
      assertEquals("bigint", spark.read().format("delta").load(f.spec().paths().bronze("devices")).schema()
          .apply("_rev").dataType().simpleString());
      assertEquals(List.of(List.of(1L, 2L), List.of(2L, 5000000000L)), sql("SELECT device_id, _rev FROM delta.`%s`"
          + " WHERE _op = 'U' ORDER BY device_id", f.spec().paths().bronze("devices")));
      assertSilverEqualsTheSource(f);
    } finally {
      teardown(f);
    }
  }

  @Test
  void aValueNoSparkTypeHoldsLandsAsTextIsQuarantinedAndTheLogGoesOn() {
    Fixture f = fixture("log-unrepresentable", "tables.probes { primary-key = [probe_id], mode = log }",
        "ALTER TABLE lab.devices ADD COLUMN reading numeric, ADD COLUMN seen date",
        "CREATE TABLE lab.probes (probe_id int PRIMARY KEY, label text)",
        "INSERT INTO lab.probes VALUES (1, 'one')");
    try {
      succeeded(runAll(f.spec()));
      // NaN and infinity are sound PostgreSQL values that no Spark decimal or date holds. The log
      // cannot be read again, so the rows land, and the capture goes on for both tables.
      executeIn(f.db(), "UPDATE lab.devices SET reading = 'NaN' WHERE device_id = 1",
          "UPDATE lab.devices SET seen = 'infinity', reading = 2.5 WHERE device_id = 2",
          "UPDATE lab.devices SET name = 'renamed' WHERE device_id = 3",
          // More fraction digits than decimal(38,18) holds: rounding would change the value.
          "UPDATE lab.devices SET reading = 0.1234567890123456789 WHERE device_id = 4",
          "UPDATE lab.probes SET label = 'uno' WHERE probe_id = 1");
      succeeded(runAll(f.spec()));
      assertEquals(List.of(Arrays.asList(1L, true, "NaN", null), Arrays.asList(2L, false, null, "infinity"),
          Arrays.asList(4L, true, "0.1234567890123456789", null)),
          sql("SELECT device_id, reading IS NULL, _unparsed['reading'], _unparsed['seen'] FROM delta.`%s`"
              + " WHERE _unparsed IS NOT NULL ORDER BY device_id", f.spec().paths().bronze("devices")),
          "bronze keeps each such value as PostgreSQL's text, its column NULL");
      assertEquals(List.of(Arrays.asList(1L, "NaN", null), Arrays.asList(2L, null, "infinity"),
          Arrays.asList(4L, "0.1234567890123456789", null)),
          sql("SELECT device_id, _rejected_values['reading'], _rejected_values['seen'] FROM delta.`%s`"
              + " ORDER BY device_id", f.spec().paths().quarantine("devices")), "silver quarantines those rows");
      assertEquals(List.of(Arrays.asList(1L, "device 1", null), Arrays.asList(2L, "device 2", null),
          Arrays.asList(3L, "renamed", null)), sql("SELECT device_id, name, seen FROM delta.`%s` WHERE device_id <= 3"
              + " ORDER BY device_id", f.spec().paths().silver("devices")), "silver keeps the versions before them");
      assertEquals(List.of(List.of("uno")), sql("SELECT label FROM delta.`%s`", f.spec().paths().silver("probes")));
      assertEquals(List.of(List.of(1L)), sql("SELECT count(*) FROM delta.`%s` WHERE device_id = 1",
          f.spec().paths().gold("dim_device")), "no version of the quarantined row in gold");

      // The source corrects them: the next versions are readable and go through.
      executeIn(f.db(), "UPDATE lab.devices SET reading = 1.5 WHERE device_id = 1",
          "UPDATE lab.devices SET seen = '2026-01-01' WHERE device_id = 2",
          "UPDATE lab.devices SET reading = 0.5 WHERE device_id = 4");
      succeeded(runAll(f.spec()));
      assertSilverEqualsTheSource(f);
    } finally {
      teardown(f);
    }
  }

  @Test
  void aColumnRenamedOrDroppedAfterItsChangesWereWrittenKeepsTheirValues() {
    Fixture f = fixture("log-renamed", "", "ALTER TABLE lab.devices ADD COLUMN colour text");
    try {
      succeeded(runAll(f.spec()));
      // Read after the ALTERs: the log still describes the first two updates with the old columns.
      executeIn(f.db(), "UPDATE lab.devices SET colour = 'red' WHERE device_id = 1",
          "UPDATE lab.devices SET price = '7.25' WHERE device_id = 2",
          "ALTER TABLE lab.devices RENAME COLUMN colour TO color",
          "ALTER TABLE lab.devices DROP COLUMN price",
          "UPDATE lab.devices SET color = 'blue' WHERE device_id = 3",
          "UPDATE lab.devices SET name = 'device four' WHERE device_id = 4");
      succeeded(runAll(f.spec()));
      java.math.BigDecimal price = new java.math.BigDecimal("7.25");
      List<List<Object>> expected = List.of(Arrays.asList(1L, "red", null, null), Arrays.asList(2L, null, null, price),
          Arrays.asList(3L, null, "blue", null), Arrays.asList(4L, null, null, null));
      assertEquals(expected, sql("SELECT device_id, colour, color, price FROM delta.`%s` WHERE _op = 'U' AND _seq > 0"
          + " ORDER BY device_id", f.spec().paths().bronze("devices")), "each change lands with the columns it was written with");
      // Device 1 holds 'red' under the new name since the rename, with no change in the log: as in
      // query mode, the row is read again and lands as a version (ordered first in the transaction
      // that first showed the new name). Device 3 changed since the rename: its change is exact.
      assertEquals(List.of(Arrays.asList(1L, null, "red")), sql("SELECT device_id, colour, color FROM delta.`%s`"
          + " WHERE _op = 'U' AND _seq = 0", f.spec().paths().bronze("devices")));
      assertEquals(List.of(Arrays.asList(1L, null, "red", null), Arrays.asList(2L, null, null, price),
          Arrays.asList(3L, null, "blue", null), Arrays.asList(4L, null, null, null)),
          sql("SELECT device_id, colour, color, price FROM delta.`%s` WHERE device_id <= 4 ORDER BY device_id",
              f.spec().paths().silver("devices")));
    } finally {
      teardown(f);
    }
  }

  @Test
  void aColumnDroppedAndAddedAgainReachesEveryRowUnchangedSince() {
    Fixture f = fixture("log-readded", "", "ALTER TABLE lab.devices ADD COLUMN colour text DEFAULT 'grey'");
    try {
      succeeded(runAll(f.spec()));
      // In one read, the log stops describing colour, then describes it again: added back without
      // a default, it is NULL in every row, where silver held 'grey'.
      executeIn(f.db(), "ALTER TABLE lab.devices DROP COLUMN colour",
          "UPDATE lab.devices SET name = 'device one' WHERE device_id = 1",
          "ALTER TABLE lab.devices ADD COLUMN colour text",
          "UPDATE lab.devices SET colour = 'red' WHERE device_id = 2");
      succeeded(runAll(f.spec()));
      assertSilverEqualsTheSource(f);

      // Across two runs: dropped in one, added again with a default in the next.
      executeIn(f.db(), "ALTER TABLE lab.devices DROP COLUMN colour",
          "UPDATE lab.devices SET name = 'device three' WHERE device_id = 3");
      succeeded(runAll(f.spec()));
      executeIn(f.db(), "ALTER TABLE lab.devices ADD COLUMN colour text DEFAULT 'blue'",
          "UPDATE lab.devices SET name = 'device four' WHERE device_id = 4");
      succeeded(runAll(f.spec()));
      assertSilverEqualsTheSource(f);
      assertEquals(50L, count("SELECT count(*) FROM delta.`%s` WHERE NOT _is_deleted AND colour = 'blue'",
          f.spec().paths().silver("devices")));
      String dimension = f.spec().paths().gold("dim_device");
      assertEquals(List.of(List.of("device four")), sql("SELECT name FROM delta.`%s` WHERE device_id = 4 AND is_current",
          dimension));
      assertEquals(List.of(), Scd2Invariants.check(spark, dimension, Scd2Spec.of(f.spec().gold().dimensions().get("device"))));

      // Read once: the next run adds only its own change.
      long bronzeRows = count("SELECT count(*) FROM delta.`%s`", f.spec().paths().bronze("devices"));
      executeIn(f.db(), "UPDATE lab.devices SET name = 'device five' WHERE device_id = 5");
      succeeded(runAll(f.spec()));
      assertEquals(bronzeRows + 1, count("SELECT count(*) FROM delta.`%s`", f.spec().paths().bronze("devices")));
    } finally {
      teardown(f);
    }
  }

  @Test
  void aColumnAddedWithADefaultReachesTheRowsNoChangeTouchedSince() {
    Fixture f = fixture("log-default");
    try {
      succeeded(runAll(f.spec()));
      // Read after the ALTER: device 1's update comes before it in the log, device 4's after it;
      // 60 is inserted after it and 7 deleted; the other rows were never touched since the ALTER.
      executeIn(f.db(), "UPDATE lab.devices SET firmware = '1.1' WHERE device_id = 1",
          "ALTER TABLE lab.devices ADD COLUMN region text NOT NULL DEFAULT 'eu', ADD COLUMN tier int DEFAULT 3,"
              + " ADD COLUMN site text",
          "UPDATE lab.devices SET region = 'us', site = 'north' WHERE device_id = 4",
          "INSERT INTO lab.devices (device_id, name, region, tier) VALUES (60, 'device 60', 'apac', NULL)",
          "DELETE FROM lab.devices WHERE device_id = 7");
      succeeded(runAll(f.spec()));
      assertSilverEqualsTheSource(f);
      assertEquals(List.of(List.of("eu", 3, 48L), List.of("us", 3, 1L)), sql("SELECT region, tier, count(*) FROM delta.`%s`"
          + " WHERE NOT _is_deleted AND device_id <> 60 GROUP BY region, tier ORDER BY region",
          f.spec().paths().silver("devices")), "every row the ALTER found holds its defaults");
      // Bronze: one version per row untouched since the ALTER, ordered before the first change that
      // showed the new columns; device 1's earlier update keeps its shape (no region then).
      assertEquals(48L, count("SELECT count(*) FROM delta.`%s` WHERE _op = 'U' AND _seq = 0 AND region = 'eu'",
          f.spec().paths().bronze("devices")));
      assertEquals(Arrays.asList("1.1", null), sql("SELECT firmware, region FROM delta.`%s` WHERE device_id = 1 AND _op = 'U'"
          + " ORDER BY _lsn, _seq", f.spec().paths().bronze("devices")).get(0));
      // Gold tracks name and firmware only: the defaults add no version, and its history holds.
      assertEquals(1L, count("SELECT count(*) FROM delta.`%s` WHERE device_id = 5", f.spec().paths().gold("dim_device")));
      assertEquals(List.of(), Scd2Invariants.check(spark, f.spec().paths().gold("dim_device"),
          Scd2Spec.of(f.spec().gold().dimensions().get("device"))));

      // Landed once: the next runs read past the ALTER and add nothing.
      long bronzeRows = count("SELECT count(*) FROM delta.`%s`", f.spec().paths().bronze("devices"));
      executeIn(f.db(), "UPDATE lab.devices SET tier = 4 WHERE device_id = 5");
      succeeded(runAll(f.spec()));
      assertEquals(bronzeRows + 1, count("SELECT count(*) FROM delta.`%s`", f.spec().paths().bronze("devices")));
      assertSilverEqualsTheSource(f);
    } finally {
      teardown(f);
    }
  }

  @Test
  void aPartitionedTableIsPublishedAndCapturedAsItsParent() {
    Fixture f = fixture("log-partitioned", "tables.readings { primary-key = [id, at], mode = log }",
        "CREATE TABLE lab.readings (id bigint, at timestamptz, value int, PRIMARY KEY (id, at))"
            + " PARTITION BY RANGE (at)",
        "CREATE TABLE lab.readings_1 PARTITION OF lab.readings FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')",
        "CREATE TABLE lab.readings_2 PARTITION OF lab.readings FOR VALUES FROM ('2025-02-01') TO ('2025-03-01')",
        "INSERT INTO lab.readings SELECT i, timestamptz '2025-01-01' + i * interval '1 hour', i FROM generate_series(1, 100) i");
    try {
      // Setting up again changes nothing, and says what the log cannot show of a partitioned table.
      try (Lakehouse lakehouse = new Lakehouse(f.spec())) {
        List<String> lines = new LogSetup(lakehouse.source(), f.spec().log()).setup(f.spec().logTables());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("note: lab.readings is partitioned")
            && l.contains("TRUNCATE, DETACH or DROP of one partition")), String.join("\n", lines));
      }
      succeeded(runAll(f.spec()));
      // A row moving to the other partition, an update and a delete in each, an insert.
      executeIn(f.db(), "UPDATE lab.readings SET at = at + interval '40 days' WHERE id = 1",
          "UPDATE lab.readings SET value = -2 WHERE id IN (2, 99)",
          "DELETE FROM lab.readings WHERE id IN (3, 98)",
          "INSERT INTO lab.readings VALUES (1000, '2025-02-20', 7)",
          // Added on the parent, with a default every partition's rows then hold: a constant (no
          // row written) and a volatile one (every row rewritten by the ALTER, still not in the log).
          "ALTER TABLE lab.readings ADD COLUMN unit text DEFAULT 'kWh'",
          "ALTER TABLE lab.readings ADD COLUMN tag uuid DEFAULT gen_random_uuid()",
          "UPDATE lab.readings SET unit = 'Wh' WHERE id = 4");
      succeeded(runAll(f.spec()));
      PgText.assertSameLines(PgText.query(urlOf(f.db()), "SELECT id, at, value, unit, tag FROM lab.readings"),
          PgText.lines(spark.read().format("delta").load(f.spec().paths().silver("readings"))
              .where("NOT _is_deleted").select("id", "at", "value", "unit", "tag").collectAsList()), "silver.readings");
    } finally {
      teardown(f);
    }
  }

  @Test
  void aGeneratedColumnIsLeftOutRatherThanTurnedNullByTheLog() {
    // pgoutput (up to PostgreSQL 17) leaves generated columns out of every change: read from the
    // initial copy only, area would turn NULL at each row's first update.
    Fixture f = fixture("log-generated", "tables.boxes { primary-key = [id], mode = log }",
        "CREATE TABLE lab.boxes (id int PRIMARY KEY, w int NOT NULL, h int NOT NULL,"
            + " area int GENERATED ALWAYS AS (w * h) STORED)",
        "INSERT INTO lab.boxes (id, w, h) SELECT i, i, 2 FROM generate_series(1, 20) i");
    try {
      succeeded(runAll(f.spec()));
      executeIn(f.db(), "UPDATE lab.boxes SET w = 100 WHERE id = 1", "INSERT INTO lab.boxes (id, w, h) VALUES (50, 5, 5)",
          "DELETE FROM lab.boxes WHERE id = 2");
      succeeded(runAll(f.spec()));
      Dataset<Row> silver = spark.read().format("delta").load(f.spec().paths().silver("boxes"));
      PgText.assertSameLines(PgText.query(urlOf(f.db()), "SELECT id, w, h FROM lab.boxes"),
          PgText.lines(silver.where("NOT _is_deleted").select("id", "w", "h").collectAsList()), "silver.boxes");
      assertFalse(List.of(silver.columns()).contains("area"), "silver leaves the generated column out");
      assertFalse(List.of(spark.read().format("delta").load(f.spec().paths().bronze("boxes")).columns()).contains("area"),
          "bronze leaves the generated column out");
    } finally {
      teardown(f);
    }
  }

  @Test
  void theInitialCopyHandsOverToTheLogUnderConcurrentWrites() throws Exception {
    Fixture f = fixture("log-handover");
    AtomicBoolean writing = new AtomicBoolean(true);
    Thread writer = new Thread(() -> {
      int i = 0;
      while (writing.get()) {
        i++;
        executeIn(f.db(), "UPDATE lab.devices SET firmware = 'w" + i + "' WHERE device_id = " + (1 + i % 50),
            "INSERT INTO lab.devices (device_id, name) VALUES (" + (1000 + i) + ", 'new " + i + "')");
      }
    });
    writer.start();
    try {
      succeeded(run(f.spec(), Stage.BRONZE));
      succeeded(run(f.spec(), Stage.BRONZE));
      writing.set(false);
      writer.join();
      succeeded(runAll(f.spec()));
      assertSilverEqualsTheSource(f);
      assertEquals(0L, count("SELECT count(*) FROM (SELECT device_id, _lsn, _seq FROM delta.`%s` WHERE _op <> 'S'"
          + " GROUP BY 1, 2, 3 HAVING count(*) > 1)", f.spec().paths().bronze("devices")), "no change landed twice");
    } finally {
      writing.set(false);
      writer.join();
      teardown(f);
    }
  }

  @Test
  void streamBringsChangesToSilverWhileItRunsAndStopsCleanly() throws Exception {
    // Few files allowed: every micro-batch adds files to bronze and the control tables.
    Fixture f = fixture("log-stream", "maintain.max-files = 3");
    AtomicBoolean stop = new AtomicBoolean();
    Thread streaming = null;
    try {
      List<String> progress = new java.util.concurrent.CopyOnWriteArrayList<>();
      java.util.concurrent.atomic.AtomicReference<Streaming.Summary> summary = new java.util.concurrent.atomic.AtomicReference<>();
      streaming = new Thread(() -> {
        try (Lakehouse lakehouse = new Lakehouse(f.spec())) {
          summary.set(new Streaming(lakehouse).run(stop::get, progress::add));
        }
      });
      streaming.start();
      waitFor(() -> count("SELECT count(*) FROM delta.`%s`", f.spec().paths().silver("devices")) == 50, 120);
      executeIn(f.db(), "UPDATE lab.devices SET name = 'renamed' WHERE device_id = 9");
      // How fast is bench log's to measure; here the change must arrive while the stream runs.
      waitFor(() -> count("SELECT count(*) FROM delta.`%s` WHERE name = 'renamed'", f.spec().paths().silver("devices")) == 1, 180);
      // The source ends the stream's connection, as a restart does: the stream reads the log again.
      executeIn(f.db(), "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
          + " WHERE database = current_database() AND active");
      executeIn(f.db(), "UPDATE lab.devices SET name = 'after the break' WHERE device_id = 10");
      waitFor(() -> count("SELECT count(*) FROM delta.`%s` WHERE name = 'after the break'",
          f.spec().paths().silver("devices")) == 1, 180);
      assertTrue(streaming.isAlive(), "the stream goes on after losing the source");
      stop.set(true);
      streaming.join(120_000);
      assertFalse(streaming.isAlive(), "the stream stopped");
      assertEquals(null, summary.get().failure(), "a connection lost and found again is no failure");
      assertSilverEqualsTheSource(f);
      assertFalse(progress.isEmpty());
      // Every landed batch is in the run log, though its entry waits for the next silver or gold commit.
      assertEquals(sql("SELECT DISTINCT _batch_id FROM delta.`%s` ORDER BY 1", f.spec().paths().bronze("devices")),
          sql("SELECT DISTINCT batch_id FROM delta.`%s` WHERE job = 'bronze' AND table_name = 'devices' ORDER BY 1",
              f.spec().paths().control("runs")), "bronze batches in the run log");
      // So is every silver cycle, whose entries wait for the next gold cycle's commit.
      assertEquals(dev.lakehouse.control.Commits.lastBatch(spark, f.spec().paths().silver("devices")),
          count("SELECT max(batch_id) FROM delta.`%s` WHERE job = 'silver' AND table_name = 'devices'"
              + " AND status = 'succeeded'", f.spec().paths().control("runs")), "silver's last batch in the run log");
      // The stream compacts as it goes: no table ends past maintain.max-files.
      assertTrue(progress.stream().anyMatch(p -> p.startsWith("maintain: _control.runs compacted")), progress.toString());
      Maintenance maintenance = new Maintenance(spark, f.spec());
      assertEquals(List.of(), LakehouseCatalog.discover(spark, f.spec().paths()).stream()
          .filter(t -> maintenance.needsCompaction(t.path())).map(LakehouseCatalog.TableRef::qualifiedName).toList());
    } finally {
      // A failed assertion must not leave the stream running into the other tests, holding the slot.
      stop.set(true);
      if (streaming != null) {
        streaming.join(120_000);
      }
      teardown(f);
    }
  }

  private static void waitFor(java.util.function.BooleanSupplier condition, int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < deadline) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (Exception e) {
        // The table may not exist yet.
      }
      Thread.sleep(250);
    }
    throw new AssertionError("condition not met within " + seconds + " s");
  }
}
