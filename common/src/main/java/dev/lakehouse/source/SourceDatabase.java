package dev.lakehouse.source;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.spec.TableSpec;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/** Opens connections to the source and turns driver failures into messages a person can act on. */
public final class SourceDatabase {

  private SourceDatabase() {}

  public static Connection connect(SourceSettings source) {
    try {
      return DriverManager.getConnection(source.url(), source.jdbcProperties());
    } catch (SQLException e) {
      throw connectionError(source, e);
    }
  }

  static LakehouseException connectionError(SourceSettings source, SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    String where = source.safeUrl() + " as user '" + source.user() + "'";
    String reason = firstLine(e.getMessage());
    if (!source.url().startsWith("jdbc:postgresql:")) {
      // DriverManager finds no driver for it: "No suitable driver", which names neither the setting nor the form.
      return new LakehouseException("lakehouse.source.url: " + source.safeUrl() + " is not a URL of the PostgreSQL"
          + " driver; write it jdbc:postgresql://host:port/database", e);
    }
    if (state.equals("28P01") || state.equals("28000")) {
      return new LakehouseException("Authentication failed for " + where + ": " + reason, e);
    }
    if (state.equals("3D000")) {
      return new LakehouseException("Database does not exist at " + where + ": " + reason, e);
    }
    if (state.startsWith("08")) {
      return new LakehouseException("Cannot reach the source database " + where + ": " + reason, e);
    }
    return new LakehouseException("Cannot connect to " + where + ": " + reason, e);
  }

  /**
   * Whether {@code failure} came from losing the source rather than from what was asked of it: a
   * connection refused or broken, the server shutting down or starting up, or a replication slot
   * still held by a session the server has not yet seen die (the driver reports a broken socket
   * as 08006). Such a state passes; a wrong password, a missing table, a bad value or a failure on
   * the lakehouse's side does not.
   */
  public static boolean lostConnection(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof SQLException e && e.getSQLState() != null) {
        String state = e.getSQLState();
        if (state.startsWith("08") || List.of("57P01", "57P02", "57P03", "55006").contains(state)) {
          return true;
        }
      }
    }
    return false;
  }

  /** A query against the source failed: say which table and why, in one line. */
  public static LakehouseException queryError(String what, SQLException e) {
    return new LakehouseException(what + ": " + firstLine(e.getMessage()), e);
  }

  public static String firstLine(String message) {
    if (message == null) {
      return "(no message)";
    }
    int newline = message.indexOf('\n');
    return (newline < 0 ? message : message.substring(0, newline)).trim();
  }

  /**
   * The schema a table is read from: its own {@code schema}, else {@code lakehouse.source.schema},
   * else the connection's {@code current_schema()} (the first existing schema of its search_path).
   */
  public static String schemaOf(Connection connection, SourceSettings source, TableSpec table) throws SQLException {
    if (table.schema().isPresent()) {
      return table.schema().get();
    }
    if (source.schema().isPresent()) {
      return source.schema().get();
    }
    try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT current_schema()")) {
      rs.next();
      String schema = rs.getString(1);
      if (schema == null) {
        throw new LakehouseException("The source connection has no current schema (its search_path names no"
            + " existing schema); set lakehouse.source.schema");
      }
      return schema;
    }
  }

  /** Whether a unique, non-partial index (or the primary key) covers some subset of these columns. */
  public static boolean uniqueKey(Connection connection, String schema, String table, List<String> columns)
      throws SQLException {
    if (columns.isEmpty()) {
      return false;
    }
    String query = """
        SELECT 1 FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ? AND c.relname = ? AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
          AND NOT EXISTS (
            SELECT 1 FROM unnest(i.indkey) k
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k
            WHERE NOT (a.attname = ANY (?)))
        LIMIT 1""";
    try (PreparedStatement s = connection.prepareStatement(query)) {
      s.setString(1, schema);
      s.setString(2, table);
      s.setArray(3, connection.createArrayOf("text", columns.toArray()));
      try (ResultSet rs = s.executeQuery()) {
        return rs.next();
      }
    }
  }

  /**
   * PostgreSQL's own estimate of a table's rows ({@code reltuples}, over the leaves of a
   * partitioned table): no scan, as of the last ANALYZE or VACUUM. Empty when a part was never
   * analyzed, or for a view.
   */
  public static java.util.OptionalLong estimatedRows(Connection connection, String schema, String table)
      throws SQLException {
    String query = """
        SELECT CASE c.relkind
                 WHEN 'p' THEN (SELECT CASE WHEN count(*) = 0 OR bool_or(l.reltuples < 0) THEN -1 ELSE sum(l.reltuples) END
                                FROM pg_catalog.pg_partition_tree(c.oid) t JOIN pg_catalog.pg_class l ON l.oid = t.relid
                                WHERE t.isleaf)
                 WHEN 'r' THEN c.reltuples WHEN 'm' THEN c.reltuples ELSE -1 END::float8
        FROM pg_catalog.pg_class c WHERE c.oid = ?::regclass""";
    try (PreparedStatement s = connection.prepareStatement(query)) {
      s.setString(1, qualified(schema, table));
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        double rows = rs.getDouble(1);
        return rows < 0 ? java.util.OptionalLong.empty() : java.util.OptionalLong.of((long) rows);
      }
    }
  }

  /** Quotes a PostgreSQL identifier. */
  public static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  public static String qualified(String schema, String table) {
    return ident(schema) + "." + ident(table);
  }
}
