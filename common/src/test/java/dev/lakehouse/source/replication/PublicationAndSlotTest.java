package dev.lakehouse.source.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.replication.ReplicationEvent.Commit;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.postgresql.replication.LogSequenceNumber;

class PublicationAndSlotTest extends ReplicationTestBase {

  private static final TableName A = new TableName("public", "pa");
  private static final TableName B = new TableName("public", "pb");
  private static final TableName C = new TableName("public", "pc");

  @Test
  void ensureMakesThePublicationCoverExactlyTheTables() throws Exception {
    execute("CREATE TABLE IF NOT EXISTS pa (id int PRIMARY KEY)", "CREATE TABLE IF NOT EXISTS pb (id int PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS pc (id int PRIMARY KEY)");
    try (Connection c = connect()) {
      assertEquals(Optional.empty(), Publication.tables(c, "lake_pub"));
      assertEquals(Publication.Outcome.CREATED, Publication.ensure(c, "lake_pub", List.of(A, B)));
      assertEquals(Optional.of(new TreeSet<>(Set.of(A, B))), Publication.tables(c, "lake_pub"));
      assertEquals(Publication.Outcome.UNCHANGED, Publication.ensure(c, "lake_pub", List.of(B, A)));
      assertEquals(Publication.Outcome.ALTERED, Publication.ensure(c, "lake_pub", List.of(B, C)));
      assertEquals(Optional.of(new TreeSet<>(Set.of(B, C))), Publication.tables(c, "lake_pub"));

      // Someone narrowed what it publishes: ensure puts deletes and truncates back.
      execute("ALTER PUBLICATION lake_pub SET (publish = 'insert, update')");
      assertEquals(Publication.Outcome.ALTERED, Publication.ensure(c, "lake_pub", List.of(B, C)));
      assertEquals(List.of(List.of(true, true, true, true)),
          query("SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = 'lake_pub'"));

      LakehouseException missing = assertThrows(LakehouseException.class,
          () -> Publication.ensure(c, "lake_pub", List.of(new TableName("public", "nope"))));
      assertEquals("Cannot publish: table public.nope does not exist", missing.getMessage());
      execute("CREATE PUBLICATION everything FOR ALL TABLES");
      LakehouseException all = assertThrows(LakehouseException.class,
          () -> Publication.ensure(c, "everything", List.of(A)));
      assertTrue(all.getMessage().startsWith("Publication everything is FOR ALL TABLES"), all.getMessage());
      assertThrows(IllegalArgumentException.class, () -> Publication.ensure(c, "Bad-Name", List.of(A)));

      assertTrue(Publication.drop(c, "lake_pub"));
      assertFalse(Publication.drop(c, "lake_pub"));
      assertTrue(Publication.drop(c, "everything"));
    }
  }

  @Test
  void slotInfoShowsPositionsAndRetainedWalAndDropNamesTheActiveProcess() throws Exception {
    execute("CREATE TABLE IF NOT EXISTS pa (id int PRIMARY KEY)", "CREATE TABLE IF NOT EXISTS filler (v text)");
    try (Connection c = connect()) {
      Publication.ensure(c, "info_pub", List.of(A));
      String slot = uniqueSlot();
      LogSequenceNumber start;
      try (ReplicationSlot created = ReplicationSlot.create(endpoint(), slot)) {
        start = created.consistentPoint();
        assertEquals(slot, created.name());
        assertFalse(created.snapshotName().isBlank());
        LakehouseException again = assertThrows(LakehouseException.class,
            () -> ReplicationSlot.create(endpoint(), slot));
        assertTrue(again.getMessage().startsWith("Replication slot " + slot + " already exists"), again.getMessage());
      }
      ReplicationSlot.Info fresh = ReplicationSlot.info(c, slot).orElseThrow();
      assertEquals("pgoutput", fresh.plugin());
      assertEquals(database, fresh.database());
      assertFalse(fresh.active());
      assertEquals(start, fresh.confirmedFlushLsn());
      assertTrue(fresh.restartLsn().compareTo(start) <= 0);

      // WAL written after the slot is retained for it, and counts as lag until confirmed.
      execute("INSERT INTO filler SELECT md5(g::text) FROM generate_series(1, 50000) g", "INSERT INTO pa VALUES (1)");
      ReplicationSlot.Info behind = ReplicationSlot.info(c, slot).orElseThrow();
      assertTrue(behind.retainedWalBytes() > 2_000_000, "retained " + behind.retainedWalBytes());
      assertTrue(behind.lagBytes() > 2_000_000, "lag " + behind.lagBytes());

      try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "info_pub", start)) {
        List<ReplicationEvent> events = pollUntil(stream, e -> e instanceof Commit);
        ReplicationSlot.Info active = ReplicationSlot.info(c, slot).orElseThrow();
        assertTrue(active.active());
        LakehouseException busy = assertThrows(LakehouseException.class, () -> ReplicationSlot.drop(c, slot));
        assertEquals("Cannot drop replication slot " + slot + ": it is active (streamed by server process "
            + active.activePid() + "); stop its consumer first, or SELECT pg_terminate_backend("
            + active.activePid() + ")", busy.getMessage());
        // A second stream on the same slot is refused, after waiting a little for it to free up.
        LakehouseException second = assertThrows(LakehouseException.class,
            () -> ChangeStream.open(endpoint(), slot, "info_pub", start, Duration.ofMillis(300)));
        assertTrue(second.getMessage().contains("(another stream holds it"), second.getMessage());
        stream.confirm(((Commit) events.get(events.size() - 1)).endLsn());
      }
      assertTrue(ReplicationSlot.drop(c, slot, Duration.ofSeconds(10)));
      assertEquals(Optional.empty(), ReplicationSlot.info(c, slot));
      assertFalse(ReplicationSlot.drop(c, slot));
      LakehouseException gone = assertThrows(LakehouseException.class,
          () -> ChangeStream.open(endpoint(), slot, "info_pub", start));
      assertTrue(gone.getMessage().startsWith("Replication slot " + slot + " does not exist"), gone.getMessage());
    }
  }
}
