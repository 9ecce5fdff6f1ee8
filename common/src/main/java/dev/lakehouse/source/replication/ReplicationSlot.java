package dev.lakehouse.source.replication;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.ReplicationSlotInfo;

/**
 * A pgoutput logical replication slot, just created, with the snapshot it exported.
 *
 * <p>{@link #create} runs {@code CREATE_REPLICATION_SLOT name LOGICAL pgoutput} (which exports a
 * snapshot) on a replication connection and keeps that connection open, idle, until {@link
 * #close()}: the snapshot can be imported only meanwhile. The snapshot shows exactly the
 * transactions that committed before {@link #consistentPoint()}; a {@link ChangeStream} started
 * from the consistent point sends exactly those that commit after it. So a table copied under the
 * snapshot plus the stream from the consistent point is the table, with no change lost or doubled:
 *
 * <pre>{@code
 * try (ReplicationSlot slot = ReplicationSlot.create(endpoint, "lakehouse_orders")) {
 *   // on other connections, one per parallel reader:
 *   //   BEGIN ISOLATION LEVEL REPEATABLE READ;
 *   //   SET TRANSACTION SNAPSHOT '<slot.snapshotName()>';
 *   //   COPY ... TO STDOUT (FORMAT binary);  COMMIT;
 *   // store the copy with slot.consistentPoint() as its position
 * }
 * // later: ChangeStream.open(endpoint, "lakehouse_orders", publication, storedPosition)
 * }</pre>
 *
 * The slot itself is permanent: closing this object keeps it (and the WAL it holds back) until
 * {@link #drop}.
 */
public final class ReplicationSlot implements AutoCloseable {

  private final Connection connection;
  private final String name;
  private final LogSequenceNumber consistentPoint;
  private final String snapshotName;

  private ReplicationSlot(Connection connection, String name, LogSequenceNumber consistentPoint,
      String snapshotName) {
    this.connection = connection;
    this.name = name;
    this.consistentPoint = consistentPoint;
    this.snapshotName = snapshotName;
  }

  /**
   * Creates the slot and exports its snapshot. Waits for transactions running at that moment to
   * end (the server needs a consistent point). Fails if the slot exists.
   */
  public static ReplicationSlot create(ReplicationEndpoint endpoint, String name) {
    return create(endpoint, name, false);
  }

  /**
   * A temporary slot with its exported snapshot, gone when this is closed: for a table's initial
   * copy as of a known log position while the lakehouse's own slot keeps its place.
   */
  public static ReplicationSlot createTemporary(ReplicationEndpoint endpoint, String name) {
    return create(endpoint, name, true);
  }

  private static ReplicationSlot create(ReplicationEndpoint endpoint, String name, boolean temporary) {
    Names.slot(name);
    Connection connection = endpoint.connectReplication();
    try {
      var builder = connection.unwrap(PGConnection.class).getReplicationAPI()
          .createReplicationSlot()
          .logical()
          .withSlotName(name)
          .withOutputPlugin("pgoutput");
      ReplicationSlotInfo info = (temporary ? builder.withTemporaryOption() : builder).make();
      if (info.getSnapshotName() == null) {
        throw new LakehouseException("Replication slot " + name + " was created without an exported snapshot");
      }
      return new ReplicationSlot(connection, name, info.getConsistentPoint(), info.getSnapshotName());
    } catch (SQLException e) {
      closeQuietly(connection);
      if ("42710".equals(e.getSQLState())) {
        throw new LakehouseException("Replication slot " + name + " already exists: resume from it, or drop it"
            + " to start over (its unconfirmed changes are lost)", e);
      }
      throw SourceDatabase.queryError("Cannot create replication slot " + name, e);
    } catch (RuntimeException e) {
      closeQuietly(connection);
      throw e;
    }
  }

  public String name() {
    return name;
  }

  /** The position the slot starts at: the snapshot holds every transaction committed before it. */
  public LogSequenceNumber consistentPoint() {
    return consistentPoint;
  }

  /** For {@code SET TRANSACTION SNAPSHOT '...'}; valid until {@link #close()}. */
  public String snapshotName() {
    return snapshotName;
  }

  /** Ends the exported snapshot; the slot stays. */
  @Override
  public void close() {
    closeQuietly(connection);
  }

  /**
   * A slot's state.
   *
   * @param active a stream is reading it now (by process {@code activePid})
   * @param restartLsn the oldest WAL the slot still needs; the server keeps WAL from here on
   * @param confirmedFlushLsn the position the consumer last confirmed; a stream started without a
   *     position starts here
   * @param retainedWalBytes WAL kept for the slot: the WAL written so far (its insert position, which
   *     a commit without synchronous_commit does not wait to flush) minus {@code restartLsn}
   * @param lagBytes how far the consumer is behind: current WAL position minus {@code confirmedFlushLsn}
   * @param walStatus {@code reserved}, {@code extended}, {@code unreserved} or {@code lost} (WAL removed:
   *     the slot is unusable)
   */
  public record Info(String name, String plugin, String database, boolean active, Integer activePid,
      LogSequenceNumber restartLsn, LogSequenceNumber confirmedFlushLsn, long retainedWalBytes,
      long lagBytes, String walStatus) {}

  /** The slot's state, or empty if there is no such slot. */
  public static Optional<Info> info(Connection connection, String name) {
    Names.slot(name);
    try (PreparedStatement p = connection.prepareStatement("""
        WITH here AS (SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
                                  ELSE pg_catalog.pg_current_wal_insert_lsn() END AS lsn)
        SELECT slot_name, plugin, database, active, active_pid, restart_lsn::text, confirmed_flush_lsn::text,
               COALESCE((here.lsn - restart_lsn)::bigint, 0), COALESCE((here.lsn - confirmed_flush_lsn)::bigint, 0),
               wal_status
        FROM pg_catalog.pg_replication_slots, here WHERE slot_name = ?""")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new Info(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4),
            (Integer) rs.getObject(5), lsn(rs.getString(6)), lsn(rs.getString(7)), rs.getLong(8),
            rs.getLong(9), rs.getString(10)));
      }
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read replication slot " + name, e);
    }
  }

  /** Drops the slot if it exists; true if it did. Fails, naming the process, while a stream reads it. */
  public static boolean drop(Connection connection, String name) {
    return drop(connection, name, Duration.ZERO);
  }

  /**
   * Drops the slot, waiting up to {@code waitForInactive} for a stream that is ending (a closed
   * stream's server process can take a moment to release the slot).
   */
  public static boolean drop(Connection connection, String name, Duration waitForInactive) {
    long deadline = System.nanoTime() + waitForInactive.toNanos();
    while (true) {
      Optional<Info> info = info(connection, name);
      if (info.isEmpty()) {
        return false;
      }
      if (info.get().active()) {
        if (System.nanoTime() < deadline) {
          pause();
          continue;
        }
        throw new LakehouseException("Cannot drop replication slot " + name + ": it is active (streamed by server"
            + " process " + info.get().activePid() + "); stop its consumer first, or"
            + " SELECT pg_terminate_backend(" + info.get().activePid() + ")");
      }
      try (PreparedStatement p = connection.prepareStatement("SELECT pg_catalog.pg_drop_replication_slot(?)")) {
        p.setString(1, name);
        p.execute();
        return true;
      } catch (SQLException e) {
        // 55006: it became active between the check and the drop; 42704: someone else dropped it.
        if ("42704".equals(e.getSQLState())) {
          return false;
        }
        if (!"55006".equals(e.getSQLState()) || System.nanoTime() >= deadline) {
          throw SourceDatabase.queryError("Cannot drop replication slot " + name, e);
        }
        pause();
      }
    }
  }

  private static LogSequenceNumber lsn(String text) {
    return text == null ? LogSequenceNumber.INVALID_LSN : LogSequenceNumber.valueOf(text);
  }

  private static void pause() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LakehouseException("Interrupted while waiting for a replication slot", e);
    }
  }

  private static void closeQuietly(Connection connection) {
    try {
      connection.close();
    } catch (SQLException e) {
      // Closing ends the exported snapshot either way.
    }
  }
}
