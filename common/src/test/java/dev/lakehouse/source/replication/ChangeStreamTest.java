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
      int i = 0;
      while (i < events.size()) {
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

    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "account_pub", start)) {
      assertTrue(transactional(eventsUntilMarker(stream)).isEmpty(), "nothing yet");
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

      // one poll after all three transactions
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

  @Test
  void anUnchangedToastedValueArrivesAsUnchangedToastNotAsAValue() {
    execute("CREATE TABLE doc (id int PRIMARY KEY, title text, body text)",
        // ~1.3 MB of random hex: stored out of line (TOAST), barely compressible.
        "INSERT INTO doc SELECT 1, 'draft', string_agg(md5(random()::text), '') FROM generate_series(1, 40000)");
    String body = (String) scalar("SELECT body FROM doc WHERE id = 1");
    assertTrue(body.length() > 1_000_000);
    assertTrue(((Number) scalar("SELECT pg_column_size(body) FROM doc")).intValue() > 500_000, "stored uncompressed");
    Publication.ensure(connectQuietly(), "doc_pub", List.of(new TableName("public", "doc")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);
    execute("UPDATE doc SET title = 'final' WHERE id = 1",
        "UPDATE doc SET body = 'short now' WHERE id = 1");
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "doc_pub", start)) {
      List<Change> changes = only(eventsUntilMarker(stream), Change.class);
      assertEquals(2, changes.size());
      Change titleOnly = changes.get(0);
      assertEquals("final", text(titleOnly.newValue("title")));
      assertEquals(ColumnValue.Kind.UNCHANGED_TOAST, titleOnly.newValue("body").kind());
      assertEquals(-1, titleOnly.newValue("body").length(), "no placeholder bytes");
      Change bodyChanged = changes.get(1);
      assertEquals("short now", text(bodyChanged.newValue("body")));
    }
  }

  @Test
  void aToastedValueWrittenByTheChangeArrivesWhole() {
    execute("CREATE TABLE blob (id int PRIMARY KEY, body text)");
    Publication.ensure(connectQuietly(), "blob_pub", List.of(new TableName("public", "blob")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);
    execute("INSERT INTO blob SELECT 1, string_agg(md5(random()::text), '') FROM generate_series(1, 40000)");
    String body = (String) scalar("SELECT body FROM blob");
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "blob_pub", start)) {
      Change insert = only(eventsUntilMarker(stream), Change.class).get(0);
      assertEquals(body, text(insert.newValue("body")));
    }
  }

  @Test
  void replicaIdentityDefaultSendsTheOldKeyAndFullSendsTheOldRow() {
    execute("CREATE TABLE person (id int PRIMARY KEY, name text, city text)",
        "INSERT INTO person VALUES (1, 'Ada', 'London'), (2, 'Grace', 'Arlington'), (3, 'Edsger', 'Nuenen')");
    Publication.ensure(connectQuietly(), "person_pub", List.of(new TableName("public", "person")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);
    execute("UPDATE person SET id = 10 WHERE id = 1", // key changed: old key sent
        "DELETE FROM person WHERE id = 2",
        "ALTER TABLE person REPLICA IDENTITY FULL",
        "UPDATE person SET city = 'Austin' WHERE id = 3",
        "DELETE FROM person WHERE id = 3");
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "person_pub", start)) {
      List<ReplicationEvent> events = eventsUntilMarker(stream);
      List<Change> changes = only(events, Change.class);
      assertEquals(4, changes.size());

      Change keyUpdate = changes.get(0);
      assertEquals(Relation.ReplicaIdentity.DEFAULT, keyUpdate.relation().replicaIdentity());
      assertEquals(List.of("id"), keyUpdate.relation().keyColumns());
      assertEquals(OldImage.KEY, keyUpdate.oldImage());
      assertEquals(1, int4(keyUpdate.oldValue("id")));
      assertTrue(keyUpdate.oldValue("name").isNull());
      assertEquals(10, int4(keyUpdate.newValue("id")));

      Change keyDelete = changes.get(1);
      assertEquals(OldImage.KEY, keyDelete.oldImage());
      assertEquals(2, int4(keyDelete.oldValue("id")));
      assertTrue(keyDelete.oldValue("name").isNull() && keyDelete.oldValue("city").isNull(),
          "DEFAULT: only the key of a deleted row");

      // ALTER TABLE ... REPLICA IDENTITY FULL: a new Relation, every column now part of the identity.
      Change fullUpdate = changes.get(2);
      assertEquals(Relation.ReplicaIdentity.FULL, fullUpdate.relation().replicaIdentity());
      assertEquals(List.of("id", "name", "city"), fullUpdate.relation().keyColumns());
      assertEquals(OldImage.FULL, fullUpdate.oldImage());
      assertEquals("Nuenen", text(fullUpdate.oldValue("city")));
      assertEquals("Austin", text(fullUpdate.newValue("city")));

      Change fullDelete = changes.get(3);
      assertEquals(OldImage.FULL, fullDelete.oldImage());
      assertEquals(List.of(3, "Edsger", "Austin"), List.of(int4(fullDelete.oldValue("id")),
          text(fullDelete.oldValue("name")), text(fullDelete.oldValue("city"))));
      assertEquals(2, only(events, RelationUpdate.class).size());
    }
  }

  @Test
  void aColumnAddedOrDroppedWhileStreamingComesWithANewRelation() {
    execute("CREATE TABLE shape (id int PRIMARY KEY, a int)");
    Publication.ensure(connectQuietly(), "shape_pub", List.of(new TableName("public", "shape")));
    String slot = uniqueSlot();
    LogSequenceNumber start = createSlot(slot);
    try (ChangeStream stream = ChangeStream.open(endpoint(), slot, "shape_pub", start)) {
      execute("INSERT INTO shape VALUES (1, 11)");
      List<ReplicationEvent> first = eventsUntilMarker(stream);
      execute("ALTER TABLE shape ADD COLUMN b text", "INSERT INTO shape VALUES (2, 22, 'two')");
      List<ReplicationEvent> afterAdd = eventsUntilMarker(stream);
      execute("ALTER TABLE shape DROP COLUMN a", "INSERT INTO shape VALUES (3, 'three')",
          "UPDATE shape SET b = 'one' WHERE id = 1");
      List<ReplicationEvent> afterDrop = eventsUntilMarker(stream);

      Change one = only(first, Change.class).get(0);
      assertEquals(List.of("id", "a"), names(one.relation()));
      assertEquals(List.of(1, 11), List.of(int4(one.newValues().get(0)), int4(one.newValues().get(1))));

      List<RelationUpdate> added = only(afterAdd, RelationUpdate.class);
      assertEquals(1, added.size());
      assertEquals(List.of("id", "a", "b"), names(added.get(0).relation()));
      Change two = only(afterAdd, Change.class).get(0);
      assertTrue(afterAdd.indexOf(added.get(0)) < afterAdd.indexOf(two), "the new shape comes first");
      assertEquals(added.get(0).relation(), two.relation());
      assertEquals(3, two.newValues().size());
      assertEquals("two", text(two.newValue("b")));

      List<RelationUpdate> dropped = only(afterDrop, RelationUpdate.class);
      assertEquals(1, dropped.size());
      assertEquals(List.of("id", "b"), names(dropped.get(0).relation()));
      List<Change> later = only(afterDrop, Change.class);
      assertEquals(2, later.size());
      for (Change change : later) {
        assertEquals(dropped.get(0).relation(), change.relation());
        assertEquals(2, change.newValues().size());
      }
      assertEquals("three", text(later.get(0).newValue("b")));
      assertEquals("one", text(later.get(1).newValue("b")));
    }
  }

  private static List<String> names(Relation relation) {
    return relation.columns().stream().map(Relation.Column::name).toList();
  }

  private static Connection connectQuietly() {
    try {
      return connect();
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
