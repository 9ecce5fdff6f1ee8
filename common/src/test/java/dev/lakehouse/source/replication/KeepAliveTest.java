package dev.lakehouse.source.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.source.replication.ReplicationEvent.Change;
import dev.lakehouse.source.replication.ReplicationEvent.Commit;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.postgresql.replication.LogSequenceNumber;

/**
 * A reader busy elsewhere (reading a table's rows on the capture's thread) keeps its replication
 * connection by answering the server, instead of being dropped after {@code wal_sender_timeout}.
 * The timeout is set to one second on this class's own database only.
 */
class KeepAliveTest extends ReplicationTestBase {

  private static final Duration BUSY = Duration.ofSeconds(5);

  @Test
  void aStreamThatAnswersOutlastsTheTimeoutAndOneThatDoesNotIsDropped() throws Exception {
    execute("ALTER DATABASE " + database + " SET wal_sender_timeout = '1s'",
        "CREATE TABLE things (id int PRIMARY KEY)");
    try (java.sql.Connection connection = connect()) {
      Publication.ensure(connection, "things_pub", List.of(new TableName("public", "things")));
    }

    String answering = uniqueSlot();
    LogSequenceNumber start = createSlot(answering);
    try (ChangeStream stream = ChangeStream.open(endpoint(), answering, "things_pub", start)) {
      stream.poll(Duration.ofMillis(200));
      long until = System.nanoTime() + BUSY.toNanos();
      while (System.nanoTime() < until) {
        stream.keepAlive();
        Thread.sleep(200);
      }
      execute("INSERT INTO things VALUES (1)");
      assertEquals(1, only(pollUntil(stream, e -> e instanceof Commit), Change.class).size());
    }

    // The same pause without answering: the server drops the connection, so the pause matters.
    String silent = uniqueSlot();
    LogSequenceNumber from = createSlot(silent);
    ChangeStream stream = ChangeStream.open(endpoint(), silent, "things_pub", from);
    try {
      stream.poll(Duration.ofMillis(200));
      Thread.sleep(BUSY.toMillis());
      execute("INSERT INTO things VALUES (2)");
      RuntimeException dropped = assertThrows(RuntimeException.class, () -> pollUntil(stream, e -> e instanceof Commit));
      assertTrue(dropped.getMessage().startsWith("Replication stream of slot " + silent + " failed"), dropped.getMessage());
    } finally {
      try {
        stream.close();
      } catch (RuntimeException e) {
        // the connection is gone already
      }
    }
  }
}
