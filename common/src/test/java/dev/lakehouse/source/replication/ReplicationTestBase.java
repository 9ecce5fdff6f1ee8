package dev.lakehouse.source.replication;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.source.replication.ReplicationEvent.LogicalMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Each test class gets its own database on the shared embedded PostgreSQL; slots a test leaves
 * are dropped after it (a forgotten slot would hold WAL back for the whole JVM).
 */
abstract class ReplicationTestBase {

  static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final String MARKER_PREFIX = "lakehouse-test-marker";

  static EmbeddedSource postgres;
  static String database;

  @BeforeAll
  static void createDatabase(org.junit.jupiter.api.TestInfo info) throws SQLException {
    postgres = SharedPostgres.get();
    database = "repl_" + info.getTestClass().orElseThrow().getSimpleName().toLowerCase(Locale.ROOT);
    try (Connection c = DriverManager.getConnection(url("postgres"), EmbeddedSource.SUPERUSER, "");
         Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery(
          "SELECT slot_name FROM pg_replication_slots WHERE database = '" + database + "'")) {
        List<String> stale = new ArrayList<>();
        while (rs.next()) {
          stale.add(rs.getString(1));
        }
        for (String slot : stale) {
          ReplicationSlot.drop(c, slot, Duration.ofSeconds(10));
        }
      }
      s.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
      s.execute("CREATE DATABASE " + database);
    }
  }

  @AfterEach
  void dropSlots() throws SQLException {
    try (Connection c = connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery(
             "SELECT slot_name FROM pg_replication_slots WHERE database = current_database()")) {
      List<String> slots = new ArrayList<>();
      while (rs.next()) {
        slots.add(rs.getString(1));
      }
      for (String slot : slots) {
        ReplicationSlot.drop(c, slot, Duration.ofSeconds(10));
      }
    }
  }

  static String url(String db) {
    return "jdbc:postgresql://127.0.0.1:" + postgres.port() + "/" + db;
  }

  static String url() {
    return url(database);
  }

  static ReplicationEndpoint endpoint() {
    return ReplicationEndpoint.of(url(), EmbeddedSource.SUPERUSER, "");
  }

  static Connection connect() throws SQLException {
    return DriverManager.getConnection(url(), EmbeddedSource.SUPERUSER, "");
  }

  static void execute(String... statements) {
    try (Connection c = connect(); Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  static List<List<Object>> query(String sql) {
    try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      List<List<Object>> rows = new ArrayList<>();
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          row.add(rs.getObject(i));
        }
        rows.add(row);
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  static Object scalar(String sql) {
    return query(sql).get(0).get(0);
  }

  static LogSequenceNumber lsn(String sql) {
    return LogSequenceNumber.valueOf(scalar(sql).toString());
  }

  static String uniqueSlot() {
    return "lh_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  /** A fresh slot; its snapshot is released at once. */
  static LogSequenceNumber createSlot(String slot) {
    try (ReplicationSlot created = ReplicationSlot.create(endpoint(), slot)) {
      return created.consistentPoint();
    }
  }

  /**
   * Writes a non-transactional marker to the WAL, then polls until it arrives: every transaction
   * committed before the marker has been yielded by then. Returns the events before the marker.
   */
  static List<ReplicationEvent> eventsUntilMarker(ChangeStream stream) {
    String marker = UUID.randomUUID().toString();
    try (Connection c = connect(); Statement s = c.createStatement()) {
      s.execute("SELECT pg_logical_emit_message(false, '" + MARKER_PREFIX + "', '" + marker + "')");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    List<ReplicationEvent> events = new ArrayList<>();
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      ReplicationEvent event = stream.poll(Duration.ofMillis(200)).orElse(null);
      if (event instanceof LogicalMessage m && m.prefix().equals(MARKER_PREFIX)
          && new String(m.content(), StandardCharsets.UTF_8).equals(marker)) {
        return events;
      }
      if (event != null && !(event instanceof LogicalMessage m && m.prefix().equals(MARKER_PREFIX))) {
        events.add(event);
      }
    }
    return fail("marker not received within " + TIMEOUT + "; got " + events.size() + " events");
  }

  /** Polls until an event matches; returns the events before it and the match last. */
  static List<ReplicationEvent> pollUntil(ChangeStream stream, Predicate<ReplicationEvent> match) {
    List<ReplicationEvent> events = new ArrayList<>();
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      ReplicationEvent event = stream.poll(Duration.ofMillis(200)).orElse(null);
      if (event != null) {
        events.add(event);
        if (match.test(event)) {
          return events;
        }
      }
    }
    return fail("no matching event within " + TIMEOUT + "; got " + events);
  }

  @SuppressWarnings("unchecked")
  static <T extends ReplicationEvent> List<T> only(List<ReplicationEvent> events, Class<T> type) {
    List<T> matching = new ArrayList<>();
    for (ReplicationEvent e : events) {
      if (type.isInstance(e)) {
        matching.add((T) e);
      }
    }
    return matching;
  }

  /** The events that belong to transactions: everything but keepalives and heartbeats. */
  static List<ReplicationEvent> transactional(List<ReplicationEvent> events) {
    return events.stream()
        .filter(e -> !(e instanceof ReplicationEvent.KeepAlive))
        .filter(e -> !(e instanceof LogicalMessage m && !m.transactional()))
        .toList();
  }

  // ---- binary send formats, decoded independently of the code under test ----

  static int int4(ColumnValue v) {
    assertTrue(v.kind() == ColumnValue.Kind.BINARY && v.length() == 4, "an int4: " + v);
    return ByteBuffer.wrap(v.bytes()).getInt();
  }

  static String text(ColumnValue v) {
    assertTrue(v.kind() == ColumnValue.Kind.BINARY, "binary text: " + v);
    return new String(v.bytes(), StandardCharsets.UTF_8);
  }

  /** timestamptz: int64 microseconds since 2000-01-01 UTC. */
  static Instant timestamptz(ColumnValue v) {
    assertTrue(v.kind() == ColumnValue.Kind.BINARY && v.length() == 8, "a timestamptz: " + v);
    long micros = ByteBuffer.wrap(v.bytes()).getLong();
    return Instant.parse("2000-01-01T00:00:00Z").plusNanos(micros * 1000);
  }

  /** numeric: ndigits, weight, sign, dscale (int16 each), then ndigits base-10000 digits. */
  static BigDecimal numeric(ColumnValue v) {
    ByteBuffer b = ByteBuffer.wrap(v.bytes());
    int ndigits = b.getShort();
    int weight = b.getShort();
    int sign = b.getShort() & 0xFFFF;
    int dscale = b.getShort();
    BigInteger unscaled = BigInteger.ZERO;
    for (int i = 0; i < ndigits; i++) {
      unscaled = unscaled.multiply(BigInteger.valueOf(10000)).add(BigInteger.valueOf(b.getShort()));
    }
    BigDecimal value = new BigDecimal(unscaled).scaleByPowerOfTen(4 * (weight - ndigits + 1));
    value = value.setScale(dscale);
    return sign == 0x4000 ? value.negate() : value;
  }

  /** The fields of the only row of a binary COPY, as the wire carries them (null for NULL). */
  static List<byte[]> binaryCopyRow(String query) {
    try (Connection c = connect()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      c.unwrap(PGConnection.class).getCopyAPI()
          .copyOut("COPY (" + query + ") TO STDOUT (FORMAT binary)", out);
      ByteBuffer b = ByteBuffer.wrap(out.toByteArray());
      b.position(11); // signature
      b.getInt(); // flags
      int extension = b.getInt();
      b.position(b.position() + extension); // header extension
      int fields = b.getShort();
      List<byte[]> row = new ArrayList<>();
      for (int i = 0; i < fields; i++) {
        int length = b.getInt();
        if (length < 0) {
          row.add(null);
        } else {
          byte[] field = new byte[length];
          b.get(field);
          row.add(field);
        }
      }
      assertTrue(b.getShort() == -1, "one row only");
      return row;
    } catch (SQLException | IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
