package dev.lakehouse.spec;

import java.time.Duration;
import java.time.ZoneId;
import java.util.Optional;
import java.util.Properties;

/**
 * The source database connection. {@link #toString()} never shows the password.
 *
 * @param name label written to bronze's {@code _source}; empty = the database's name
 * @param schema the default schema of tables; empty = the connection's {@code current_schema()}
 * @param timeZone the zone in which {@code timestamp without time zone} values are read
 */
public record SourceSettings(
    String name, String url, String user, String password, Optional<String> schema, ZoneId timeZone,
    Duration connectTimeout, String embeddedDataDir) {

  /** No URL configured: the embedded PostgreSQL stands in (local runs only). */
  public boolean embedded() {
    return url.isEmpty();
  }

  public SourceSettings withConnection(String newUrl, String newUser, String newPassword) {
    return new SourceSettings(name, newUrl, newUser, newPassword, schema, timeZone, connectTimeout, embeddedDataDir);
  }

  /**
   * The URL with any password masked, for messages and logs: a {@code password} parameter, and the
   * {@code user:password@} of a libpq-style URL pasted where the driver's form belongs.
   */
  public String safeUrl() {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***").replaceAll("(//[^/@:]*:)[^/@]*@", "$1***@");
  }

  /** The database name in the URL, for the {@code _source} label when no name is configured. */
  public String label() {
    if (!name.isBlank()) {
      return name;
    }
    String rest = url.replaceFirst("^jdbc:postgresql://[^/]*/?", "");
    String database = rest.replaceFirst("[?;].*$", "");
    return database.isBlank() ? "source" : database;
  }

  public Properties jdbcProperties() {
    Properties props = new Properties();
    props.setProperty("user", user);
    if (!password.isEmpty()) {
      props.setProperty("password", password);
    }
    long seconds = Math.max(1, connectTimeout.toSeconds());
    props.setProperty("connectTimeout", Long.toString(seconds));
    props.setProperty("loginTimeout", Long.toString(seconds));
    props.setProperty("ApplicationName", "lakehouse");
    props.setProperty("options", SESSION_OPTIONS);
    return props;
  }

  /**
   * Timeouts a server, database or role may set for interactive users, lifted on the lakehouse's
   * own sessions as pg_dump lifts them on its: a COPY of a large table outlasts any statement
   * timeout, and the session that holds an exported snapshot sits idle in its transaction while
   * the readers copy. A URL's own {@code options} parameter wins over these; a caller adding
   * options of its own appends them.
   */
  private static final String SESSION_OPTIONS = "-c statement_timeout=0 -c idle_in_transaction_session_timeout=0";

  @Override
  public String toString() {
    return "source " + safeUrl() + " as " + user + schema.map(s -> ", schema " + s).orElse("");
  }
}
