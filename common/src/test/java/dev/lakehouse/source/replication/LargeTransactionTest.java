package dev.lakehouse.source.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.source.replication.ReplicationEvent.Begin;
import dev.lakehouse.source.replication.ReplicationEvent.Change;
import dev.lakehouse.source.replication.ReplicationEvent.Commit;
import dev.lakehouse.source.replication.ReplicationEvent.Op;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.postgresql.replication.LogSequenceNumber;

/** A 300,000-row transaction passes through change by change. */
class LargeTransactionTest extends ReplicationTestBase {

  private static final int ROWS = 300_000;

  @Test
  void aLargeTransactionIsYieldedChangeByChangeWhileTheServerIsStillSendingIt() throws Exception {
    long started = System.nanoTime();
    execute("CREATE TABLE big (id int PRIMARY KEY, v int)");
    Publication.ensure(connect(), "big_pub", List.of(new TableName("public", "big")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);
    execute("INSERT INTO big SELECT g, 2 * g FROM generate_series(1, " + ROWS + ") g");

    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "big_pub", start);
         Connection c = connect()) {
      List<ReplicationEvent> head = pollUntil(stream, e -> e instanceof Change);
      Begin begin = only(head, Begin.class).get(0);
      Change first = (Change) head.get(head.size() - 1);
      assertEquals(begin.finalLsn(), first.commitLsn(), "the commit LSN is known from BEGIN");
      assertEquals(1, first.ordinal());

      // We hold the first change while the server has not finished sending the transaction: its
      // send position moves past the commit record only once the whole transaction is out, and
      // it cannot be while we do not read (the socket buffers hold a few MB of its ~15 MB).
      Thread.sleep(300);
      LogSequenceNumber sentMeanwhile = sentPosition(c, slot);
      assertTrue(sentMeanwhile.compareTo(begin.finalLsn()) <= 0,
          "server sent up to " + sentMeanwhile + ", the commit record starts at " + begin.finalLsn());

      long count = 1;
      long sumOfIds = int4(first.newValue("id"));
      long expectedOrdinal = 2;
      LogSequenceNumber previous = first.lsn();
      Commit commit = null;
      while (commit == null) {
        ReplicationEvent event = stream.poll(Duration.ofSeconds(10)).orElseThrow();
        if (event instanceof Change change) {
          assertEquals(Op.INSERT, change.op());
          assertEquals(expectedOrdinal++, change.ordinal());
          assertTrue(change.lsn().compareTo(previous) > 0, "change positions increase");
          previous = change.lsn();
          int id = int4(change.newValue("id"));
          assertEquals(2 * id, int4(change.newValue("v")));
          assertEquals(begin.finalLsn(), change.commitLsn());
          sumOfIds += id;
          count++;
        } else {
          commit = assertInstanceOf(Commit.class, event);
        }
      }
      assertEquals(ROWS, count);
      assertEquals(ROWS, commit.changes());
      assertEquals((long) ROWS * (ROWS + 1) / 2, sumOfIds);
      assertEquals(begin.finalLsn(), commit.commitLsn());
      assertFalse(stream.inTransaction());
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (sentPosition(c, slot).compareTo(commit.endLsn()) < 0 && System.nanoTime() < deadline) {
        stream.poll(Duration.ofMillis(50));
      }
      assertTrue(sentPosition(c, slot).compareTo(commit.endLsn()) >= 0, "and past it once all was read");
    }
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertTrue(took.compareTo(Duration.ofSeconds(60)) < 0, "took " + took);
  }

  /** Where the slot's server process has decoded and sent the log up to. */
  private static LogSequenceNumber sentPosition(Connection c, String slot) throws Exception {
    try (PreparedStatement p = c.prepareStatement("""
        SELECT r.sent_lsn::text FROM pg_stat_replication r
        JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = ?""")) {
      p.setString(1, slot);
      try (ResultSet rs = p.executeQuery()) {
        assertTrue(rs.next(), "the slot is being streamed");
        return LogSequenceNumber.valueOf(rs.getString(1));
      }
    }
  }
}
