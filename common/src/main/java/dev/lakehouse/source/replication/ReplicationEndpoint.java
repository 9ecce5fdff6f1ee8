package dev.lakehouse.source.replication;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.postgresql.PGProperty;

/**
 * Where the source is and who connects: opens ordinary connections (catalog queries, publications,
 * slot information, snapshot imports) and logical replication connections ({@code
 * replication=database}: slot creation and streaming). {@link #toString()} never shows the password.
 */
public final class ReplicationEndpoint {

  private final String url;
  private final Properties properties;

  private ReplicationEndpoint(String url, Properties properties) {
    this.url = url;
    this.properties = properties;
  }

  /**
   * A URL and driver properties ({@code user}, {@code password}, timeouts...), e.g. the source
   * settings' {@code url()} and {@code jdbcProperties()}.
   */
  public static ReplicationEndpoint of(String url, Properties jdbcProperties) {
    Properties copy = new Properties();
    copy.putAll(jdbcProperties);
    return new ReplicationEndpoint(url, copy);
  }

  public static ReplicationEndpoint of(String url, String user, String password) {
    Properties properties = new Properties();
    properties.setProperty("user", user);
    if (password != null && !password.isEmpty()) {
      properties.setProperty("password", password);
    }
    properties.setProperty("ApplicationName", "lakehouse");
    return new ReplicationEndpoint(url, properties);
  }

  public String url() {
    return url;
  }

  public String user() {
    return properties.getProperty("user");
  }

  /** An ordinary connection. */
  public Connection connect() {
    return open(new Properties(), "");
  }

  /**
   * A logical replication connection: speaks the replication protocol (and simple SQL) on one
   * database. The role needs the REPLICATION attribute (or superuser), and pg_hba.conf must let
   * it in; a logical replication connection matches pg_hba entries by database name, not by the
   * {@code replication} keyword.
   */
  public Connection connectReplication() {
    Properties replication = new Properties();
    PGProperty.REPLICATION.set(replication, "database");
    PGProperty.ASSUME_MIN_SERVER_VERSION.set(replication, "10");
    PGProperty.PREFER_QUERY_MODE.set(replication, "simple");
    return open(replication, " (replication connection)");
  }

  private Connection open(Properties extra, String what) {
    Properties all = new Properties();
    all.putAll(properties);
    all.putAll(extra);
    try {
      return DriverManager.getConnection(url, all);
    } catch (SQLException e) {
      String where = safeUrl() + " as user '" + user() + "'" + what;
      throw new LakehouseException("Cannot connect to " + where + ": "
          + SourceDatabase.firstLine(e.getMessage()), e);
    }
  }

  private String safeUrl() {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }

  @Override
  public String toString() {
    return "ReplicationEndpoint[" + safeUrl() + " as " + user() + "]";
  }
}
