package dev.lakehouse.spark;

import dev.lakehouse.spec.Identifiers;
import org.apache.spark.sql.SparkSession;

/**
 * A Delta table's properties, read from its log. {@code SHOW TBLPROPERTIES} and {@code DESCRIBE
 * DETAIL} compute the table's whole snapshot first, a Spark job; the log's latest metadata is
 * what the next write reads anyway.
 */
public final class TableProperties {

  private TableProperties() {}

  /** The property's value in the table's latest version, or null when it is not set. */
  public static String get(SparkSession spark, String path, String key) {
    var configuration = DeltaSnapshots.latest(spark, path).metadata().configuration();
    return configuration.getOrElse(key, () -> null);
  }

  /**
   * Sets {@code key = value} unless the table already has it (a commit of its own when it does not).
   *
   * @return whether the table had it already
   */
  public static boolean ensure(SparkSession spark, String path, String key, String value) {
    if (value.equals(get(spark, path, key))) {
      return true;
    }
    spark.sql("ALTER TABLE delta." + Identifiers.quote(path) + " SET TBLPROPERTIES (" + Identifiers.literal(key)
        + " = " + Identifiers.literal(value) + ")");
    return false;
  }
}
