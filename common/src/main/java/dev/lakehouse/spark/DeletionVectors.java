package dev.lakehouse.spark;

import dev.lakehouse.spec.SpecException;
import java.util.List;
import org.apache.spark.network.util.JavaUtils;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.Snapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which tables get deletion vectors, and when: the ones a MERGE changes in place (silver, SCD2
 * dimensions, facts), once they are large enough for it to pay. There an incremental MERGE marks
 * the rows it replaces instead of rewriting every file it touches (silver after a 10k-change cycle
 * on 10M items: 458 MB on disk against 1,499 MB, and its MERGE 41.8 s against 71.9 s).
 *
 * <p>The feature has a fixed price per statement, whatever the table's size: Delta plans every
 * scan of a table with it by listing all its files first ({@code PreprocessTableWithDVs}, a Spark
 * job per query), and a MERGE that writes them runs a further seven or so Spark jobs. On a small
 * table rewriting the touched files is cheaper (an SCD2 MERGE of three rows into a dimension of
 * three: 3.4 to 3.7 s with them, 1.7 to 1.9 s without). So a merged table is created without them
 * and gets them, in a commit of its own, before the first MERGE that finds it at
 * {@link #FROM_SIZE} or more; they stay on after that.
 *
 * <p>Tables only ever appended to or overwritten whole (bronze, control tables, quarantine, marts,
 * the date dimension) never get them. Delta's own default for new tables, when the Spark
 * configuration sets it, decides for every table instead (true: all of them from the start, false:
 * none).
 */
public final class DeletionVectors {

  private static final Logger LOG = LoggerFactory.getLogger(DeletionVectors.class);

  /** The Delta table property. */
  public static final String PROPERTY = "delta.enableDeletionVectors";

  /** Delta's default for new tables; set explicitly in the Spark configuration, it decides for every table. */
  static final String SESSION_DEFAULT = "spark.databricks.delta.properties.defaults.enableDeletionVectors";

  /**
   * The Spark setting for the size (of a merged table's latest version) from which it gets
   * deletion vectors, {@value #DEFAULT_FROM_SIZE} unless set: about where rewriting the files a
   * MERGE touches starts to cost more than the feature's fixed price on a 2-core machine (see
   * the README's measurements). 0 gives them to every merged table at its first MERGE.
   */
  public static final String FROM_SIZE = "spark.lakehouse.deletionVectors.fromSize";

  static final String DEFAULT_FROM_SIZE = "64m";

  private DeletionVectors() {}

  /** The property's value for a new merged table: Delta's session default when set, else false (see {@link #beforeMerge}). */
  public static String forMergedTable(SparkSession spark) {
    return spark.conf().getOption(SESSION_DEFAULT).getOrElse(() -> "false");
  }

  /**
   * To call before a MERGE into the merged table at {@code path}: turns deletion vectors on when
   * the table has reached {@link #FROM_SIZE} (a commit of its own, untagged, once), unless Delta's
   * session default decides.
   *
   * @return whether the table has deletion vectors on for this MERGE
   */
  public static boolean beforeMerge(SparkSession spark, String path) {
    return beforeMerge(spark, path, fromBytes(spark));
  }

  /**
   * The size in bytes from {@link #FROM_SIZE}; a value that is not a size (such as 64m or 1g) is
   * a configuration error, found when the session starts ({@link LakehouseSpark#getOrCreate}).
   */
  public static long fromBytes(SparkSession spark) {
    String value = spark.conf().get(FROM_SIZE, DEFAULT_FROM_SIZE).trim();
    try {
      long bytes = JavaUtils.byteStringAsBytes(value);
      if (bytes >= 0) {
        return bytes;
      }
    } catch (NumberFormatException e) {
      // reported below, with the key to fix
    }
    throw new SpecException(List.of("lakehouse.spark.conf.\"" + FROM_SIZE + "\": '" + value
        + "' is not a size such as 64m or 1g"));
  }

  static boolean beforeMerge(SparkSession spark, String path, long fromBytes) {
    Snapshot snapshot = DeltaSnapshots.latest(spark, path);
    boolean on = "true".equals(snapshot.metadata().configuration().getOrElse(PROPERTY, () -> null));
    if (on || spark.conf().getOption(SESSION_DEFAULT).isDefined()) {
      return on;
    }
    long bytes = snapshot.sizeInBytes();
    if (bytes < fromBytes) {
      return false;
    }
    TableProperties.ensure(spark, path, PROPERTY, "true");
    LOG.info("{} holds {} MB: deletion vectors on from now, so a MERGE marks the rows it replaces instead of"
        + " rewriting the files that hold them", path, bytes >> 20);
    return true;
  }

  /** The settings a new session of the application takes from the session it is made from. */
  static List<String> settings() {
    return List.of(FROM_SIZE, SESSION_DEFAULT);
  }
}
