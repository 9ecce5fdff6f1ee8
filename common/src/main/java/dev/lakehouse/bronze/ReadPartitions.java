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
 * Splits one extraction into ranges of a column so partitions read in parallel. The bounds are
 * the column's minimum and maximum inside the window (an index lookup), split evenly. The first
 * range also takes NULLs, so a nullable partition column loses no row.
 */
final class ReadPartitions {

  private ReadPartitions() {}

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
    List<Long> bounds = bounds(low, high, partitions);
    if (bounds.isEmpty()) {
      return List.of(window);
    }
    List<String> predicates = new ArrayList<>();
    for (int i = 0; i <= bounds.size(); i++) {
      String range;
      if (i == 0) {
        range = "(" + quoted + " < " + literal(bounds.get(0), timestamp) + " OR " + quoted + " IS NULL)";
      } else if (i == bounds.size()) {
        range = quoted + " >= " + literal(bounds.get(i - 1), timestamp);
      } else {
        range = quoted + " >= " + literal(bounds.get(i - 1), timestamp)
            + " AND " + quoted + " < " + literal(bounds.get(i), timestamp);
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

  private static String literal(long value, boolean timestamp) {
    if (!timestamp) {
      return Long.toString(value);
    }
    Instant instant = Instant.ofEpochSecond(Math.floorDiv(value, 1_000_000L), Math.floorMod(value, 1_000_000L) * 1000);
    return IncrementalWindow.literal(instant);
  }
}
