package dev.lakehouse.source;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.config.SourceSettings;
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

  /** Quotes a PostgreSQL identifier. */
  public static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  public static String qualified(String schema, String table) {
    return ident(schema) + "." + ident(table);
  }
}
