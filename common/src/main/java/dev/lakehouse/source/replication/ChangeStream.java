package dev.lakehouse.source.replication;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceDatabase;
import dev.lakehouse.source.replication.ReplicationEvent.Commit;
import dev.lakehouse.source.replication.ReplicationEvent.KeepAlive;
import dev.lakehouse.source.replication.ReplicationEvent.LogicalMessage;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The changes of a publication's tables, read from a pgoutput slot over the streaming replication
 * protocol (pgjdbc's replication API): protocol version 1, {@code binary 'true'} (column values in
 * their types' binary send format), {@code messages 'true'} (logical messages, for heartbeats).
 *
 * <p>{@link #poll} yields one {@link ReplicationEvent} at a time, as it arrives: a transaction of
 * any size passes through without being held (the server sends a transaction after it committed,
 * spilling big ones to its own disk; this class keeps only the current transaction's xid, commit
 * LSN, commit time and change count).
 *
 * <h2>Exactly once: what the caller does</h2>
 * <ol>
 *   <li>Store every change together with the position it covers, durably (e.g. in the same Delta
 *       commit), then {@link #confirm} that position: a {@link Commit}'s {@code endLsn}, or, while
 *       holding no unstored transaction, a {@link KeepAlive}'s {@code walEnd} or a
 *       non-transactional {@link LogicalMessage}'s {@code lsn} (heartbeats). Nothing is ever
 *       confirmed automatically: pgjdbc's automatic flush is off, and the periodic status
 *       messages report only what was confirmed.</li>
 *   <li>Restart with {@link #open} from the position stored last (the stored end LSN). The server
 *       starts at that position or at the slot's confirmed position, whichever is later, and
 *       sends only transactions whose commit record is at or after it: a stored transaction
 *       (commit LSN below its own end LSN) is not sent again, one not yet stored is.</li>
 *   <li>Still drop transactions already stored, in case a position was confirmed that the caller
 *       did not store: skip a {@code Begin} whose {@code finalLsn} is below the stored end LSN
 *       (equivalently, at or below the stored commit LSN), with all its events up to its
 *       {@code Commit}.</li>
 *   <li>A transaction stored in parts (several commits on the lakehouse side) cannot be confirmed
 *       until its last part is stored; after a restart it arrives whole again, and changes whose
 *       {@code (commitLsn, ordinal)} is at or below the last stored pair are the ones to skip.</li>
 * </ol>
 *
 * <p>Keep polling: pgjdbc answers the server's keepalives only from inside {@link #poll}, and the
 * server drops a connection that stays silent for {@code wal_sender_timeout} (60 s by default).
 * A caller that blocks longer (a slow lakehouse commit) should close the stream first and reopen
 * it from its stored position.
 *
 * <p>Not thread-safe: poll, confirm and close from one thread.
 */
public final class ChangeStream implements AutoCloseable {

  /** Prefix of {@link #emitHeartbeat} messages. */
  public static final String HEARTBEAT_PREFIX = "lakehouse";

  private static final Logger LOG = LoggerFactory.getLogger(ChangeStream.class);
  private static final Duration STATUS_INTERVAL = Duration.ofSeconds(10);
  private static final long MAX_IDLE_SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private final Connection connection;
  private final PGReplicationStream stream;
  private final String slot;
  private final PgOutputDecoder decoder = new PgOutputDecoder();
  /** The highest position yielded so far (commit end, keepalive, message); keepalives must pass it. */
  private LogSequenceNumber highestSeen;
  private LogSequenceNumber lastConfirmed = LogSequenceNumber.INVALID_LSN;

  private ChangeStream(Connection connection, PGReplicationStream stream, String slot,
      LogSequenceNumber start) {
    this.connection = connection;
    this.stream = stream;
    this.slot = slot;
    this.highestSeen = start;
  }

  /**
   * Starts streaming slot {@code slot} for publication {@code publication}.
   *
   * @param start the position to start from: the stored position (a commit's end LSN, a keepalive
   *     confirmed, or the slot's consistent point for a fresh slot); {@link
   *     LogSequenceNumber#INVALID_LSN} for the slot's confirmed position. The server never starts
   *     before the slot's confirmed position.
   */
  public static ChangeStream open(ReplicationEndpoint endpoint, String slot, String publication,
      LogSequenceNumber start) {
    return open(endpoint, slot, publication, start, Duration.ofSeconds(10));
  }

  /**
   * How long to wait for a slot that another stream still holds: the server's
   * {@code wal_sender_timeout} (60 s when it is off), plus a margin. A stream whose process was
   * killed usually lets go at once, but its server process may be busy decoding and notice only
   * later; the server drops it at the latest when its client has been silent that long.
   */
  public static Duration slotReleaseWait(Connection connection) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(
        "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_sender_timeout'");
         ResultSet rows = statement.executeQuery()) {
      long millis = rows.next() ? rows.getLong(1) : 0;
      return Duration.ofMillis(millis > 0 ? millis : 60_000).plusSeconds(5);
    }
  }

  /**
   * As {@link #open(ReplicationEndpoint, String, String, LogSequenceNumber)}, waiting up to
   * {@code waitForSlot} while the slot is still held by a stream that is ending (a closed
   * stream's server process may take a moment to let go of it).
   */
  public static ChangeStream open(ReplicationEndpoint endpoint, String slot, String publication,
      LogSequenceNumber start, Duration waitForSlot) {
    return open(endpoint, slot, publication, start, waitForSlot, true);
  }

  /**
   * As above; with {@code binary} false, values come in their types' text output form (as
   * {@code ::text} prints them in the replication session's settings), every type alike.
   */
  public static ChangeStream open(ReplicationEndpoint endpoint, String slot, String publication,
      LogSequenceNumber start, Duration waitForSlot, boolean binary) {
    Names.slot(slot);
    Names.publication(publication);
    long deadline = System.nanoTime() + waitForSlot.toNanos();
    boolean waited = false;
    while (true) {
      Connection connection = endpoint.connectReplication();
      try {
        PGReplicationStream stream = connection.unwrap(PGConnection.class).getReplicationAPI()
            .replicationStream()
            .logical()
            .withSlotName(slot)
            .withStartPosition(start)
            .withSlotOption("proto_version", 1)
            .withSlotOption("publication_names", publication)
            .withSlotOption("binary", binary)
            .withSlotOption("messages", true)
            .withStatusInterval((int) STATUS_INTERVAL.toMillis(), TimeUnit.MILLISECONDS)
            .withAutomaticFlush(false)
            .start();
        return new ChangeStream(connection, stream, slot, start);
      } catch (SQLException e) {
        closeQuietly(connection);
        boolean slotBusy = "55006".equals(e.getSQLState());
        if (slotBusy && System.nanoTime() < deadline) {
          if (!waited && waitForSlot.compareTo(Duration.ofSeconds(5)) > 0) {
            LOG.info("log: replication slot {} is still held by an earlier stream; waiting up to {} s for the"
                + " server to let it go", slot, waitForSlot.toSeconds());
          }
          waited = true;
          sleep(TimeUnit.MILLISECONDS.toNanos(50));
          continue;
        }
        if ("42704".equals(e.getSQLState())) {
          throw new LakehouseException("Replication slot " + slot + " does not exist: create it (with its"
              + " snapshot copy) first", e);
        }
        throw SourceDatabase.queryError("Cannot stream replication slot " + slot
            + (slotBusy ? " (another stream holds it" + (waited ? ", still after " + waitForSlot.toSeconds() + " s" : "")
            + ")" : ""), e);
      } catch (RuntimeException e) {
        closeQuietly(connection);
        throw e;
      }
    }
  }

  /**
   * The next event, waiting up to {@code timeout} for one; empty if none came. Also answers the
   * server's keepalives and sends the periodic status (as pgjdbc does on every read).
   */
  public Optional<ReplicationEvent> poll(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long sleep = 0;
    try {
      while (true) {
        ByteBuffer message = stream.readPending();
        if (message != null) {
          LogSequenceNumber at = stream.getLastReceiveLSN();
          ReplicationEvent event = decoder.decode(message, at);
          if (event == null) {
            continue;
          }
          if (event instanceof Commit commit) {
            advance(commit.endLsn());
          } else if (event instanceof LogicalMessage m && !m.transactional()) {
            advance(m.lsn());
          }
          return Optional.of(event);
        }
        // Nothing pending: a keepalive read on the way may have moved the server's position.
        LogSequenceNumber serverPosition = stream.getLastReceiveLSN();
        if (!decoder.inTransaction() && serverPosition.compareTo(highestSeen) > 0) {
          highestSeen = serverPosition;
          return Optional.of(new KeepAlive(serverPosition));
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return Optional.empty();
        }
        sleep = Math.min(Math.max(sleep * 2, TimeUnit.MICROSECONDS.toNanos(200)), MAX_IDLE_SLEEP_NANOS);
        sleep(Math.min(sleep, left));
      }
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Replication stream of slot " + slot + " failed", e);
    }
  }

  /**
   * Tells the server everything up to {@code lsn} is stored durably: the slot's confirmed position
   * moves there and the server may recycle the WAL before it. Sent at once. Call it only after
   * storing: a restart never sends a transaction whose commit LSN is below a confirmed position.
   * A position below one confirmed before on this stream is ignored.
   *
   * @throws IllegalArgumentException for a position beyond what this stream has yielded
   */
  public void confirm(LogSequenceNumber lsn) {
    if (lsn.compareTo(highestSeen) > 0) {
      throw new IllegalArgumentException("Cannot confirm " + lsn + ": the stream has yielded positions up to "
          + highestSeen + " only");
    }
    if (lsn.compareTo(lastConfirmed) <= 0) {
      return;
    }
    stream.setFlushedLSN(lsn);
    stream.setAppliedLSN(lsn);
    try {
      stream.forceUpdateStatus();
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot confirm " + lsn + " on replication slot " + slot, e);
    }
    lastConfirmed = lsn;
  }

  /**
   * Answers the server with the position already confirmed, confirming nothing new: for a caller
   * busy on this thread for longer than {@code wal_sender_timeout} allows between polls.
   */
  public void keepAlive() {
    try {
      stream.forceUpdateStatus();
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot answer replication slot " + slot, e);
    }
  }

  /** The last position confirmed on this stream ({@link LogSequenceNumber#INVALID_LSN} if none). */
  public LogSequenceNumber lastConfirmed() {
    return lastConfirmed;
  }

  /** The WAL position of the last message or keepalive received from the server. */
  public LogSequenceNumber lastReceived() {
    return stream.getLastReceiveLSN();
  }

  /** Whether the last event yielded was inside a transaction (after Begin, before its Commit). */
  public boolean inTransaction() {
    return decoder.inTransaction();
  }

  /**
   * Writes a non-transactional logical message (prefix {@code lakehouse}) to the source's WAL, on
   * an ordinary connection, and returns its position (the end of its record). Streams of every
   * pgoutput slot on the database yield it within the WAL writer's delay (the record is flushed
   * with the next background flush) as a {@link LogicalMessage} with that position, which the
   * caller confirms like a keepalive when it holds no unconfirmed transaction. Emit one now and
   * then so a slot advances even when the database is idle (its confirmed position otherwise
   * stays behind the WAL the server writes for itself). Needs no special privilege (a role
   * without REPLICATION can call it; checked on PostgreSQL 17) and touches no table.
   */
  public static LogSequenceNumber emitHeartbeat(Connection connection) {
    try (PreparedStatement p = connection.prepareStatement(
        "SELECT pg_catalog.pg_logical_emit_message(false, ?, 'heartbeat')::text")) {
      p.setString(1, HEARTBEAT_PREFIX);
      try (ResultSet rs = p.executeQuery()) {
        rs.next();
        return LogSequenceNumber.valueOf(rs.getString(1));
      }
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot write a replication heartbeat", e);
    }
  }

  /**
   * Stops streaming and closes the connection; nothing is confirmed. The slot's server process
   * lets go of the slot shortly after.
   */
  @Override
  public void close() {
    try {
      // Closing the connection (a Terminate message) ends the walsender; ending the COPY first
      // would make the driver read through everything the server still has in flight.
      connection.close();
    } catch (SQLException e) {
      // The server ends the stream when the connection goes either way.
    }
  }

  private void advance(LogSequenceNumber position) {
    if (position.compareTo(highestSeen) > 0) {
      highestSeen = position;
    }
  }

  private static void sleep(long nanos) {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LakehouseException("Interrupted while reading a replication stream", e);
    }
  }

  private static void closeQuietly(Connection connection) {
    try {
      connection.close();
    } catch (SQLException e) {
      // Already failing; the original error is the one to report.
    }
  }
}
