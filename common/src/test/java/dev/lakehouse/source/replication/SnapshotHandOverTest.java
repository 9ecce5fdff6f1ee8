package dev.lakehouse.source.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.source.replication.ReplicationEvent.Change;
import dev.lakehouse.source.replication.ReplicationEvent.Commit;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.postgresql.replication.LogSequenceNumber;

/**
 * The table read under the slot's exported snapshot, plus the stream from the slot's consistent
 * point, is the table: while another session keeps writing, nothing is lost and nothing doubled.
 */
class SnapshotHandOverTest extends ReplicationTestBase {

  private static final int INITIAL_ROWS = 2_000;

  @Test
  void snapshotCopyPlusStreamFromTheConsistentPointEqualsTheTable() throws Exception {
    execute("CREATE TABLE ledger (id int PRIMARY KEY, v int NOT NULL)",
        "INSERT INTO ledger SELECT g, 0 FROM generate_series(1, " + INITIAL_ROWS + ") g");
    Publication.ensure(connect(), "ledger_pub", List.of(new TableName("public", "ledger")));

    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger nextId = new AtomicInteger(INITIAL_ROWS + 1);
    AtomicLong committed = new AtomicLong();
    ExecutorService writer = Executors.newSingleThreadExecutor();
    Future<?> writing = writer.submit(() -> {
      try (Connection c = connect(); Statement s = c.createStatement()) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (!stop.get()) {
          int target = 1 + random.nextInt(nextId.get() - 1);
          switch (random.nextInt(4)) {
            case 0 -> s.execute("INSERT INTO ledger VALUES (" + nextId.getAndIncrement() + ", 1)");
            case 1 -> s.execute("DELETE FROM ledger WHERE id = " + target);
            default -> {
              // two statements in one transaction: a transaction's changes apply together
              c.setAutoCommit(false);
              s.execute("UPDATE ledger SET v = v + 1 WHERE id = " + target);
              s.execute("UPDATE ledger SET v = v + 10 WHERE id = " + (1 + random.nextInt(nextId.get() - 1)));
              c.commit();
              c.setAutoCommit(true);
            }
          }
          committed.incrementAndGet();
        }
      }
      return null;
    });

    String slot = uniqueSlot();
    Map<Integer, Integer> table = new HashMap<>();
    LogSequenceNumber consistentPoint;
    long committedBeforeSlot;
    try {
      Thread.sleep(500);
      committedBeforeSlot = committed.get();
      try (ReplicationSlot created = ReplicationSlot.create(endpoint(), slot)) {
        consistentPoint = created.consistentPoint();
        Thread.sleep(300); // the writer goes on while we copy
        try (Connection c = connect(); Statement s = c.createStatement()) {
          c.setAutoCommit(false);
          s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
          s.execute("SET TRANSACTION SNAPSHOT '" + created.snapshotName() + "'");
          try (ResultSet rs = s.executeQuery("SELECT id, v FROM ledger")) {
            while (rs.next()) {
              table.put(rs.getInt(1), rs.getInt(2));
            }
          }
          c.commit();
        }
      }
      Thread.sleep(500);
    } finally {
      stop.set(true);
      writing.get();
      writer.shutdown();
    }
    assertTrue(committedBeforeSlot > 20 && committed.get() > committedBeforeSlot + 20,
        "the writer was busy before and after the slot: " + committedBeforeSlot + ", " + committed.get());
    assertNotEquals(INITIAL_ROWS, table.size() + sumOf(table), "the snapshot saw the writer's early commits");

    int applied = 0;
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "ledger_pub", consistentPoint)) {
      List<ReplicationEvent> events = eventsUntilMarker(stream);
      for (ReplicationEvent event : events) {
        if (event instanceof Commit commit) {
          assertTrue(commit.commitLsn().compareTo(consistentPoint) >= 0, "nothing from before the consistent point");
        }
        if (!(event instanceof Change change)) {
          continue;
        }
        applied++;
        switch (change.op()) {
          case INSERT -> assertNull(table.put(int4(change.newValue("id")), int4(change.newValue("v"))),
              "an insert the snapshot already had: a duplicate");
          case UPDATE -> {
            int id = int4(change.newValue("id"));
            assertTrue(table.containsKey(id), "update of a row the copy did not have: a lost insert");
            table.put(id, int4(change.newValue("v")));
          }
          case DELETE -> assertTrue(table.remove(int4(change.oldValue("id"))) != null,
              "delete of a row the copy did not have");
        }
      }
    }
    assertTrue(applied > 20, "the stream carried the writes after the consistent point: " + applied);

    Map<Integer, Integer> actual = new HashMap<>();
    for (List<Object> row : query("SELECT id, v FROM ledger")) {
      actual.put((Integer) row.get(0), (Integer) row.get(1));
    }
    assertFalse(actual.isEmpty());
    assertEquals(actual, table);
  }

  private static int sumOf(Map<Integer, Integer> table) {
    return table.values().stream().mapToInt(Integer::intValue).sum();
  }
}
