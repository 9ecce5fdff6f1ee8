package dev.lakehouse.spark;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.spark.sql.RuntimeConfig;
import org.apache.spark.sql.SparkSession;

/**
 * Session settings for the length of one action, then the session as it was: each key restored
 * to its previous value, or unset if it had none (unsetting alone would drop a user's value).
 */
public final class SessionSettings {

  private SessionSettings() {}

  /** Runs {@code action} with {@code settings} (an empty value unsets the key), then restores them. */
  public static <T> T with(SparkSession spark, Map<String, Optional<String>> settings, Supplier<T> action) {
    RuntimeConfig conf = spark.conf();
    Map<String, Optional<String>> previous = new LinkedHashMap<>();
    settings.forEach((key, value) -> {
      previous.put(key, conf.contains(key) ? Optional.of(conf.get(key)) : Optional.empty());
      value.ifPresentOrElse(v -> conf.set(key, v), () -> conf.unset(key));
    });
    try {
      return action.get();
    } finally {
      previous.forEach((key, value) -> value.ifPresentOrElse(v -> conf.set(key, v), () -> conf.unset(key)));
    }
  }
}
