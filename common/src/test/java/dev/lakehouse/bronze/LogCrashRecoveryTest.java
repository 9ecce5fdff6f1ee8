package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.Lakehouse;
import dev.lakehouse.gold.Scd2Invariants;
import dev.lakehouse.gold.Scd2Spec;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.TableSpec;
import dev.lakehouse.testing.ChildLakehouse;
import dev.lakehouse.testing.EngineTestBase;
import dev.lakehouse.testing.PgText;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Kills a lakehouse reading a table in {@code mode = log} (with a gold SCD2 dimension on it) in a
 * child JVM, at each crash point of a log run and at a random moment of {@code stream}, runs it
 * again without the crash, and compares bronze, silver and the dimension's history with a
 * reference lakehouse that processed the same changes uninterrupted.
 *
 * <p>One source database and publication; one slot per lakehouse, so every lakehouse reads the
 * same log (the same commit positions). The reference loads the table, then a first set of changes
 * (an update, an insert and update in one transaction, a delete); its lakehouse directory is then
 * copied once per crash scenario (their slots were created before any of it, so they can read
 * from the copied position). Then the second set of changes: the row updated before is updated
 * again and deleted, with a transaction of a few thousand rows between the two (so they land in
 * different micro-batches), an insert and update in one transaction, and a last update. The
 * reference processes them in one run; each copy is run in a child that halts or is killed, then
 * run again to completion here.
 */
class LogCrashRecoveryTest extends EngineTestBase {

  private static final String MODE_STREAM = "stream";
  /** Rows of the big transaction: inserted, and updated. */
  private static final int BIG_INSERTS = 3000;
  private static final int BIG_UPDATES = 100;
  /** Phase 2's changes, as bronze rows: c (1), e (3), f (3100), d (1), g (1). */
  private static final long PHASE_TWO_CHANGES = 1 + 3 + BIG_INSERTS + BIG_UPDATES + 1 + 1;

  /** A lakehouse of this test: its specification file, the specification, and its slot. */
  private record Setup(String name, Path specFile, LakehouseSpec spec, String slot) {
    String bronze() {
      return spec.paths().bronze("devices");
    }

    String silver() {
      return spec.paths().silver("devices");
    }

    String dimension() {
      return spec.paths().gold("dim_device");
    }
  }

  private static String db;
  private static String publication;
  private static Setup reference;
  private static final Map<String, Setup> CRASHED = new LinkedHashMap<>();
  /** Commit positions: the last change of phase 1, the first and last of phase 2. */
  private static long phaseOneLast;
  private static long phaseTwoFirst;
  private static long phaseTwoLast;

  @BeforeAll
  static void sourceReferenceAndCopies() {
    long started = System.nanoTime();
    db = cloneDatabase("template1");
    executeIn(db,
        "CREATE SCHEMA lab",
        "CREATE TABLE lab.devices (device_id bigint PRIMARY KEY, name text NOT NULL, firmware text,"
            + " notes text, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO lab.devices (device_id, name, firmware, notes) SELECT i, 'device ' || i, '1.0', 'n' || i"
            + " FROM generate_series(1, 200) i");
    String prefix = "lh_crash_" + ProcessHandle.current().pid();
    publication = prefix;
    // Every slot before any change: each can read the log from the reference's positions on.
    reference = setup("reference", prefix + "_ref");
    int i = 0;
    for (String scenario : List.of("log.after-bronze", "log.after-watermarks", "silver.after-merge",
        "gold.after-dimension", MODE_STREAM)) {
      CRASHED.put(scenario, setup("crash-" + scenario.replace('.', '-'), prefix + "_" + (++i)));
    }

    succeeded(runAll(reference.spec()));
    // Phase 1: an update, an insert and an update of it in one transaction, a delete.
    executeIn(db,
        "UPDATE lab.devices SET firmware = '1.1' WHERE device_id = 7",
        "DO $$ BEGIN INSERT INTO lab.devices (device_id, name, firmware) VALUES (1001, 'device 1001', '1.0');"
            + " UPDATE lab.devices SET firmware = '1.5' WHERE device_id = 1001; END $$",
        "DELETE FROM lab.devices WHERE device_id = 20");
    succeeded(runAll(reference.spec()));
    phaseOneLast = count("SELECT max(_lsn) FROM delta.`%s` WHERE _op <> 'S'", reference.bronze());
    for (Setup copy : CRASHED.values()) {
      copyLakehouse(lakehouseRoot.resolve(reference.name()), copy.name());
    }

    // Phase 2: c, e, f, d, g (see the class comment).
    executeIn(db,
        "UPDATE lab.devices SET firmware = '1.2' WHERE device_id = 7",
        "DO $$ BEGIN INSERT INTO lab.devices (device_id, name, firmware) VALUES (1002, 'device 1002', '2.0');"
            + " UPDATE lab.devices SET firmware = '2.1' WHERE device_id = 1002;"
            + " UPDATE lab.devices SET name = 'renamed 3' WHERE device_id = 3; END $$",
        "DO $$ BEGIN INSERT INTO lab.devices (device_id, name, firmware, notes) SELECT i, 'device ' || i, '3.0',"
            + " repeat('x', 40) FROM generate_series(2001, " + (2000 + BIG_INSERTS) + ") i;"
            + " UPDATE lab.devices SET firmware = '3.1' WHERE device_id BETWEEN 100 AND " + (99 + BIG_UPDATES) + "; END $$",
        "DELETE FROM lab.devices WHERE device_id = 7",
        "UPDATE lab.devices SET name = 'renamed 9' WHERE device_id = 9");
    succeeded(runAll(reference.spec()));
    phaseTwoFirst = count("SELECT min(_lsn) FROM delta.`%s` WHERE _op <> 'S' AND _lsn > %d", reference.bronze(),
        phaseOneLast);
    phaseTwoLast = count("SELECT max(_lsn) FROM delta.`%s`", reference.bronze());

    // The reference itself is right: every change once, silver equal to the source, history of 7.
    assertEquals(PHASE_TWO_CHANGES, count("SELECT count(*) FROM delta.`%s` WHERE _lsn > %d", reference.bronze(),
        phaseOneLast), "phase 2's changes in the reference's bronze");
    assertEquals(0L, count("SELECT count(*) FROM (SELECT device_id, _op, _lsn, _seq FROM delta.`%s`"
        + " GROUP BY ALL HAVING count(*) > 1)", reference.bronze()));
    assertTrue(count("SELECT count(DISTINCT _batch_id) FROM delta.`%s` WHERE _lsn > %d AND device_id = 7",
        reference.bronze(), phaseOneLast) == 2, "7's update and delete landed in different micro-batches");
    assertSilverEqualsTheSource(reference);
    assertEquals(List.of("1.0|false", "1.1|false", "1.2|false", "1.2|true"), lines(
        "SELECT concat_ws('|', firmware, is_deleted) FROM delta.`%s` WHERE device_id = 7 ORDER BY valid_from",
        reference.dimension()), "device 7's history in the reference");
    System.err.printf("LogCrashRecoveryTest: reference and copies ready in %.1f s%n", (System.nanoTime() - started) / 1e9);
  }

  @AfterAll
  static void dropSlotsAndPublication() {
    List<Setup> all = new ArrayList<>(CRASHED.values());
    if (reference != null) {
      all.add(reference);
    }
    for (Setup s : all) {
      try (Lakehouse lakehouse = new Lakehouse(s.spec())) {
        new LogSetup(lakehouse.source(), s.spec().log()).teardown();
      } catch (RuntimeException e) {
        System.err.println("LogCrashRecoveryTest: teardown of " + s.slot() + ": " + e.getMessage());
      }
    }
    CRASHED.clear();
  }

  /** A lakehouse reading the test's table through its own slot; the slot created now. */
  private static Setup setup(String name, String slot) {
    String hocon = """
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres, password = "", schema = lab }
          spark {
            master = "local[2]"
            conf {
              "spark.sql.shuffle.partitions" = "2"
              "spark.databricks.delta.snapshotPartitions" = "1"
              "spark.ui.enabled" = "false"
              "spark.driver.host" = "127.0.0.1"
              "spark.driver.bindAddress" = "127.0.0.1"
              # Small data: interpreting plans costs less than compiling them (as EngineTestBase does
              # for this JVM's session, and restores after the class).
              "spark.sql.codegen.wholeStage" = "false"
              "spark.sql.codegen.factoryMode" = "NO_CODEGEN"
            }
          }
          # A micro-batch ends after any transaction that took at least 1 ms to read; the big one
          # is spilled to disk (more than buffer-rows).
          log { publication = %s, slot = %s, trigger = 1ms, gold-trigger = 2s, buffer-rows = 1000 }
          tables.devices { primary-key = [device_id], mode = log }
          gold.dimensions.device { source = devices, natural-key = [device_id], tracked = [name, firmware] }
        }
        """.formatted(lakehouseRoot.resolve(name), urlOf(db), publication, slot);
    try {
      Path file = lakehouseRoot.resolve("specs").resolve(name + ".conf");
      Files.createDirectories(file.getParent());
      Files.writeString(file, hocon);
      LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseFile(file.toFile())).spec();
      try (Lakehouse lakehouse = new Lakehouse(spec)) {
        new LogSetup(lakehouse.source(), spec.log()).setup(spec.logTables());
      }
      return new Setup(name, file, spec, slot);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @ParameterizedTest(name = "crash at {0}")
  @ValueSource(strings = {"log.after-bronze", "log.after-watermarks", "silver.after-merge", "gold.after-dimension"})
  void aRunHaltedAtACrashPointThenRunAgainEqualsTheUninterruptedRun(String point) throws Exception {
    Setup s = CRASHED.get(point);
    assertTrue(confirmed(s.slot()) < phaseTwoFirst, "the copy's slot has confirmed nothing of phase 2");

    ChildLakehouse.Child child = child(s, Optional.of(point), "run");
    int exit = child.await(Duration.ofMinutes(6));
    assertEquals(ChildLakehouse.KILLED, exit, "the child halted\n" + child.tail(60));
    assertTrue(child.output().contains(ChildLakehouse.HALTING + point), "halted at " + point + "\n" + child.tail(60));
    assertFalse(child.output().contains(ChildLakehouse.FINISHED), child.tail(20));

    // Where the crash left the lakehouse: the point was reached with phase 2 under way.
    long landed = count("SELECT count(*) FROM delta.`%s` WHERE _lsn > %d", s.bronze(), phaseOneLast);
    long afterCrash = confirmed(s.slot());
    switch (point) {
      case "log.after-bronze", "log.after-watermarks" -> {
        assertTrue(landed > 0 && landed < PHASE_TWO_CHANGES, "the first micro-batch of phase 2 landed: " + landed);
        assertTrue(afterCrash < phaseTwoFirst, "the slot confirmed nothing of what the crashed run landed: "
            + LogSequenceNumber.valueOf(afterCrash) + " vs first change at " + LogSequenceNumber.valueOf(phaseTwoFirst));
      }
      case "silver.after-merge" -> {
        assertEquals(PHASE_TWO_CHANGES, landed);
        assertEquals(1L, count("SELECT count(*) FROM delta.`%s` WHERE device_id = 7 AND _is_deleted", s.silver()),
            "silver's MERGE committed");
        assertEquals(0L, count("SELECT count(*) FROM delta.`%s` WHERE device_id = 7 AND is_deleted", s.dimension()),
            "gold did not run");
      }
      case "gold.after-dimension" -> {
        assertEquals(PHASE_TWO_CHANGES, landed);
        assertEquals(1L, count("SELECT count(*) FROM delta.`%s` WHERE device_id = 7 AND is_deleted", s.dimension()),
            "the dimension's MERGE committed");
      }
      default -> throw new IllegalArgumentException(point);
    }
    if (!point.startsWith("log.")) {
      // The bronze stage finished in the crashed run, so it confirmed its position then.
      assertTrue(afterCrash > phaseTwoLast, "bronze finished before the crash and confirmed its position");
    }

    succeeded(runAll(s.spec()));
    assertTrue(confirmed(s.slot()) > phaseTwoLast, "the crash-free run confirmed past the last change");
    assertSameAsTheReference(s, true);
  }

  @Test
  void aStreamKilledAtARandomMomentThenRunAgainEqualsTheUninterruptedRun() throws Exception {
    Setup s = CRASHED.get(MODE_STREAM);
    long seed = Long.getLong("logcrash.seed", System.nanoTime());
    long delay = new Random(seed).nextLong(15_000);
    System.err.printf("LogCrashRecoveryTest: stream killed %d ms after it started (seed %d; -Dlogcrash.seed=%d repeats it)%n",
        delay, seed, seed);

    ChildLakehouse.Child child = child(s, Optional.empty(), "stream", "600");
    assertTrue(child.awaitLine(ChildLakehouse.STREAMING, Duration.ofMinutes(3)), "the stream started\n" + child.tail(60));
    Thread.sleep(delay);
    assertTrue(child.process().isAlive(), "still streaming when killed\n" + child.tail(60));
    assertEquals(ChildLakehouse.KILLED, child.kill(), "killed as kill -9 would");
    String progress = child.output().lines().filter(l -> l.startsWith("child: ")).reduce("", (a, b) -> a + "\n  " + b);
    System.err.println("LogCrashRecoveryTest: the stream had done:" + progress);

    succeeded(runAll(s.spec()));
    assertTrue(confirmed(s.slot()) > phaseTwoLast, "the crash-free run confirmed past the last change");
    // Gold ran in cycles of the stream: new surrogate keys continue from the maximum at each run's
    // start (Scd2Merge), so they depend on how the changes were split into runs.
    assertSameAsTheReference(s, false);
  }

  private static ChildLakehouse.Child child(Setup s, Optional<String> crashAt, String... mode) throws IOException {
    Path logs = lakehouseRoot.resolve("child-logs");
    Files.createDirectories(logs);
    Path log = logs.resolve(s.name() + ".log");
    System.err.println("LogCrashRecoveryTest: child output in " + log);
    return ChildLakehouse.start(s.specFile(), log, lakehouseRoot.resolve("child-tmp").resolve(s.name()), crashAt, mode);
  }

  private static void assertSameAsTheReference(Setup s, boolean sameSurrogateKeys) {
    // Bronze: every change exactly once, as the reference landed it (batch numbers aside: a
    // micro-batch ends after a transaction that took 1 ms to read, which timing decides).
    String bronze = "SELECT concat_ws('|', device_id, _op, _lsn, _seq, name, firmware, notes, updated_at, _commit_time,"
        + " _unchanged) FROM delta.`%s`";
    assertEquals(0L, count("SELECT count(*) FROM (SELECT device_id, _op, _lsn, _seq FROM delta.`%s`"
        + " GROUP BY ALL HAVING count(*) > 1)", s.bronze()), "no change landed twice in " + s.name());
    assertSameLines(lines(bronze, reference.bronze()), lines(bronze, s.bronze()), "bronze of " + s.name());

    // Silver: equal to the source, and to the reference's (tombstones included).
    assertSilverEqualsTheSource(s);
    String silver = "SELECT concat_ws('|', *) FROM (SELECT * EXCEPT (_batch_id) FROM delta.`%s`)";
    assertSameLines(lines(silver, reference.silver()), lines(silver, s.silver()), "silver of " + s.name());

    // Gold: the same versions with the same intervals and flags.
    String history = "SELECT concat_ws('|', device_id, name, firmware, valid_from, valid_to, is_current, is_deleted,"
        + " is_inferred, row_hash" + (sameSurrogateKeys ? ", device_sk" : "") + ") FROM delta.`%s`";
    assertSameLines(lines(history, reference.dimension()), lines(history, s.dimension()), "dim_device of " + s.name());
    assertEquals(List.of(), Scd2Invariants.check(spark, s.dimension(),
        Scd2Spec.of(s.spec().gold().dimensions().get("device"))));
  }

  private static void assertSilverEqualsTheSource(Setup s) {
    TableSpec devices = s.spec().table("devices").orElseThrow();
    PgText.assertSameLines(PgText.sourceRows(urlOf(db), devices, "lab"),
        PgText.silverRows(spark, s.silver(), devices, urlOf(db), "lab"), "silver.devices of " + s.name());
  }

  private static void assertSameLines(List<String> expected, List<String> actual, String what) {
    if (!expected.equals(actual)) {
      List<String> missing = new ArrayList<>(expected);
      actual.forEach(missing::remove);
      List<String> extra = new ArrayList<>(actual);
      expected.forEach(extra::remove);
      throw new AssertionError(what + ": " + expected.size() + " rows expected, " + actual.size() + " found; missing "
          + missing.subList(0, Math.min(20, missing.size())) + ", unexpected " + extra.subList(0, Math.min(20, extra.size())));
    }
  }

  /** A query's rows (one string column) as sorted lines. */
  private static List<String> lines(String query, Object... args) {
    List<String> lines = new ArrayList<>();
    for (Row row : spark.sql(String.format(query, args)).collectAsList()) {
      lines.add(row.isNullAt(0) ? "\\N" : row.getString(0));
    }
    lines.sort(null);
    return lines;
  }

  /** The slot's confirmed position on the source. */
  private static long confirmed(String slot) throws SQLException {
    try (Connection c = DriverManager.getConnection(urlOf(db), "postgres", "");
         PreparedStatement s = c.prepareStatement("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = ?")) {
      s.setString(1, slot);
      try (ResultSet rs = s.executeQuery()) {
        assertTrue(rs.next(), "slot " + slot + " exists");
        return LogSequenceNumber.valueOf(rs.getString(1)).asLong();
      }
    }
  }
}
