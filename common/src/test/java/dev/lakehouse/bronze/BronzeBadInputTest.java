package dev.lakehouse.bronze;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.bronze.BronzeLoader.TableResult;
import dev.lakehouse.config.LakehouseConfig;
import dev.lakehouse.control.LakehouseLock;
import dev.lakehouse.testing.LakehouseTestBase;
import io.delta.tables.DeltaTable;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each kind of bad input gives one clear line, fails only what it must, and writes nothing half-way. */
class BronzeBadInputTest extends LakehouseTestBase {

  @BeforeAll
  static void createTables() {
    sourceExecute(
        "CREATE SCHEMA operations",
        "CREATE TABLE operations.events (event_id bigint, kind text,"
            + " updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO operations.events (event_id, kind) VALUES (1, 'a'), (NULL, 'b'), (3, 'c')",
        "CREATE TABLE operations.good (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO operations.good (id) SELECT generate_series(1, 10)",
        "CREATE ROLE etl_reader LOGIN PASSWORD 'correct-horse'",
        "GRANT USAGE ON SCHEMA operations TO etl_reader",
        "GRANT SELECT ON ALL TABLES IN SCHEMA operations TO etl_reader");
  }

  private static LakehouseConfig withTables(Map<String, String> extra) {
    Map<String, String> settings = new java.util.HashMap<>(Map.of(
        "lakehouse.tables.events.primary-key", "[event_id]",
        "lakehouse.tables.events.mode", "incremental",
        "lakehouse.tables.events.cursor", "updated_at",
        "lakehouse.tables.good.primary-key", "[id]",
        "lakehouse.tables.good.mode", "full"));
    settings.putAll(extra);
    return testConfig(settings);
  }

  private static TableResult loadOne(LakehouseConfig c, String table) {
    return new BronzeLoader(spark, c.source(), c.paths()).load("bad", c.tables(List.of(table))).get(0);
  }

  @Test
  void unreachableHostNamesUrlAndUser() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    LakehouseConfig c = withTables(Map.of(
        "lakehouse.source.url", "jdbc:postgresql://127.0.0.1:" + closedPort + "/acme",
        "lakehouse.source.user", "etl_reader",
        "lakehouse.source.password", "correct-horse"));
    LakehouseException e = assertThrows(LakehouseException.class,
        () -> new BronzeLoader(spark, c.source(), c.paths()).load("bad", c.tables()));
    assertTrue(e.getMessage().startsWith("Cannot reach the source database jdbc:postgresql://127.0.0.1:" + closedPort),
        e.getMessage());
    assertTrue(e.getMessage().contains("'etl_reader'"), e.getMessage());
    assertFalse(e.getMessage().contains("correct-horse"));
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  void wrongPasswordIsAnAuthenticationErrorThatNeverShowsThePassword() {
    LakehouseConfig c = withTables(Map.of(
        "lakehouse.source.user", "etl_reader",
        "lakehouse.source.password", "Tr0ub4dor&3"));
    LakehouseException e = assertThrows(LakehouseException.class,
        () -> new BronzeLoader(spark, c.source(), c.paths()).load("bad", c.tables()));
    assertTrue(e.getMessage().startsWith("Authentication failed for " + sourceUrl() + " as user 'etl_reader'"),
        e.getMessage());
    assertFalse(e.getMessage().contains("Tr0ub4dor"), e.getMessage());
    assertFalse(DeltaTable.isDeltaTable(spark, c.paths().control("runs")), "nothing written");
  }

  @Test
  void theRightPasswordWorksForTheSameRole() {
    LakehouseConfig c = withTables(Map.of(
        "lakehouse.root", lakehouseRoot.resolve("reader").toString(),
        "lakehouse.source.user", "etl_reader",
        "lakehouse.source.password", "correct-horse"));
    TableResult result = loadOne(c, "good");
    assertFalse(result.failed(), result.error());
    assertEquals(10, result.rowsWritten());
  }

  @Test
  void missingTableFailsThatTableOnly() {
    LakehouseConfig c = withTables(Map.of(
        "lakehouse.root", lakehouseRoot.resolve("missing").toString(),
        "lakehouse.tables.ghosts.primary-key", "[id]"));
    List<TableResult> results = new BronzeLoader(spark, c.source(), c.paths()).load("bad", c.tables(List.of("ghosts", "good")));
    assertTrue(results.get(0).failed());
    assertEquals("Source table operations.ghosts does not exist", results.get(0).error());
    assertFalse(results.get(1).failed(), "other tables still load");
    assertFalse(DeltaTable.isDeltaTable(spark, c.paths().bronze("ghosts")));
    assertEquals(1L, count("SELECT count(*) FROM delta.`%s` WHERE table_name = 'ghosts' AND status = 'failed'"
        + " AND error LIKE '%%does not exist%%'", c.paths().control("runs")));
  }

  @Test
  void missingCursorColumnListsTheColumns() {
    LakehouseConfig c = withTables(Map.of(
        "lakehouse.root", lakehouseRoot.resolve("cursor").toString(),
        "lakehouse.tables.good.mode", "incremental",
        "lakehouse.tables.good.cursor", "modified_at"));
    TableResult result = loadOne(c, "good");
    assertEquals("Column modified_at (cursor) does not exist in \"operations\".\"good\"; its columns are [id, updated_at]",
        result.error());
  }

  @Test
  void nullPrimaryKeyFailsTheTableAndCommitsNothing() {
    LakehouseConfig c = withTables(Map.of("lakehouse.root", lakehouseRoot.resolve("nullkey").toString()));
    TableResult result = loadOne(c, "events");
    assertTrue(result.failed());
    assertEquals("NULL primary key event_id in operations.events; fix the source rows or the configured key",
        result.error());
    assertFalse(DeltaTable.isDeltaTable(spark, c.paths().bronze("events")), "no bronze commit");
    assertFalse(DeltaTable.isDeltaTable(spark, c.paths().control("watermarks")), "no watermark");
  }

  @Test
  void aSecondWriterFailsFastWhileTheLockIsHeld() {
    LakehouseConfig c = withTables(Map.of("lakehouse.root", lakehouseRoot.resolve("locked").toString()));
    try (LakehouseLock held = LakehouseLock.acquire(c.paths().root(), "bronze", Duration.ofMinutes(1),
        spark.sessionState().newHadoopConf())) {
      LakehouseException e = assertThrows(LakehouseException.class, () -> LakehouseLock.acquire(
          c.paths().root(), "bronze", Duration.ofMinutes(1), spark.sessionState().newHadoopConf()));
      assertTrue(e.getMessage().startsWith("Another lakehouse run is writing to " + c.paths().root()), e.getMessage());
      assertTrue(e.getMessage().contains("job=bronze pid=" + ProcessHandle.current().pid()), e.getMessage());
    }
    // Released: the next writer gets it.
    LakehouseLock.acquire(c.paths().root(), "bronze", Duration.ofMinutes(1), spark.sessionState().newHadoopConf()).close();
  }
}
