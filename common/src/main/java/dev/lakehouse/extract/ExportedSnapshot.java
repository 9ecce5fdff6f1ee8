package dev.lakehouse.extract;

import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * An open REPEATABLE READ transaction on the source whose snapshot other connections can import
 * (as pg_dump -j does), so parallel COPY partitions all see the same committed data. The snapshot
 * stays importable only while this is open.
 */
public final class ExportedSnapshot implements AutoCloseable {

  private final Connection connection;
  private final String id;

  private ExportedSnapshot(Connection connection, String id) {
    this.connection = connection;
    this.id = id;
  }

  public static ExportedSnapshot export(SourceSettings source) {
    Connection connection = SourceDatabase.connect(source);
    try (Statement s = connection.createStatement()) {
      s.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      try (ResultSet rs = s.executeQuery("SELECT pg_export_snapshot()")) {
        rs.next();
        return new ExportedSnapshot(connection, rs.getString(1));
      }
    } catch (SQLException e) {
      closeQuietly(connection);
      throw SourceDatabase.queryError("Cannot export a snapshot from " + source.safeUrl(), e);
    }
  }

  /** The id to pass to {@link CopyExtraction#read}. */
  public String id() {
    return id;
  }

  @Override
  public void close() {
    closeQuietly(connection);
  }

  private static void closeQuietly(Connection connection) {
    try {
      connection.close();
    } catch (SQLException e) {
      // The transaction only read; closing ends it either way.
    }
  }
}
