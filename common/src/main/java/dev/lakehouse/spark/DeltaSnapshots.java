package dev.lakehouse.spark;

import java.util.OptionalLong;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.DeltaLog;
import org.apache.spark.sql.delta.Snapshot;
import org.apache.spark.sql.delta.actions.AddFile;

/**
 * A Delta table's latest state, read the one way the lakehouse reads it: the log brought up to
 * date now, synchronously. Delta's cached log answers when nothing was committed since; otherwise
 * it lists and reads the new commit files on the driver. The version needs nothing more; the
 * schema and properties come from the commit's checksum where there is one, else from a Spark job.
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

  /**
   * The live rows of {@code snapshot} as its commit's checksum records them, without a Spark job:
   * Delta lists a small table's files in the checksum, each with its row count (less the rows a
   * deletion vector hides). Empty when the checksum does not list the files (a table past Delta's
   * threshold of files, a commit without a checksum) or a file has no count (written with
   * statistics off); then only a query counts them.
   */
  public static OptionalLong rowsFromChecksum(Snapshot snapshot) {
    scala.Option<scala.collection.immutable.Seq<AddFile>> files = snapshot.checksumOpt().isEmpty()
        ? scala.Option.empty() : snapshot.checksumOpt().get().allFiles();
    if (files.isEmpty()) {
      return OptionalLong.empty();
    }
    long rows = 0;
    for (AddFile file : scala.jdk.javaapi.CollectionConverters.asJava(files.get())) {
      scala.Option<Object> logical = file.numLogicalRecords();
      if (logical.isEmpty()) {
        return OptionalLong.empty();
      }
      rows += (Long) logical.get();
    }
    return OptionalLong.of(rows);
  }
}
