package dev.lakehouse.spark;

import static org.apache.spark.sql.functions.broadcast;

import java.util.OptionalLong;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.LogicalRDD;
import org.apache.spark.sql.execution.columnar.InMemoryRelation;
import org.apache.spark.storage.RDDInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source of a MERGE whose row count is known before it runs. Delta joins the source with the
 * whole target to find the files it touches and again to write deletion vectors; Spark cannot size
 * a materialized source (a local checkpoint carries no statistics), so it shuffles and sorts the
 * whole target each time. A source known to be small is broadcast instead (Delta keeps the hint
 * when it materializes the source), and the target is only scanned. Measured on a 10M-row fact
 * table: the MERGE of a 10,000-change cycle sorted the 10M rows in each of its three joins.
 *
 * <p>Small means few rows and few bytes: a broadcast goes through the driver, so 100,000 rows of
 * wide text or JSON could exceed its memory or {@code spark.driver.maxResultSize}. The bytes are
 * what the materialized source occupies in Spark's block store, read from Spark, not guessed from
 * the schema; a source whose size Spark does not know is judged by its rows alone.
 */
public final class MergeSource {

  private static final Logger LOG = LoggerFactory.getLogger(MergeSource.class);

  /** Up to this many source rows are broadcast. */
  public static final long BROADCAST_ROWS = 100_000;

  /**
   * Up to this many bytes are broadcast, and never more than half the driver's result limit
   * (the broadcast is collected there).
   */
  public static final long BROADCAST_BYTES = 64L << 20;

  private MergeSource() {}

  /** {@code source} with a broadcast hint when it is small, else as it is. */
  public static Dataset<Row> sized(Dataset<Row> source, long rows) {
    if (rows > BROADCAST_ROWS) {
      return source;
    }
    OptionalLong bytes = storedBytes(source);
    long limit = broadcastLimit(source.sparkSession());
    if (bytes.isPresent() && bytes.getAsLong() > limit) {
      LOG.info("MERGE source of {} rows holds {} MB, more than the {} MB broadcast limit: joined without broadcast", rows,
          bytes.getAsLong() >> 20, limit >> 20);
      return source;
    }
    return broadcast(source);
  }

  /** The byte limit of a broadcast source in this session. */
  static long broadcastLimit(SparkSession spark) {
    long maxResult = spark.sparkContext().getConf().getSizeAsBytes("spark.driver.maxResultSize", "1g");
    return maxResult > 0 ? Math.min(BROADCAST_BYTES, maxResult / 2) : BROADCAST_BYTES;
  }

  /**
   * What the materialized data behind {@code source} occupies in the block store (memory and
   * disk): the sum over its leaves when each is a local checkpoint or a cached relation that is
   * stored; empty when any leaf is something else, or not stored yet.
   */
  static OptionalLong storedBytes(Dataset<Row> source) {
    LogicalPlan plan = source.queryExecution().withCachedData();
    long total = 0;
    for (LogicalPlan leaf : scala.jdk.javaapi.CollectionConverters.asJava(plan.collectLeaves())) {
      if (leaf instanceof LogicalRDD checkpoint) {
        OptionalLong stored = stored(source.sparkSession(), checkpoint.rdd().id());
        if (stored.isEmpty()) {
          return OptionalLong.empty();
        }
        total += stored.getAsLong();
      } else if (leaf instanceof InMemoryRelation cached && cached.cacheBuilder().isCachedColumnBuffersLoaded()) {
        total += cached.cacheBuilder().sizeInBytesStats().value();
      } else {
        return OptionalLong.empty();
      }
    }
    return OptionalLong.of(total);
  }

  private static OptionalLong stored(SparkSession spark, int rddId) {
    for (RDDInfo info : spark.sparkContext().getRDDStorageInfo()) {
      if (info.id() == rddId && info.numCachedPartitions() > 0) {
        return OptionalLong.of(info.memSize() + info.diskSize());
      }
    }
    return OptionalLong.empty();
  }
}
