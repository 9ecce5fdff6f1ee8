package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.control.LakehouseLock;
import dev.lakehouse.control.Watermarks;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.SpecException;
import dev.lakehouse.testing.EngineTestBase;
import io.delta.tables.DeltaTable;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each kind of bad input gives one clear line, fails only what it must, and writes nothing half-way. */
class BronzeBadInputTest extends EngineTestBase {

  private static final String PASSWORD = "correct-horse";

  @BeforeAll
  static void createTables() {
    sourceExecute(
        "CREATE TABLE good (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO good (id) SELECT generate_series(1, 3)",
        "CREATE ROLE etl_reader LOGIN PASSWORD '" + PASSWORD + "'",
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO etl_reader");
  }

  private static LakehouseSpec good(String root, String source) {
    return spec(root, source + "\ntables.good { primary-key = [id], mode = incremental, cursor = updated_at }");
  }

  /** Bronze on its own, as the pipeline calls it, for the failures the pipeline's source check would catch first. */
  private static BronzeLoader.TableResult load(LakehouseSpec spec, String table) {
    return new BronzeLoader(spark, spec.source(), spec.paths()).load("bad", spec.tables(List.of(table))).get(0);
  }

  private static void assertOneLineWithoutPassword(String message) {
    assertFalse(message.contains(PASSWORD), message);
    assertFalse(message.contains("\n"), message);
  }

  @Test
  void anUnreachableHostNamesTheUrlAndTheUserButNeverThePassword() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    String url = "jdbc:postgresql://127.0.0.1:" + closed + "/" + database;
    LakehouseSpec spec = good("unreachable", "source { url = \"" + url + "?password=" + PASSWORD
        + "\", user = etl_reader, password = " + PASSWORD + ", connect-timeout = 2s }");
    LakehouseException e = assertThrows(LakehouseException.class, () -> run(spec, Stage.BRONZE));
    assertTrue(e.getMessage().startsWith("Cannot reach the source database " + url + "?password=*** as user 'etl_reader': "),
        e.getMessage());
    assertOneLineWithoutPassword(e.getMessage());
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().control("runs")), "nothing written");
  }

  @Test
  void aWrongPasswordIsAnAuthenticationErrorThatNeverShowsThePassword() {
    LakehouseSpec spec = good("password", "source { user = etl_reader, password = \"Tr0ub4dor&3\" }");
    LakehouseException e = assertThrows(LakehouseException.class, () -> run(spec, Stage.BRONZE));
    assertTrue(e.getMessage().startsWith("Authentication failed for " + sourceUrl() + " as user 'etl_reader': "),
        e.getMessage());
    assertFalse(e.getMessage().contains("Tr0ub4dor"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().control("runs")), "nothing written");
  }

  /**
   * Timeouts a DBA sets for interactive users (here absurdly short) do not cut a run short: the
   * lakehouse's sessions lift statement_timeout and idle_in_transaction_session_timeout, as
   * pg_dump's do, since a large COPY outlasts any statement timeout and the session holding the
   * exported snapshot waits idle in its transaction while the readers copy.
   */
  @Test
  void aRolesShortTimeoutsDoNotCutTheReadShort() {
    sourceExecute(
        "CREATE ROLE etl_hurried LOGIN PASSWORD '" + PASSWORD + "'",
        "GRANT SELECT ON good TO etl_hurried",
        "ALTER ROLE etl_hurried SET statement_timeout = '1ms'",
        "ALTER ROLE etl_hurried SET idle_in_transaction_session_timeout = '1ms'");
    LakehouseSpec spec = good("hurried", "source { user = etl_hurried, password = \"" + PASSWORD + "\" }");
    assertEquals(3L, outcome(run(spec, Stage.BRONZE), Stage.BRONZE, "good").rowsWritten());
  }

  @Test
  void aMissingTableOrColumnIsNamedWithItsSchemaAndTheColumnsThereAre() {
    LakehouseSpec spec = spec("missing", """
        tables {
          ghosts { primary-key = [id] }
          good { primary-key = [id], mode = incremental, cursor = modified_at }
        }""");
    SpecException e = assertThrows(SpecException.class, () -> run(spec, Stage.BRONZE));
    assertEquals(List.of(
        "lakehouse.tables.ghosts: Source table public.ghosts does not exist",
        "lakehouse.tables.good.cursor: no column modified_at in public.good; its columns are [id, updated_at]"),
        e.problems(), "checked against the source before anything runs");
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().control("runs")), "nothing written");

    // Bronze itself says the same per table, should it meet them (the source changed since the check).
    assertEquals("Source table public.ghosts does not exist", load(spec, "ghosts").error());
    assertEquals("lakehouse.tables.good.cursor: no column modified_at in \"public\".\"good\"; its columns are"
        + " [id, updated_at]", load(spec, "good").error());
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().bronze("good")));
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().control("watermarks")));
  }

  @Test
  void aSourceColumnNamedLikeOneOfTheLakehousesOwnIsRefusedInOneLine() {
    sourceExecute("CREATE TABLE clash (id int PRIMARY KEY, _op text, _synced int)", "INSERT INTO clash VALUES (1, 'x', 1)");
    LakehouseSpec spec = spec("clash", """
        tables.clash { primary-key = [id], silver.rename { _synced = synced, _op = op } }""");
    String problem = "column _op has a name the lakehouse uses for a column of its own; read the table through a view"
        + " that renames it";
    SpecException e = assertThrows(SpecException.class, () -> run(spec, Stage.BRONZE));
    assertEquals(List.of("lakehouse.tables.clash: public.clash: " + problem), e.problems());
    assertEquals("\"public\".\"clash\": " + problem, load(spec, "clash").error(), "bronze says the same");
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().bronze("clash")));

    // Read from the log, the table is published as it is: a view is no way round there.
    LakehouseSpec logged = spec("clash-log", """
        tables.clash { primary-key = [id], mode = log, silver.rename { _synced = synced, _op = op } }""");
    SpecException fromLog = assertThrows(SpecException.class, () -> run(logged, Stage.BRONZE));
    assertTrue(fromLog.problems().contains("lakehouse.tables.clash: public.clash: column _op has a name the lakehouse"
        + " uses for a column of its own; rename it in the source (a table in mode = log is published as it is, and a"
        + " view cannot be)"), fromLog.problems().toString());
    assertFalse(DeltaTable.isDeltaTable(spark, logged.paths().bronze("clash")));
  }

  /**
   * What bronze would fail on, named before anything runs (and by {@code validate}, which makes
   * the same check): two columns one name ignoring case, and an integer cursor whose lookback is a
   * duration, the default one or the table's own. Bronze says the same, should the source change.
   */
  @Test
  void aCaseClashAndALookbackOfTheWrongKindAreNamedBeforeAnythingRuns() {
    sourceExecute("CREATE TABLE twins (id int PRIMARY KEY, \"Label\" text, label text)",
        "INSERT INTO twins VALUES (1, 'A', 'a')",
        "CREATE TABLE counted (id int PRIMARY KEY, version bigint NOT NULL)",
        "INSERT INTO counted VALUES (1, 1), (2, 2)");
    LakehouseSpec spec = spec("twins", """
        tables {
          twins { primary-key = [id], mode = full }
          counted { primary-key = [id], mode = incremental, cursor = version }
          timed { source-table = good, primary-key = [id], mode = incremental, cursor = updated_at, lookback = 100 }
        }""");
    SpecException e = assertThrows(SpecException.class, () -> run(spec, Stage.BRONZE));
    String twins = "two columns are named label ignoring case, which Spark cannot tell apart; read the table through"
        + " a view that renames one";
    String counted = "lakehouse.tables.counted.lookback: the default lakehouse.extract.lookback (10m) applies, but"
        + " cursor version is bigint: give a number of cursor units (how far below the watermark each run reads"
        + " again), e.g. 1000";
    assertEquals(List.of(counted, "lakehouse.tables.timed.lookback: is 100, but cursor updated_at is timestamp with time"
        + " zone: give a duration, e.g. 10m", "lakehouse.tables.twins: public.twins: " + twins), e.problems());
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().control("runs")), "nothing written");
    assertEquals("\"public\".\"twins\": " + twins, load(spec, "twins").error(), "bronze says the same");
    assertEquals(counted, load(spec, "counted").error());

    LakehouseSpec fixed = spec("counted", """
        tables.counted { primary-key = [id], mode = incremental, cursor = version, lookback = 1000 }""");
    assertEquals(2L, outcome(run(fixed, Stage.BRONZE), Stage.BRONZE, "counted").rowsWritten());
  }

  @Test
  void aNullKeyFailsItsTableInOneLineAndCommitsNothing() {
    sourceExecute(
        "CREATE TABLE nullkey (region text, code int, v text, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO nullkey (region, code, v) VALUES ('eu', 1, 'a'), (NULL, 2, 'b'), ('us', NULL, 'c'), ('us', 3, 'd')");
    LakehouseSpec spec = spec("nullkey", """
        tables.nullkey { primary-key = [region, code], mode = incremental, cursor = updated_at }""");
    BronzeLoader.TableResult result = load(spec, "nullkey");
    assertEquals("nullkey: 2 rows of \"public\".\"nullkey\" have a NULL in the key (region, code); nothing of nullkey"
        + " was landed (fix the source rows or lakehouse.tables.nullkey.primary-key)", result.error());
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().bronze("nullkey")), "no bronze commit");
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().control("watermarks")), "no watermark");

    // In a run, the table fails once: reconcile leaves it to the next run instead of failing on
    // the silver table bronze could not feed.
    RunResult whole = run(spec, Stage.BRONZE, Stage.SILVER, Stage.RECONCILE);
    assertEquals(List.of("bronze nullkey"), whole.failures().stream().map(r -> r.stage().label() + " " + r.table()).toList());
  }

  @Test
  void aNullCursorInANullableColumnFailsItsTableAndCommitsNothing() {
    sourceExecute(
        "CREATE TABLE nullcursor (id int PRIMARY KEY, v text, changed_at timestamptz)",
        "INSERT INTO nullcursor VALUES (1, 'a', now()), (2, 'b', NULL)");
    LakehouseSpec spec = spec("nullcursor", """
        tables.nullcursor { primary-key = [id], mode = incremental, cursor = changed_at }""");
    assertEquals("\"public\".\"nullcursor\" has 1 row with a NULL cursor changed_at; incremental extraction would"
        + " never see it", load(spec, "nullcursor").error());
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().bronze("nullcursor")), "no bronze commit");

    sourceExecute("UPDATE nullcursor SET changed_at = now() WHERE id = 2");
    BronzeLoader.TableResult fixed = load(spec, "nullcursor");
    assertEquals(Arrays.asList(null, 2L), Arrays.asList(fixed.error(), fixed.rowsWritten()), "the fixed source loads");
  }

  /**
   * infinity = clamp lands PostgreSQL's infinite dates and timestamps as the last and first
   * instants Spark holds. The cursor is never clamped (the watermark would jump to the end of
   * time): a row whose cursor is infinity waits beyond the window, named. Without the setting the
   * table stops, as before.
   */
  @Test
  void infiniteDatesLandClampedWhereConfiguredButNeverInTheCursor() {
    sourceExecute(
        "CREATE TABLE open_ended (id int PRIMARY KEY, valid_to date, seen timestamptz, local_at timestamp,"
            + " updated_at timestamptz NOT NULL)",
        "INSERT INTO open_ended VALUES (1, 'infinity', '-infinity', 'infinity', now() - interval '1 minute'),"
            + " (2, '2026-01-31', '2026-01-01 10:00+00', '2026-01-01 10:00', now() - interval '1 minute')");
    LakehouseSpec failing = spec("infinity_fail", """
        tables.open_ended { primary-key = [id], mode = incremental, cursor = updated_at }""");
    String stopped = load(failing, "open_ended").error();
    assertTrue(stopped.contains("column valid_to of public.open_ended holds infinity, which a Spark date cannot"
        + " represent; set infinity = clamp on its table"), stopped);
    assertFalse(DeltaTable.isDeltaTable(spark, failing.paths().bronze("open_ended")), "no bronze commit");

    LakehouseSpec spec = spec("infinity_clamp", """
        extract.infinity = clamp
        tables.open_ended { primary-key = [id], mode = incremental, cursor = updated_at }""");
    assertEquals(2L, load(spec, "open_ended").rowsWritten());
    assertEquals(List.of(List.of(1, "9999-12-31", "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999"),
            List.of(2, "2026-01-31", "2026-01-01 10:00:00", "2026-01-01 10:00:00")),
        sql("SELECT id, CAST(valid_to AS string), CAST(seen AS string), CAST(local_at AS string) FROM delta.`%s`"
            + " ORDER BY id", spec.paths().bronze("open_ended")));

    // The window's upper bound (the source's clock) keeps an infinite cursor out, and says so.
    sourceExecute("UPDATE open_ended SET updated_at = 'infinity' WHERE id = 2");
    BronzeLoader.TableResult waiting = load(spec, "open_ended");
    assertEquals(Arrays.asList(null, 0L, "1 row has a cursor after the source's clock (latest updated_at infinity);"
        + " a cursor of infinity never lands: give such rows a real change time in the source"),
        Arrays.asList(waiting.error(), waiting.rowsWritten(), waiting.note()));
    assertEquals(List.of(List.of(2L, "9999-12-31")), sql("SELECT count(*), CAST(max(valid_to) AS string) FROM delta.`%s`",
        spec.paths().bronze("open_ended")), "nothing more landed");
  }

  @Test
  void duplicateKeysAreRefusedBeforeLandingAndTheFixedSourceLoadsOnTheNextRun() {
    sourceExecute(
        "CREATE TABLE dups (id int NOT NULL, v text, updated_at timestamptz NOT NULL)",
        "INSERT INTO dups VALUES (1, 'a', now() - interval '1 minute'), (2, 'b', now() - interval '1 minute')");
    LakehouseSpec spec = spec("dups", """
        tables {
          dups { primary-key = [id], mode = incremental, cursor = updated_at }
          dups_full { source-table = dups, primary-key = [id], mode = full }
        }""");
    String bronze = spec.paths().bronze("dups");
    String full = spec.paths().bronze("dups_full");
    succeeded(run(spec, Stage.BRONZE));
    long versionBefore = version(bronze);
    long fullBefore = version(full);

    sourceExecute("INSERT INTO dups VALUES (3, 'c', now()), (3, 'c2', now())");
    RunResult refused = run(spec, Stage.BRONZE);
    assertEquals(List.of(
        "bronze dups: dups: 1 key (id) appears more than once in \"public\".\"dups\" with the same updated_at; nothing"
            + " of dups was landed (fix the source, or set lakehouse.tables.dups.primary-key to a real key)",
        "bronze dups_full: dups_full: 1 key (id) appears more than once in \"public\".\"dups\"; nothing of dups_full was"
            + " landed (fix the source, or set lakehouse.tables.dups_full.primary-key to a real key)"),
        refused.failureLines());
    assertEquals(List.of(versionBefore, fullBefore), List.of(version(bronze), version(full)), "nothing landed");

    sourceExecute("DELETE FROM dups WHERE v = 'c2'");
    RunResult fixed = succeeded(run(spec, Stage.BRONZE));
    assertEquals(List.of(2L, 1L), List.of(outcome(fixed, Stage.BRONZE, "dups").batch(),
        outcome(fixed, Stage.BRONZE, "dups").rowsWritten()));
    assertEquals(List.of(List.of(3, "c")), sql("SELECT id, v FROM delta.`%s` WHERE _batch_id = 2", bronze));
    assertEquals(List.of(List.of(3, "c", "U")), sql("SELECT id, v, _op FROM delta.`%s` WHERE _batch_id = 2", full));
  }

  @Test
  void aKeyInSeveralVersionsInOneBatchLandsAndSilverAppliesTheLatestAndSaysSo() {
    sourceExecute(
        "CREATE TABLE price_history (sku text NOT NULL, price numeric(8,2), changed_at timestamptz NOT NULL)",
        "INSERT INTO price_history VALUES ('A', 1, now() - interval '2 minutes'), ('A', 2, now() - interval '1 minute'),"
            + " ('B', 5, now() - interval '1 minute')",
        "CREATE VIEW prices AS SELECT sku, price, changed_at FROM price_history");
    LakehouseSpec spec = spec("versions", """
        tables.prices { primary-key = [sku], mode = incremental, cursor = changed_at }""");
    RunResult result = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(3L, outcome(result, Stage.BRONZE, "prices").rowsWritten(), "both versions of A are landed");
    assertEquals(List.of(List.of("A", new java.math.BigDecimal("2.00")), List.of("B", new java.math.BigDecimal("5.00"))),
        sql("SELECT sku, price FROM delta.`%s` ORDER BY sku", spec.paths().silver("prices")), "the latest version");
    TableRun silver = outcome(result, Stage.SILVER, "prices");
    String detail = "1 key arrived in more than one version in one bronze batch; the latest of each was applied";
    assertEquals(detail, silver.detail());
    assertEquals(List.of(List.of(detail)), sql("SELECT detail FROM delta.`%s` WHERE job = 'silver'",
        spec.paths().control("runs")));
    assertEquals(List.of(List.of("warn", 2L, 1L)), sql("SELECT action, checked_rows, failed_rows FROM delta.`%s`"
        + " WHERE rule = 'one_version_per_batch(sku)'", spec.paths().control("dq_results")));
  }

  @Test
  void aSecondWriterFailsFastWhileTheLockIsHeld() {
    LakehouseSpec spec = good("locked", "");
    try (LakehouseLock held = LakehouseLock.acquire(spec.paths().root(), "silver", Duration.ofMinutes(1),
        spark.sessionState().newHadoopConf())) {
      long started = System.nanoTime();
      LakehouseException e = assertThrows(LakehouseException.class, () -> run(spec, Stage.BRONZE));
      assertTrue(Duration.ofNanos(System.nanoTime() - started).toSeconds() < 10, "fails fast, without waiting for the lock");
      assertTrue(e.getMessage().startsWith("Another lakehouse run is writing to " + spec.paths().root()
          + " (job=silver pid=" + ProcessHandle.current().pid()), e.getMessage());
    }
    assertFalse(DeltaTable.isDeltaTable(spark, spec.paths().control("runs")), "nothing written");
    LakehouseLock.acquire(spec.paths().root(), "bronze", Duration.ofMinutes(1), spark.sessionState().newHadoopConf())
        .close();
  }

  @Test
  void withoutAConfiguredSchemaTablesAreFoundThroughTheSearchPath() {
    sourceExecute(
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.orders (id int PRIMARY KEY, amount int)",
        "INSERT INTO sales.orders VALUES (1, 10), (2, 20)",
        "CREATE TABLE public.orders (id int PRIMARY KEY, amount int)",
        "GRANT USAGE ON SCHEMA sales TO etl_reader",
        "GRANT SELECT ON ALL TABLES IN SCHEMA sales TO etl_reader",
        "ALTER ROLE etl_reader IN DATABASE " + database + " SET search_path = sales, public");
    LakehouseSpec spec = spec("search-path", """
        source { user = etl_reader, password = "%s" }
        tables { orders { primary-key = [id], mode = full }, ghosts { primary-key = [id] } }""".formatted(PASSWORD));
    BronzeLoader.TableResult orders = load(spec, "orders");
    assertFalse(orders.failed(), orders.error());
    assertEquals(List.of(List.of(1, 10, database + ".sales.orders"), List.of(2, 20, database + ".sales.orders")),
        sql("SELECT id, amount, _source FROM delta.`%s` ORDER BY id", spec.paths().bronze("orders")),
        "sales comes first in etl_reader's search_path");
    assertEquals("Source table sales.ghosts does not exist", load(spec, "ghosts").error(),
        "the error names the schema the search path chose");
    assertEquals(List.of(List.of("orders", 1L)), sql("SELECT table_name, batch_id FROM (%s)",
        Watermarks.currentSql(spec.paths().control("watermarks"))));
  }

  /**
   * as-text sets a column's bronze type when the table first lands. A value that does not fit
   * advises as-text "on a table already landed" only with a view; listing the column anyway, or
   * no longer listing one that was, says so in the configuration's words and lands nothing.
   */
  @Test
  void aColumnListedInAsTextAfterItsTableLandedIsNamedWithWhatToDoAndNothingLands() {
    sourceExecute(
        "CREATE TABLE readings (id int PRIMARY KEY, val numeric, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO readings (id, val) VALUES (1, 1.5), (2, 2.25)");
    String table = "tables.readings { primary-key = [id], mode = incremental, cursor = updated_at%s }";
    LakehouseSpec plain = spec("as-text-later", table.formatted(""));
    LakehouseSpec listed = spec("as-text-later", table.formatted(", as-text = [val]"));
    assertNull(load(plain, "readings").error());
    sourceExecute("UPDATE readings SET val = 1 / 3.0, updated_at = now() WHERE id = 2");

    String tooPrecise = load(plain, "readings").error();
    assertTrue(tooPrecise.endsWith("holds 0.33333333333333333333, which does not fit decimal(38,18) exactly; declare"
        + " the column numeric(p,s), or list the column in as-text (on a table already landed that changes the"
        + " column's type: read the table through a view that maps such values instead)"), tooPrecise);
    assertEquals("lakehouse.tables.readings.as-text lists val, but bronze.readings holds it as decimal(38,18) from"
        + " earlier landings, and as-text sets a column's type only when a table first lands; nothing was landed."
        + " Either take it out of as-text and read the source through a view that maps the values that do not fit,"
        + " or land the table under a new lakehouse name (source-table = \"readings\") with as-text",
        load(listed, "readings").error());
    assertEquals(2, rows(plain.paths().bronze("readings")), "only the first landing");

    // The other way round: landed as text, then no longer listed.
    LakehouseSpec textFirst = spec("as-text-dropped", table.formatted(", as-text = [val]"));
    assertNull(load(textFirst, "readings").error());
    sourceExecute("UPDATE readings SET val = 2.5, updated_at = now() WHERE id = 1");
    assertEquals("bronze.readings holds val as text, and the source now gives decimal(38,18); nothing was landed. If"
        + " lakehouse.tables.readings.as-text listed it, list it again; if the source's column changed type, read the"
        + " table through a view that casts it back to text",
        load(spec("as-text-dropped", table.formatted("")), "readings").error());
    assertEquals(2, rows(textFirst.paths().bronze("readings")));
  }
}
