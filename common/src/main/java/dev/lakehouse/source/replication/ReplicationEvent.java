package dev.lakehouse.source.replication;

import java.time.Instant;
import java.util.List;
import org.postgresql.replication.LogSequenceNumber;

/**
 * What a {@link ChangeStream} yields, in the order of the source's commit log. A committed
 * transaction arrives as {@link Begin}, then its {@link RelationUpdate}s, {@link TypeInfo}s,
 * {@link Change}s, {@link Truncate}s and transactional {@link LogicalMessage}s as they come, then
 * {@link Commit}. Transactions never interleave (protocol version 1: a transaction is sent once it
 * committed, in commit order); rolled-back transactions are never sent.
 * Between transactions: non-transactional {@link LogicalMessage}s (heartbeats) and
 * {@link KeepAlive}s.
 *
 * <p>Commit LSN and commit time are known from {@link Begin} on, so every {@link Change} carries
 * them: nothing needs to wait for the {@link Commit} message, and a transaction of any size is
 * passed on change by change.
 */
public sealed interface ReplicationEvent {

  /**
   * A transaction starts.
   *
   * @param xid the transaction id (unsigned 32 bits)
   * @param finalLsn the LSN of the transaction's commit record: equals {@link Commit#commitLsn()}
   * @param commitTime when the transaction committed on the source
   */
  record Begin(long xid, LogSequenceNumber finalLsn, Instant commitTime) implements ReplicationEvent {}

  /**
   * A transaction ends; every change of it has been yielded.
   *
   * @param commitLsn the LSN of the commit record (what {@link Begin#finalLsn()} announced)
   * @param endLsn the end of the commit record: the position to {@link ChangeStream#confirm} once
   *     the transaction is stored. A stream started from {@code endLsn} does not send this
   *     transaction again.
   * @param changes how many {@link Change}s and {@link Truncate}s the transaction had
   */
  record Commit(long xid, LogSequenceNumber commitLsn, LogSequenceNumber endLsn, Instant commitTime,
      long changes) implements ReplicationEvent {}

  enum Op { INSERT, UPDATE, DELETE }

  /** What an UPDATE or DELETE carries of the old row. */
  enum OldImage {
    /** Nothing: an INSERT, or an UPDATE that did not change the replica identity key. */
    NONE,
    /** The old replica identity key; every other column is NULL. */
    KEY,
    /** The whole old row (REPLICA IDENTITY FULL). */
    FULL
  }

  /**
   * One row changed.
   *
   * @param relation the table, its shape as current for this change
   * @param op INSERT, UPDATE or DELETE
   * @param newValues the new row, one value per {@code relation.columns()} (empty for a DELETE)
   * @param oldImage what {@code oldValues} holds
   * @param oldValues the old key or the old row, one value per column (empty if {@code NONE})
   * @param xid the transaction
   * @param commitLsn the LSN of the transaction's commit record
   * @param commitTime when the transaction committed
   * @param ordinal 1, 2, 3, ... within the transaction, counting changes and truncates
   * @param lsn the WAL position of this change (increasing within the transaction)
   */
  record Change(Relation relation, Op op, List<ColumnValue> newValues, OldImage oldImage,
      List<ColumnValue> oldValues, long xid, LogSequenceNumber commitLsn, Instant commitTime,
      long ordinal, LogSequenceNumber lsn) implements ReplicationEvent {

    public Change {
      newValues = List.copyOf(newValues);
      oldValues = List.copyOf(oldValues);
    }

    /** The new value of a column by name (not for a DELETE). */
    public ColumnValue newValue(String column) {
      return value(newValues, column);
    }

    /** The old value of a column by name (NULL for non-key columns of an old key). */
    public ColumnValue oldValue(String column) {
      return value(oldValues, column);
    }

    private ColumnValue value(List<ColumnValue> values, String column) {
      int i = relation.indexOf(column);
      if (i < 0) {
        throw new IllegalArgumentException(relation.table() + " has no column " + column);
      }
      if (values.isEmpty()) {
        throw new IllegalStateException("this " + op + " carries no such row image");
      }
      return values.get(i);
    }
  }

  /**
   * Tables emptied by one TRUNCATE (those of them that are published).
   *
   * @param cascade {@code TRUNCATE ... CASCADE}
   * @param restartIdentity {@code TRUNCATE ... RESTART IDENTITY}
   */
  record Truncate(List<Relation> relations, boolean cascade, boolean restartIdentity, long xid,
      LogSequenceNumber commitLsn, Instant commitTime, long ordinal, LogSequenceNumber lsn)
      implements ReplicationEvent {

    public Truncate {
      relations = List.copyOf(relations);
    }
  }

  /**
   * A table's shape, sent before its first change in a session and after its definition
   * changed; later changes of the table use it.
   */
  record RelationUpdate(Relation relation) implements ReplicationEvent {}

  /** Names a non-built-in type (enum, domain, composite, extension type) a column uses. */
  record TypeInfo(int oid, String namespace, String name) implements ReplicationEvent {}

  /**
   * A message written by {@code pg_logical_emit_message}. Non-transactional ones (heartbeats)
   * arrive on their own, outside any transaction, as soon as they are decoded; transactional ones
   * inside their transaction, at commit.
   *
   * @param lsn the end of the message's WAL record (what {@code pg_logical_emit_message}
   *     returned). For a non-transactional message it works like a {@link KeepAlive}'s
   *     {@code walEnd}: everything committed before it has been yielded, so a caller holding no
   *     unconfirmed transaction may confirm it (no keepalive follows on an otherwise idle server).
   * @param xid the transaction for a transactional message, 0 otherwise
   */
  record LogicalMessage(boolean transactional, LogSequenceNumber lsn, String prefix, byte[] content,
      long xid) implements ReplicationEvent {}

  /**
   * The server has decoded the log up to {@code walEnd} and sent everything committed before it.
   * Yielded only between transactions and only when the position moved past everything yielded
   * before. A caller that holds no unconfirmed transaction may {@link ChangeStream#confirm} it:
   * this is how a slot keeps up while the published tables are idle.
   */
  record KeepAlive(LogSequenceNumber walEnd) implements ReplicationEvent {}
}
