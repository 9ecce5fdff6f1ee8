package dev.lakehouse.config;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Properties;

/** The source database connection. {@link #toString()} never shows the password. */
public record SourceSettings(
    String name, String url, String user, String password, String schema,
    Duration connectTimeout, String embeddedDataDir) {

  static SourceSettings from(Config source) {
    return new SourceSettings(
        source.getString("name"),
        source.getString("url").trim(),
        source.getString("user"),
        source.getString("password"),
        source.getString("schema"),
        source.getDuration("connect-timeout"),
        source.getString("embedded.data-dir"));
  }

  /** No URL configured: the embedded PostgreSQL stands in (local runs only). */
  public boolean embedded() {
    return url.isEmpty();
  }

  public SourceSettings withConnection(String newUrl, String newUser, String newPassword) {
    return new SourceSettings(name, newUrl, newUser, newPassword, schema, connectTimeout, embeddedDataDir);
  }

  /** The URL with any password parameter masked, for messages and logs. */
  public String safeUrl() {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
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
    return props;
  }

  @Override
  public String toString() {
    return "SourceSettings[name=" + name + ", url=" + safeUrl() + ", user=" + user + ", schema=" + schema + "]";
  }
}
