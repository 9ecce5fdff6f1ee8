package dev.lakehouse.source.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.source.replication.ReplicationEvent.Begin;
import dev.lakehouse.source.replication.ReplicationEvent.Change;
import dev.lakehouse.source.replication.ReplicationEvent.Commit;
import dev.lakehouse.source.replication.ReplicationEvent.OldImage;
import dev.lakehouse.source.replication.ReplicationEvent.Op;
import dev.lakehouse.source.replication.ReplicationEvent.RelationUpdate;
import dev.lakehouse.source.replication.ReplicationEvent.Truncate;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.postgresql.replication.LogSequenceNumber;

/** Decoding of inserts, updates, deletes and truncates streamed from a real server. */
class ChangeStreamTest extends ReplicationTestBase {

  private static final int INT4 = 23;
  private static final int TEXT = 25;
  private static final int TIMESTAMPTZ = 1184;
  private static final int NUMERIC = 1700;

  @Test
  void insertUpdateDeleteAndTruncateArriveWithTheirValues() {
    execute("CREATE TABLE items (id int4 PRIMARY KEY, name text, at timestamptz, price numeric(12,4), note text)");
    Publication.ensure(connectQuietly(), "items_pub", List.of(new TableName("public", "items")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);

    execute("INSERT INTO items VALUES (1, 'widget', '2024-05-06 07:08:09.123456+00', 1234.56, NULL)");
    List<byte[]> copied = binaryCopyRow("SELECT id, name, at, price, note FROM items WHERE id = 1");
    execute("UPDATE items SET name = 'gadget', price = -0.5 WHERE id = 1");
    execute("DELETE FROM items WHERE id = 1");
    execute("TRUNCATE items");

    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "items_pub", start)) {
      List<ReplicationEvent> events = transactional(eventsUntilMarker(stream));
      // The relation is announced before its first change, and again after TRUNCATE gave the table a
      // new file (a relation cache invalidation), with the same shape.
      assertEquals(List.of("Begin", "RelationUpdate", "Change", "Commit", "Begin", "Change", "Commit",
              "Begin", "Change", "Commit", "Begin", "RelationUpdate", "Truncate", "Commit"),
          events.stream().map(e -> e.getClass().getSimpleName()).toList());

      Relation relation = assertInstanceOf(RelationUpdate.class, events.get(1)).relation();
      assertEquals(new TableName("public", "items"), relation.table());
      assertEquals(Relation.ReplicaIdentity.DEFAULT, relation.replicaIdentity());
      assertEquals(List.of(
          new Relation.Column("id", INT4, -1, true),
          new Relation.Column("name", TEXT, -1, false),
          new Relation.Column("at", TIMESTAMPTZ, -1, false),
          new Relation.Column("price", NUMERIC, ((12 << 16) | 4) + 4, false), // VARHDRSZ + (precision, scale)
          new Relation.Column("note", TEXT, -1, false)), relation.columns());
      assertEquals(((Number) scalar("SELECT 'items'::regclass::oid")).longValue(), relation.oid());

      Change insert = assertInstanceOf(Change.class, events.get(2));
      assertEquals(Op.INSERT, insert.op());
      assertEquals(OldImage.NONE, insert.oldImage());
      assertTrue(insert.oldValues().isEmpty());
      assertArrayEquals(new byte[] {0, 0, 0, 1}, insert.newValue("id").bytes());
      assertArrayEquals("widget".getBytes(StandardCharsets.UTF_8), insert.newValue("name").bytes());
      long micros = java.time.Duration.between(Instant.parse("2000-01-01T00:00:00Z"),
          Instant.parse("2024-05-06T07:08:09.123456Z")).toNanos() / 1000;
      assertArrayEquals(ByteBuffer.allocate(8).putLong(micros).array(), insert.newValue("at").bytes());
      // numeric 1234.5600: 2 digits, weight 0, sign +, dscale 4, base-10000 digits 1234 and 5600.
      assertEquals("00020000000000" + "0404d215e0", HexFormat.of().formatHex(insert.newValue("price").bytes()));
      assertTrue(insert.newValue("note").isNull());
      // The very bytes a binary COPY of the same row carries.
      for (int i = 0; i < copied.size(); i++) {
        ColumnValue value = insert.newValues().get(i);
        if (copied.get(i) == null) {
          assertTrue(value.isNull());
        } else {
          assertArrayEquals(copied.get(i), value.bytes(), "column " + relation.columns().get(i).name());
        }
      }
      assertEquals(1, insert.ordinal());

      Change update = assertInstanceOf(Change.class, events.get(5));
      assertEquals(Op.UPDATE, update.op());
      assertEquals(OldImage.NONE, update.oldImage(), "the key did not change: no old image");
      assertEquals(1, int4(update.newValue("id")));
      assertEquals("gadget", text(update.newValue("name")));
      assertEquals(new BigDecimal("-0.5000"), numeric(update.newValue("price")));
      assertEquals(Instant.parse("2024-05-06T07:08:09.123456Z"), timestamptz(update.newValue("at")));

      Change delete = assertInstanceOf(Change.class, events.get(8));
      assertEquals(Op.DELETE, delete.op());
      assertTrue(delete.newValues().isEmpty());
      assertEquals(OldImage.KEY, delete.oldImage());
      assertEquals(1, int4(delete.oldValue("id")));
      assertTrue(delete.oldValue("name").isNull(), "non-key columns of an old key are NULL");

      assertEquals(relation, assertInstanceOf(RelationUpdate.class, events.get(11)).relation());
      Truncate truncate = assertInstanceOf(Truncate.class, events.get(12));
      assertEquals(List.of(relation), truncate.relations());
      assertFalse(truncate.cascade());
      assertFalse(truncate.restartIdentity());
      assertEquals(1, truncate.ordinal());

      // Every change carries its transaction's xid, commit LSN and time, known from BEGIN.
      for (int i = 0; i < events.size(); i += 0) {
        Begin begin = assertInstanceOf(Begin.class, events.get(i));
        int end = i + 1;
        while (!(events.get(end) instanceof Commit)) {
          end++;
        }
        Commit commit = (Commit) events.get(end);
        assertEquals(begin.finalLsn(), commit.commitLsn());
        assertEquals(begin.xid(), commit.xid());
        assertEquals(begin.commitTime(), commit.commitTime());
        assertTrue(commit.endLsn().compareTo(commit.commitLsn()) > 0);
        assertEquals(1, commit.changes());
        for (ReplicationEvent e : events.subList(i + 1, end)) {
          if (e instanceof Change c) {
            assertEquals(List.of(begin.xid(), begin.finalLsn(), begin.commitTime()),
                List.of(c.xid(), c.commitLsn(), c.commitTime()));
          }
        }
        i = end + 1;
      }
    }
  }

  @Test
  void truncateCarriesEveryPublishedTableAndItsOptions() {
    execute("CREATE TABLE parent (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY)",
        "CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent)",
        "INSERT INTO parent DEFAULT VALUES", "INSERT INTO child VALUES (1, 1)");
    Publication.ensure(connectQuietly(), "family_pub",
        List.of(new TableName("public", "parent"), new TableName("public", "child")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);
    execute("TRUNCATE parent RESTART IDENTITY CASCADE");
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "family_pub", start)) {
      List<Truncate> truncates = only(eventsUntilMarker(stream), Truncate.class);
      assertEquals(1, truncates.size());
      Truncate truncate = truncates.get(0);
      assertEquals(Set.of("parent", "child"),
          truncate.relations().stream().map(Relation::name).collect(Collectors.toSet()));
      assertTrue(truncate.cascade());
      assertTrue(truncate.restartIdentity());
    }
  }

  @Test
  void twoUpdatesAndADeleteBetweenPollsAllArriveInOrder() throws Exception {
    execute("CREATE TABLE account (id int PRIMARY KEY, balance int)", "INSERT INTO account VALUES (7, 100)");
    Publication.ensure(connectQuietly(), "account_pub", List.of(new TableName("public", "account")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);

    record Tx(long xid, Instant started, LogSequenceNumber after) {}
    List<Tx> txs = new ArrayList<>();
    try (Connection c = connect(); Statement s = c.createStatement()) {
      for (String dml : List.of("UPDATE account SET balance = 150 WHERE id = 7",
          "UPDATE account SET balance = 175 WHERE id = 7", "DELETE FROM account WHERE id = 7")) {
        c.setAutoCommit(false);
        s.execute(dml);
        long xid;
        Instant started;
        try (ResultSet rs = s.executeQuery("SELECT pg_current_xact_id()::text::bigint, now()")) {
          rs.next();
          xid = rs.getLong(1);
          started = rs.getTimestamp(2).toInstant();
        }
        c.commit();
        c.setAutoCommit(true);
        txs.add(new Tx(xid, started, lsn("SELECT pg_current_wal_insert_lsn()")));
      }
    }

    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "account_pub", start)) {
      List<ReplicationEvent> events = transactional(eventsUntilMarker(stream));
      List<Change> changes = only(events, Change.class);
      List<Commit> commits = only(events, Commit.class);
      assertEquals(List.of(Op.UPDATE, Op.UPDATE, Op.DELETE), changes.stream().map(Change::op).toList());
      assertEquals(150, int4(changes.get(0).newValue("balance")));
      assertEquals(175, int4(changes.get(1).newValue("balance")));
      assertEquals(7, int4(changes.get(2).oldValue("id")));
      assertEquals(3, commits.size());
      LogSequenceNumber previousEnd = start;
      for (int i = 0; i < 3; i++) {
        Change change = changes.get(i);
        Commit commit = commits.get(i);
        Tx tx = txs.get(i);
        assertEquals(tx.xid(), change.xid());
        assertEquals(commit.commitLsn(), change.commitLsn());
        assertEquals(commit.commitTime(), change.commitTime());
        assertTrue(commit.commitLsn().compareTo(previousEnd) >= 0, "commit LSNs increase");
        assertTrue(commit.endLsn().compareTo(tx.after()) <= 0, "committed before the WAL position read after it");
        assertFalse(change.commitTime().isBefore(tx.started()), "commits after the transaction started");
        if (i + 1 < 3) {
          assertFalse(change.commitTime().isAfter(txs.get(i + 1).started()), "and before the next one started");
        }
        previousEnd = commit.endLsn();
      }
    }
  }

  private static Connection connectQuietly() {
    try {
      return connect();
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
