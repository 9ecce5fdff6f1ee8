package dev.lakehouse.spark;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.DeltaLog;
import org.apache.spark.sql.delta.Snapshot;

/**
 * A Delta table's latest state, read the one way the lakehouse reads it: the log brought up to
 * date now, synchronously. Delta's cached log answers when nothing was committed since; otherwise
 * it reads the new commit files (a Spark job only when no checksum describes the new version).
 * Not {@code DeltaTable.forPath(...).detail()} or {@code history()}: each of those is a Spark job.
 */
public final class DeltaSnapshots {

  private DeltaSnapshots() {}

  /** The latest snapshot of the table at {@code path}. */
  public static Snapshot latest(SparkSession spark, String path) {
    return latest(DeltaLog.forTable(spark, path));
  }

  /** The latest snapshot of {@code log}'s table. */
  public static Snapshot latest(DeltaLog log) {
    // No catalog table, no checksum-validation override, not the async "a stale one will do" update.
    return log.update(false, scala.Option.empty(), scala.Option.empty());
  }
}
