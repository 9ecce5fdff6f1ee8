package dev.lakehouse.source.replication;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.replication.ReplicationEvent.Begin;
import dev.lakehouse.source.replication.ReplicationEvent.Change;
import dev.lakehouse.source.replication.ReplicationEvent.Commit;
import dev.lakehouse.source.replication.ReplicationEvent.LogicalMessage;
import dev.lakehouse.source.replication.ReplicationEvent.OldImage;
import dev.lakehouse.source.replication.ReplicationEvent.Op;
import dev.lakehouse.source.replication.ReplicationEvent.RelationUpdate;
import dev.lakehouse.source.replication.ReplicationEvent.Truncate;
import dev.lakehouse.source.replication.ReplicationEvent.TypeInfo;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Decodes pgoutput messages, protocol version 1 ("Logical Replication Message Formats" in the
 * PostgreSQL documentation), one XLogData payload at a time. Keeps the relations announced in this
 * session and the current transaction's xid, commit LSN, commit time and change count; holds no
 * change. Not thread-safe.
 */
final class PgOutputDecoder {

  /** PostgreSQL timestamps count microseconds from 2000-01-01 00:00:00 UTC. */
  private static final long POSTGRES_EPOCH_SECONDS = 946_684_800L;

  private final Map<Long, Relation> relations = new HashMap<>();
  private boolean inTransaction;
  private long xid;
  private LogSequenceNumber commitLsn;
  private Instant commitTime;
  private long ordinal;

  boolean inTransaction() {
    return inTransaction;
  }

  /**
   * The event one message stands for, or null for a message this API does not surface (Origin).
   *
   * @param lsn the message's WAL position (the XLogData start)
   */
  ReplicationEvent decode(ByteBuffer message, LogSequenceNumber lsn) {
    byte type = message.get();
    return switch (type) {
      case 'B' -> begin(message);
      case 'C' -> commit(message);
      case 'R' -> relation(message);
      case 'Y' -> new TypeInfo(message.getInt(), namespace(string(message)), string(message));
      case 'I' -> insert(message, lsn);
      case 'U' -> update(message, lsn);
      case 'D' -> delete(message, lsn);
      case 'T' -> truncate(message, lsn);
      case 'M' -> logicalMessage(message);
      case 'O' -> null; // Origin: the source replays another node's changes; nothing to do here.
      default -> throw new LakehouseException("Unexpected pgoutput message '" + (char) type
          + "' (protocol version 1 without streaming or two-phase sends none)");
    };
  }

  private Begin begin(ByteBuffer in) {
    if (inTransaction) {
      throw protocol("BEGIN inside transaction " + xid);
    }
    commitLsn = LogSequenceNumber.valueOf(in.getLong());
    commitTime = timestamp(in.getLong());
    xid = Integer.toUnsignedLong(in.getInt());
    ordinal = 0;
    inTransaction = true;
    return new Begin(xid, commitLsn, commitTime);
  }

  private Commit commit(ByteBuffer in) {
    requireTransaction("COMMIT");
    in.get(); // flags, unused
    LogSequenceNumber lsn = LogSequenceNumber.valueOf(in.getLong());
    LogSequenceNumber end = LogSequenceNumber.valueOf(in.getLong());
    Instant time = timestamp(in.getLong());
    if (!lsn.equals(commitLsn)) {
      throw protocol("COMMIT at " + lsn + " but BEGIN announced " + commitLsn);
    }
    inTransaction = false;
    return new Commit(xid, lsn, end, time, ordinal);
  }

  private RelationUpdate relation(ByteBuffer in) {
    long oid = Integer.toUnsignedLong(in.getInt());
    String namespace = namespace(string(in));
    String name = string(in);
    Relation.ReplicaIdentity identity = Relation.ReplicaIdentity.of((char) in.get());
    int count = in.getShort();
    List<Relation.Column> columns = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      boolean key = (in.get() & 1) != 0;
      String column = string(in);
      int typeOid = in.getInt();
      int typeModifier = in.getInt();
      columns.add(new Relation.Column(column, typeOid, typeModifier, key));
    }
    Relation relation = new Relation(oid, namespace, name, identity, columns);
    relations.put(oid, relation);
    return new RelationUpdate(relation);
  }

  private Change insert(ByteBuffer in, LogSequenceNumber lsn) {
    Relation relation = relationFor(in, "INSERT");
    expect(in, 'N', "INSERT");
    return change(relation, Op.INSERT, tuple(in, relation), OldImage.NONE, List.of(), lsn);
  }

  private Change update(ByteBuffer in, LogSequenceNumber lsn) {
    Relation relation = relationFor(in, "UPDATE");
    byte kind = in.get();
    OldImage image = OldImage.NONE;
    List<ColumnValue> old = List.of();
    if (kind == 'K' || kind == 'O') {
      image = kind == 'K' ? OldImage.KEY : OldImage.FULL;
      old = tuple(in, relation);
      kind = in.get();
    }
    if (kind != 'N') {
      throw protocol("UPDATE of " + relation.table() + " without a new tuple ('" + (char) kind + "')");
    }
    return change(relation, Op.UPDATE, tuple(in, relation), image, old, lsn);
  }

  private Change delete(ByteBuffer in, LogSequenceNumber lsn) {
    Relation relation = relationFor(in, "DELETE");
    byte kind = in.get();
    if (kind != 'K' && kind != 'O') {
      throw protocol("DELETE of " + relation.table() + " without an old tuple ('" + (char) kind + "')");
    }
    OldImage image = kind == 'K' ? OldImage.KEY : OldImage.FULL;
    return change(relation, Op.DELETE, List.of(), image, tuple(in, relation), lsn);
  }

  private Change change(Relation relation, Op op, List<ColumnValue> newValues, OldImage image,
      List<ColumnValue> oldValues, LogSequenceNumber lsn) {
    requireTransaction(op.name());
    return new Change(relation, op, newValues, image, oldValues, xid, commitLsn, commitTime,
        ++ordinal, lsn);
  }

  private Truncate truncate(ByteBuffer in, LogSequenceNumber lsn) {
    requireTransaction("TRUNCATE");
    int count = in.getInt();
    byte options = in.get();
    List<Relation> truncated = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      truncated.add(known(Integer.toUnsignedLong(in.getInt()), "TRUNCATE"));
    }
    return new Truncate(truncated, (options & 1) != 0, (options & 2) != 0, xid, commitLsn,
        commitTime, ++ordinal, lsn);
  }

  private LogicalMessage logicalMessage(ByteBuffer in) {
    boolean transactional = (in.get() & 1) != 0;
    LogSequenceNumber lsn = LogSequenceNumber.valueOf(in.getLong());
    String prefix = string(in);
    byte[] content = new byte[in.getInt()];
    in.get(content);
    if (transactional) {
      requireTransaction("a transactional message");
    }
    return new LogicalMessage(transactional, lsn, prefix, content, transactional ? xid : 0);
  }

  /** TupleData: Int16 count, then per column 'n', 'u', or 't'/'b' with Int32 length and bytes. */
  private List<ColumnValue> tuple(ByteBuffer in, Relation relation) {
    int count = in.getShort();
    if (count != relation.columns().size()) {
      throw protocol("a tuple of " + relation.table() + " has " + count + " columns, its relation "
          + relation.columns().size());
    }
    List<ColumnValue> values = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      byte kind = in.get();
      switch (kind) {
        case 'n' -> values.add(ColumnValue.NULL);
        case 'u' -> values.add(ColumnValue.UNCHANGED_TOAST);
        case 'b', 't' -> {
          byte[] bytes = new byte[in.getInt()];
          in.get(bytes);
          values.add(new ColumnValue(kind == 'b' ? ColumnValue.Kind.BINARY : ColumnValue.Kind.TEXT, bytes));
        }
        default -> throw protocol("unknown column kind '" + (char) kind + "' in " + relation.table());
      }
    }
    return values;
  }

  private Relation relationFor(ByteBuffer in, String what) {
    return known(Integer.toUnsignedLong(in.getInt()), what);
  }

  private Relation known(long oid, String what) {
    Relation relation = relations.get(oid);
    if (relation == null) {
      throw protocol(what + " of relation " + oid + " before its Relation message");
    }
    return relation;
  }

  private static void expect(ByteBuffer in, char expected, String what) {
    byte got = in.get();
    if (got != expected) {
      throw protocol(what + ": expected '" + expected + "', got '" + (char) got + "'");
    }
  }

  private void requireTransaction(String what) {
    if (!inTransaction) {
      throw protocol(what + " outside a transaction");
    }
  }

  /** A NUL-terminated string in the server's encoding (UTF-8 for the sources we support). */
  private static String string(ByteBuffer in) {
    int start = in.position();
    int end = start;
    while (in.get(end) != 0) {
      end++;
    }
    String value = new String(in.array(), in.arrayOffset() + start, end - start, StandardCharsets.UTF_8);
    in.position(end + 1);
    return value;
  }

  private static String namespace(String sent) {
    return sent.isEmpty() ? "pg_catalog" : sent;
  }

  static Instant timestamp(long micros) {
    return Instant.ofEpochSecond(POSTGRES_EPOCH_SECONDS + Math.floorDiv(micros, 1_000_000L),
        Math.floorMod(micros, 1_000_000L) * 1_000L);
  }

  private static LakehouseException protocol(String what) {
    return new LakehouseException("pgoutput protocol error: " + what);
  }
}
