package dev.lakehouse.source.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.LakehouseException;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Each problem of a source that cannot feed log replication yet comes as one line with its fix. */
class ReplicationCheckTest extends ReplicationTestBase {

  private static final TableName KEYED = new TableName("public", "keyed");

  @Test
  void aReadySourceHasNoProblem() {
    execute("CREATE TABLE IF NOT EXISTS keyed (id int PRIMARY KEY, v text)");
    ReplicationCheck.Report report = ReplicationCheck.run(endpoint(), "ready_pub", "ready_slot", List.of(KEYED));
    assertEquals(List.of(), report.problems());
    assertTrue(report.ready());
    report.requireReady();
  }

  @Test
  void aRoleWithoutReplicationOrRightsGetsOneLinePerProblemAndIsReadyOnceGranted() throws Exception {
    execute("CREATE TABLE IF NOT EXISTS keyed (id int PRIMARY KEY, v text)",
        "DROP ROLE IF EXISTS lh_reader", "CREATE ROLE lh_reader LOGIN PASSWORD 'reader-secret'");
    try {
      ReplicationEndpoint reader = ReplicationEndpoint.of(url(), "lh_reader", "reader-secret");
      List<String> problems = ReplicationCheck.run(reader, "reader_pub", "reader_slot", List.of(KEYED)).problems();
      assertOneLineEach(problems);
      assertEquals(3, problems.size(), problems.toString());
      assertTrue(problems.get(0).startsWith("user 'lh_reader' has neither the REPLICATION attribute nor superuser")
          && problems.get(0).endsWith("ALTER ROLE \"lh_reader\" WITH REPLICATION"), problems.get(0));
      assertTrue(problems.get(1).startsWith("user 'lh_reader' cannot create publications in database " + database)
          && problems.get(1).contains("GRANT CREATE ON DATABASE"), problems.get(1));
      assertTrue(problems.get(2).startsWith("user 'lh_reader' does not own table public.keyed (owner: 'postgres')")
          && problems.get(2).contains("ALTER TABLE \"public\".\"keyed\" OWNER TO \"lh_reader\""), problems.get(2));
      // requireReady says it all on one line
      LakehouseException e = assertThrowsLakehouse(() -> ReplicationCheck.run(reader, "reader_pub", "reader_slot",
          List.of(KEYED)).requireReady());
      assertFalse(e.getMessage().contains("\n"));

      // A heartbeat needs no privilege.
      try (Connection c = DriverManager.getConnection(url(), "lh_reader", "reader-secret")) {
        assertTrue(ChangeStream.emitHeartbeat(c).asLong() > 0);
      }

      execute("ALTER ROLE lh_reader WITH REPLICATION", "GRANT CREATE ON DATABASE " + database + " TO lh_reader",
          "ALTER TABLE keyed OWNER TO lh_reader");
      // Ready, including a replication connection with the role's password (scram-sha-256).
      assertEquals(List.of(), ReplicationCheck.run(reader, "reader_pub", "reader_slot", List.of(KEYED)).problems());
      try (Connection c = reader.connect()) {
        assertEquals(Publication.Outcome.CREATED, Publication.ensure(c, "reader_pub", List.of(KEYED)));
      }
      try (ReplicationSlot slot = ReplicationSlot.create(reader, "reader_slot")) {
        assertTrue(slot.consistentPoint().asLong() > 0);
      }
    } finally {
      execute("DROP PUBLICATION IF EXISTS reader_pub");
      dropSlots();
      execute("ALTER TABLE IF EXISTS keyed OWNER TO postgres", "REVOKE ALL ON DATABASE " + database + " FROM lh_reader",
          "DROP ROLE IF EXISTS lh_reader");
    }
  }

  @Test
  void tablesWhoseUpdatesAndDeletesCannotBeCapturedAreNamedWithTheFix() throws Exception {
    execute("CREATE TABLE keyless (a int, b text)", "CREATE TABLE nothing_id (id int PRIMARY KEY)",
        "ALTER TABLE nothing_id REPLICA IDENTITY NOTHING", "CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS keyed (id int PRIMARY KEY, v text)");
    List<TableName> tables = List.of(new TableName("public", "keyless"), new TableName("public", "nothing_id"),
        new TableName("public", "scratch"), new TableName("public", "missing"), KEYED);
    List<String> problems = ReplicationCheck.run(endpoint(), "tables_pub", "tables_slot", tables).problems();
    assertOneLineEach(problems);
    assertEquals(List.of(
        "table public.keyless has no primary key and REPLICA IDENTITY DEFAULT: its updates and deletes could not be"
            + " captured (and once it is published, PostgreSQL rejects UPDATE and DELETE on it); run ALTER TABLE"
            + " \"public\".\"keyless\" REPLICA IDENTITY FULL or add a primary key",
        "table public.missing does not exist",
        "table public.nothing_id has REPLICA IDENTITY NOTHING: its updates and deletes could not be captured (and"
            + " once it is published, PostgreSQL rejects UPDATE and DELETE on it); run ALTER TABLE"
            + " \"public\".\"nothing_id\" REPLICA IDENTITY FULL or add a primary key",
        "table public.scratch is UNLOGGED, so its changes never reach the WAL: ALTER TABLE \"public\".\"scratch\""
            + " SET LOGGED"), problems);

    // Publishing the keyless table is refused: it would break the source's own UPDATEs and DELETEs.
    try (Connection c = connect()) {
      LakehouseException refused = assertThrowsLakehouse(
          () -> Publication.ensure(c, "tables_pub", List.of(new TableName("public", "keyless"))));
      assertTrue(refused.getMessage().startsWith("Cannot publish: table public.keyless has no primary key"));
      assertTrue(Publication.tables(c, "tables_pub").isEmpty());
    }

    execute("ALTER TABLE keyless REPLICA IDENTITY FULL", "ALTER TABLE nothing_id REPLICA IDENTITY DEFAULT",
        "ALTER TABLE scratch SET LOGGED");
    assertEquals(List.of("table public.missing does not exist"),
        ReplicationCheck.run(endpoint(), "tables_pub", "tables_slot", tables).problems());
  }

  @Test
  void noFreeReplicationSlotIsOneLine() throws Exception {
    execute("CREATE TABLE IF NOT EXISTS keyed (id int PRIMARY KEY, v text)");
    List<String> fillers = new ArrayList<>();
    try (Connection c = connect()) {
      int free = ((Number) scalar("SELECT current_setting('max_replication_slots')::int - count(*)"
          + " FROM pg_replication_slots")).intValue();
      for (int i = 0; i < free; i++) {
        String name = "lh_filler_" + i;
        c.createStatement().execute("SELECT pg_create_physical_replication_slot('" + name + "')");
        fillers.add(name);
      }
      List<String> problems = ReplicationCheck.run(endpoint(), "full_pub", "full_slot", List.of(KEYED)).problems();
      assertEquals(List.of("no free replication slot: all 20 (max_replication_slots) are in use; drop unused ones"
          + " (SELECT slot_name, active FROM pg_replication_slots) or raise max_replication_slots and restart"), problems);
      // An existing slot of the right kind needs no free one.
      ReplicationSlot.drop(c, fillers.remove(fillers.size() - 1));
      createSlot("full_slot");
      assertEquals(List.of(), ReplicationCheck.run(endpoint(), "full_pub", "full_slot", List.of(KEYED)).problems());
      // One of another kind is named.
      assertEquals(List.of("replication slot lh_filler_0 already exists but is a physical slot, not a pgoutput slot"
              + " on this database: set lakehouse.log.slot to another name (a slot's name is unique on the server, not"
              + " per database)"),
          ReplicationCheck.run(endpoint(), "full_pub", "lh_filler_0", List.of(KEYED)).problems());
    } finally {
      try (Connection c = connect()) {
        for (String name : fillers) {
          ReplicationSlot.drop(c, name);
        }
      }
    }
  }

  @Test
  void walLevelReplicaIsOneLineWithTheFix() throws Exception {
    try (EmbeddedPostgres replica = EmbeddedPostgres.builder()
        .setServerConfig("listen_addresses", "127.0.0.1")
        .setServerConfig("wal_level", "replica")
        .start()) {
      String url = "jdbc:postgresql://127.0.0.1:" + replica.getPort() + "/postgres";
      try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
        c.createStatement().execute("CREATE TABLE keyed (id int PRIMARY KEY)");
      }
      List<String> problems = ReplicationCheck.run(ReplicationEndpoint.of(url, "postgres", ""), "p", "s",
          List.of(KEYED)).problems();
      assertEquals(List.of("wal_level is 'replica', not 'logical': run ALTER SYSTEM SET wal_level = logical and"
          + " restart PostgreSQL"), problems);
    }
  }

  private static void assertOneLineEach(List<String> problems) {
    for (String problem : problems) {
      assertFalse(problem.contains("\n"), problem);
    }
  }

  private static LakehouseException assertThrowsLakehouse(Executable executable) {
    return org.junit.jupiter.api.Assertions.assertThrows(LakehouseException.class, executable);
  }
}
