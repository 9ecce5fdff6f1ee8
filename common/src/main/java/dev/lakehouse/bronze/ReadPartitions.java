package dev.lakehouse.bronze;

import static dev.lakehouse.source.SourceDatabase.ident;

import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits one extraction into ranges so partitions read in parallel.
 *
 * <p>A read of the whole table (full mode, or an incremental table's first run) is split by
 * physical blocks: {@code ctid} ranges, which PostgreSQL (14+) answers with a TID range scan, so
 * each partition reads only its share of the heap and the shares are even whatever the values.
 * A window (an incremental run) is split by a column's values instead, the cursor unless
 * configured otherwise: its minimum and maximum inside the window (an index lookup), split
 * evenly; the first range also takes NULLs, so a nullable partition column loses no row. Block
 * ranges are for the COPY reader: Spark's JDBC reader filters a subquery, which has no ctid, so a
 * jdbc table's whole-table read is split by values too.
 */
final class ReadPartitions {

  /** TID range scans arrived in PostgreSQL 14; older servers would scan the whole heap per partition. */
  private static final int TID_RANGE_SCAN_VERSION = 140000;

  private ReadPartitions() {}

  /**
   * The predicates of a read of the whole table: block ranges when the table is a plain table on
   * PostgreSQL 14 or later, otherwise value ranges of {@code column}.
   */
  static List<String> planWholeTable(Connection connection, String table, String column, String pgType,
                                     String window, int partitions) {
    if (partitions <= 1) {
      return List.of(window);
    }
    long blocks;
    // Only a plain table has blocks of its own: a partitioned parent, a view or a materialized
    // view is split by values of the column (or read whole when there is none).
    try (Statement s = connection.createStatement();
         ResultSet rs = s.executeQuery("SELECT current_setting('server_version_num')::int, c.relkind,"
             + " pg_relation_size(c.oid) / current_setting('block_size')::int"
             + " FROM pg_class c WHERE c.oid = '" + table.replace("'", "''") + "'::regclass")) {
      if (!rs.next() || rs.getInt(1) < TID_RANGE_SCAN_VERSION || !"r".equals(rs.getString(2))) {
        return column == null ? List.of(window) : plan(connection, table, column, pgType, window, partitions);
      }
      blocks = rs.getLong(3);
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot plan the read of " + table, e);
    }
    // The last range is open: blocks the table grew by since the size was read belong to it.
    List<String> splits = bounds(0, blocks, partitions).stream().map(b -> "'(" + b + ",0)'").toList();
    return ranges(window, "ctid", splits, false);
  }

  /** The predicates of a read of a window, as value ranges of {@code column}. */
  static List<String> plan(Connection connection, String table, String column, String pgType,
                           String window, int partitions) {
    String quoted = ident(column);
    if (partitions <= 1) {
      return List.of(window);
    }
    boolean timestamp = pgType.startsWith("timestamp");
    boolean integer = pgType.equals("int2") || pgType.equals("int4") || pgType.equals("int8");
    if (!timestamp && !integer) {
      return List.of(window);
    }
    String query = "SELECT min(" + quoted + "), max(" + quoted + ") FROM " + table + " WHERE " + window;
    long low;
    long high;
    try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(query)) {
      rs.next();
      if (rs.getObject(1) == null) {
        return List.of(window);
      }
      low = timestamp ? micros(rs.getTimestamp(1)) : rs.getLong(1);
      high = timestamp ? micros(rs.getTimestamp(2)) : rs.getLong(2);
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot plan the read of " + table, e);
    }
    List<String> splits = bounds(low, high, partitions).stream().map(b -> literal(b, timestamp ? pgType : null)).toList();
    return ranges(window, quoted, splits, true);
  }

  /**
   * The window cut at {@code splits}: below the first, between each pair, from the last on.
   * {@code firstTakesNulls} adds the NULLs of {@code expression} to the first range.
   */
  private static List<String> ranges(String window, String expression, List<String> splits, boolean firstTakesNulls) {
    if (splits.isEmpty()) {
      return List.of(window);
    }
    List<String> predicates = new ArrayList<>();
    for (int i = 0; i <= splits.size(); i++) {
      String range;
      if (i == 0) {
        range = expression + " < " + splits.get(0);
        range = firstTakesNulls ? "(" + range + " OR " + expression + " IS NULL)" : range;
      } else if (i == splits.size()) {
        range = expression + " >= " + splits.get(i - 1);
      } else {
        range = expression + " >= " + splits.get(i - 1) + " AND " + expression + " < " + splits.get(i);
      }
      predicates.add(window + " AND " + range);
    }
    return predicates;
  }

  /** Inner split points of [low, high] into at most {@code partitions} ranges. */
  static List<Long> bounds(long low, long high, int partitions) {
    List<Long> bounds = new ArrayList<>();
    long span = high - low;
    if (span <= 0) {
      return bounds;
    }
    int n = (int) Math.min(partitions, span + 1);
    for (int i = 1; i < n; i++) {
      long bound = low + (long) Math.ceil((double) span * i / n);
      if (bounds.isEmpty() || bound > bounds.get(bounds.size() - 1)) {
        bounds.add(bound);
      }
    }
    return bounds;
  }

  private static long micros(Timestamp timestamp) {
    Instant instant = timestamp.toInstant();
    return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1000);
  }

  /**
   * A split point as a literal of the column's type. Timestamps travel as microseconds: a
   * {@code timestamp} column's wall-clock values read through the UTC JVM come back unchanged.
   */
  private static String literal(long value, String timestampType) {
    if (timestampType == null) {
      return Long.toString(value);
    }
    Instant instant = Instant.ofEpochSecond(Math.floorDiv(value, 1_000_000L), Math.floorMod(value, 1_000_000L) * 1000);
    return timestampType.equals("timestamptz") ? new CursorValue.TimestampTz(instant).sqlLiteral()
        : new CursorValue.LocalTimestamp(java.time.LocalDateTime.ofInstant(instant, java.time.ZoneOffset.UTC)).sqlLiteral();
  }
}
