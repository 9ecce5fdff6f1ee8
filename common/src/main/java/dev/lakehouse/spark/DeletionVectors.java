package dev.lakehouse.spark;

import org.apache.spark.sql.SparkSession;

/**
 * Which tables get deletion vectors: the ones a MERGE changes in place (silver, SCD2 dimensions,
 * facts). There an incremental MERGE marks the rows it replaces instead of rewriting every file it
 * touches (silver after a 10k-change cycle on 1M items: 56 MB on disk against 155 MB).
 *
 * <p>Tables only ever appended to or overwritten whole (bronze, control tables, quarantine, marts,
 * the date dimension) do not: Delta plans every scan of a table with the feature by listing all its
 * files first ({@code PreprocessTableWithDVs}), a Spark job per query, whether or not a file has a
 * deletion vector. Those tables are read by almost every step of a run, so the feature cost time
 * and saved nothing there. Measured with the demo and {@code bench pipeline}; see the README.
 *
 * <p>Delta's own default for new tables, when the Spark configuration sets it, still decides for
 * every table (true: all of them, false: none).
 */
public final class DeletionVectors {

  /** The Delta table property, set when a merged table is created. */
  public static final String PROPERTY = "delta.enableDeletionVectors";

  /** Delta's default for new tables; set explicitly in the Spark configuration, it decides for every table. */
  static final String SESSION_DEFAULT = "spark.databricks.delta.properties.defaults.enableDeletionVectors";

  private DeletionVectors() {}

  /** The property's value for a new merged table: true, unless the session's Delta default says otherwise. */
  public static String forMergedTable(SparkSession spark) {
    return spark.conf().getOption(SESSION_DEFAULT).getOrElse(() -> "true");
  }
}
