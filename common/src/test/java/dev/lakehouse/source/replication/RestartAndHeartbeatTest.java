package dev.lakehouse.source.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.source.replication.ReplicationEvent.Begin;
import dev.lakehouse.source.replication.ReplicationEvent.Change;
import dev.lakehouse.source.replication.ReplicationEvent.Commit;
import dev.lakehouse.source.replication.ReplicationEvent.KeepAlive;
import dev.lakehouse.source.replication.ReplicationEvent.LogicalMessage;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.postgresql.replication.LogSequenceNumber;

/** Confirmed positions: what a restart sends again, and how an idle slot still advances. */
class RestartAndHeartbeatTest extends ReplicationTestBase {

  @Test
  void aRestartStartsAtTheFirstUnconfirmedTransaction() throws Exception {
    execute("CREATE TABLE event (id int PRIMARY KEY)");
    Publication.ensure(connect(), "event_pub", List.of(new TableName("public", "event")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);
    for (int id = 1; id <= 4; id++) {
      execute("INSERT INTO event VALUES (" + id + ")");
    }

    List<Commit> commits = new ArrayList<>();
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "event_pub", start)) {
      List<ReplicationEvent> t1 = pollUntil(stream, e -> e instanceof Commit);
      assertEquals(1, int4(only(t1, Change.class).get(0).newValue("id")));
      commits.add((Commit) t1.get(t1.size() - 1));
      stream.confirm(commits.get(0).endLsn()); // transaction 1 stored
      List<ReplicationEvent> t2 = pollUntil(stream, e -> e instanceof Commit); // read, not stored
      commits.add((Commit) t2.get(t2.size() - 1));
      assertThrows(IllegalArgumentException.class, () -> stream.confirm(LogSequenceNumber.valueOf(
          commits.get(1).endLsn().asLong() + 1_000_000)), "cannot confirm what was not received");
    }
    try (Connection c = connect()) {
      ReplicationSlot.Info info = waitUntilInactive(c, slot);
      assertEquals(commits.get(0).endLsn(), info.confirmedFlushLsn());
    }

    // From the slot's confirmed position: transaction 2 first, nothing of transaction 1.
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "event_pub", LogSequenceNumber.INVALID_LSN)) {
      List<ReplicationEvent> head = pollUntil(stream, e -> e instanceof Begin);
      Begin begin = (Begin) head.get(head.size() - 1);
      for (ReplicationEvent before : head.subList(0, head.size() - 1)) {
        KeepAlive keepAlive = assertInstanceOf(KeepAlive.class, before, "only keepalives before it");
        assertTrue(keepAlive.walEnd().compareTo(begin.finalLsn()) <= 0, "confirming it would not skip it");
      }
      assertEquals(commits.get(1).commitLsn(), begin.finalLsn());
      List<ReplicationEvent> rest = eventsUntilMarker(stream);
      assertEquals(List.of(2, 3, 4), only(rest, Change.class).stream().map(ch -> int4(ch.newValue("id"))).toList());
    }

    // The slot still says transaction 1; a caller that stored transaction 2 restarts from its end
    // and the server starts there: transaction 3 first.
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "event_pub", commits.get(1).endLsn())) {
      List<ReplicationEvent> events = transactional(eventsUntilMarker(stream));
      Begin begin = assertInstanceOf(Begin.class, events.get(0));
      assertTrue(begin.finalLsn().compareTo(commits.get(1).endLsn()) >= 0);
      assertEquals(List.of(3, 4), only(events, Change.class).stream().map(ch -> int4(ch.newValue("id"))).toList());
    }

    // A start before the confirmed position is moved up to it: transaction 1 never comes back.
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "event_pub", start)) {
      List<Change> changes = only(eventsUntilMarker(stream), Change.class);
      assertEquals(List.of(2, 3, 4), changes.stream().map(ch -> int4(ch.newValue("id"))).toList());
    }
  }

  @Test
  void keepAlivesAndHeartbeatsAdvanceAnIdleSlot() throws Exception {
    execute("CREATE TABLE quiet (id int PRIMARY KEY)", "CREATE TABLE busy (id int PRIMARY KEY, v text)");
    Publication.ensure(connect(), "quiet_pub", List.of(new TableName("public", "quiet")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "quiet_pub", start);
         Connection c = connect()) {
      LogSequenceNumber before = ReplicationSlot.info(c, slot).orElseThrow().confirmedFlushLsn();
      assertEquals(start, before);

      // Other tables' traffic: nothing of it is sent, but keepalives report the server's position.
      execute("INSERT INTO busy SELECT g, md5(g::text) FROM generate_series(1, 20000) g",
          "UPDATE busy SET v = 'x' WHERE id <= 5000");
      LogSequenceNumber afterTraffic = lsn("SELECT pg_current_wal_insert_lsn()");
      List<ReplicationEvent> events = pollUntil(stream,
          e -> e instanceof KeepAlive k && k.walEnd().compareTo(afterTraffic) >= 0);
      assertTrue(events.stream().allMatch(e -> e instanceof KeepAlive), "no transaction: " + events);
      LogSequenceNumber walEnd = ((KeepAlive) events.get(events.size() - 1)).walEnd();
      assertFalse(stream.inTransaction());
      stream.confirm(walEnd); // we hold no unconfirmed transaction
      assertEquals(walEnd, waitForConfirmed(c, slot, walEnd));
      assertTrue(ReplicationSlot.info(c, slot).orElseThrow().lagBytes() < walEnd.asLong() - before.asLong());

      // A heartbeat moves even an otherwise idle database: its message's position is the end of
      // its WAL record, and everything committed before it has been yielded, so it confirms
      // like a keepalive.
      LogSequenceNumber heartbeat = ChangeStream.emitHeartbeat(c);
      List<ReplicationEvent> beat = pollUntil(stream, e -> e instanceof LogicalMessage);
      assertTrue(beat.subList(0, beat.size() - 1).stream().allMatch(e -> e instanceof KeepAlive));
      LogicalMessage message = (LogicalMessage) beat.get(beat.size() - 1);
      assertEquals(ChangeStream.HEARTBEAT_PREFIX, message.prefix());
      assertFalse(message.transactional());
      assertEquals(heartbeat, message.lsn());
      assertTrue(heartbeat.compareTo(walEnd) > 0);
      assertEquals("heartbeat", new String(message.content(), StandardCharsets.UTF_8));
      stream.confirm(message.lsn());
      assertEquals(heartbeat, waitForConfirmed(c, slot, heartbeat));
    }
  }

  private static LogSequenceNumber waitForConfirmed(Connection c, String slot, LogSequenceNumber target)
      throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    LogSequenceNumber confirmed;
    do {
      confirmed = ReplicationSlot.info(c, slot).orElseThrow().confirmedFlushLsn();
      if (confirmed.compareTo(target) >= 0) {
        return confirmed;
      }
      Thread.sleep(20);
    } while (System.nanoTime() < deadline);
    return confirmed;
  }

  private static ReplicationSlot.Info waitUntilInactive(Connection c, String slot) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      ReplicationSlot.Info info = ReplicationSlot.info(c, slot).orElseThrow();
      if (!info.active() || System.nanoTime() > deadline) {
        return info;
      }
      Thread.sleep(20);
    }
  }
}
