package dev.lakehouse.bronze;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.types.StructType;

/**
 * Which PostgreSQL table and columns a bronze batch was read from, as the catalog tells them apart:
 * the table's oid and each column's {@code attnum}. A name alone does not: a column dropped and
 * added again under its old name is a new column to PostgreSQL, and every row then holds its
 * default (or NULL) whatever its cursor; a table dropped and created again (a restore) may hold
 * rows whose cursors are all behind the watermark. Bronze knows the names already, so an
 * incremental read would take neither for a change, and silver would keep the old values for good.
 *
 * <p>Recorded in the tag of every bronze commit of a table read by query (positions {@code
 * source.table} and {@code source.column.<name>}), and compared with the catalog at the next
 * extraction: where they differ, that extraction reads every row once ({@link
 * IncrementalWindow#everyRow}). A commit without it (written before it was recorded) compares
 * nothing.
 */
record SourceIdentity(long table, Map<String, Integer> columns) {

  private static final String TABLE = "source.table";
  private static final String COLUMN = "source.column.";

  private static final String READ = """
      SELECT c.oid::bigint, a.attname, a.attnum FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.oid = ?::regclass""";

  SourceIdentity {
    columns = Map.copyOf(columns);
  }

  /** The catalog's identity of {@code qualified} (a quoted, schema-qualified name), as of the connection's snapshot. */
  static SourceIdentity read(Connection connection, String qualified) throws SQLException {
    long table = 0;
    Map<String, Integer> columns = new LinkedHashMap<>();
    try (PreparedStatement query = connection.prepareStatement(READ)) {
      query.setString(1, qualified);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          table = rows.getLong(1);
          columns.put(rows.getString(2), rows.getInt(3));
        }
      }
    }
    return new SourceIdentity(table, columns);
  }

  /** The identity a commit's tag recorded, if it recorded one. */
  static Optional<SourceIdentity> recorded(Map<String, String> positions) {
    String table = positions.get(TABLE);
    if (table == null) {
      return Optional.empty();
    }
    Map<String, Integer> columns = new LinkedHashMap<>();
    positions.forEach((key, value) -> {
      if (key.startsWith(COLUMN)) {
        columns.put(key.substring(COLUMN.length()), Integer.parseInt(value));
      }
    });
    return Optional.of(new SourceIdentity(Long.parseLong(table), columns));
  }

  /** The identity as commit-tag positions. */
  Map<String, String> positions() {
    Map<String, String> positions = new LinkedHashMap<>();
    positions.put(TABLE, Long.toString(table));
    columns.forEach((name, attnum) -> positions.put(COLUMN + name, Integer.toString(attnum)));
    return positions;
  }

  /**
   * What changed since {@code before} that no cursor shows, for a person to read; empty when
   * nothing did. Only columns bronze holds ({@code landed}) count: a name bronze has never held is
   * a new column, read by the rows holding a value in it.
   */
  Optional<String> renewedSince(SourceIdentity before, StructType landed) {
    if (before.table != table) {
      return Optional.of("the table was created again");
    }
    List<String> renewed = columns.entrySet().stream()
        .filter(c -> landed.getFieldIndex(c.getKey()).isDefined() && !c.getValue().equals(before.columns.get(c.getKey())))
        .map(Map.Entry::getKey).toList();
    if (renewed.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of((renewed.size() == 1 ? "column " + renewed.get(0) + " was" : "columns " + String.join(", ", renewed)
        + " were") + " dropped and added again");
  }
}
