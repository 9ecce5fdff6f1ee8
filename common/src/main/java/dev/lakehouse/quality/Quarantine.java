package dev.lakehouse.quality;

import static org.apache.spark.sql.functions.lit;

import dev.lakehouse.control.Commits;
import dev.lakehouse.spark.TypeWidening;
import dev.lakehouse.spec.Identifiers;
import io.delta.tables.DeltaTable;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code <root>/quarantine/<table>}: rows held aside by a {@code quarantine} rule, with the rules
 * they failed, the bronze batch they came from, the run and the time. Idempotent by content: a
 * row of a given key and bronze batch is written once, however many times a crashed run repeats.
 */
public final class Quarantine {

  public static final String LAYER = "quarantine";

  private final SparkSession spark;
  private final String path;
  private final String table;

  public Quarantine(SparkSession spark, String path, String table) {
    this.spark = spark;
    this.path = path;
    this.table = table;
  }

  /** Appends the rows this table does not hold yet (same identity and bronze batch); returns how many. */
  public long hold(Dataset<Row> rows, List<String> identity, long batch, String runId) {
    Dataset<Row> fresh = rows;
    boolean exists = DeltaTable.isDeltaTable(spark, path);
    if (exists) {
      List<String> on = new ArrayList<>(identity);
      on.add("_batch_id");
      Dataset<Row> held = spark.read().format("delta").load(path)
          .select(on.stream().map(c -> org.apache.spark.sql.functions.col(Identifiers.quote(c)))
              .toArray(org.apache.spark.sql.Column[]::new)).distinct();
      fresh = rows.join(held, on.toArray(String[]::new), "left_anti");
    }
    // Materialized, not cached: it reads this table, which the append below writes (see Cached.materialize).
    List<Dataset<Row>> materialized = new ArrayList<>();
    try {
      Dataset<Row> tagged = dev.lakehouse.spark.Cached.materialize(fresh.withColumn("_run_id", lit(runId))
          .withColumn("_quarantined_at", lit(Timestamp.from(Instant.now()))), materialized);
      long count = tagged.count();
      if (count > 0) {
        if (exists) {
          // A source column widened since the table was made (int to bigint): held rows follow it.
          TypeWidening.follow(spark, path, spark.read().format("delta").load(path).schema(), tagged.schema());
        }
        Commits.tag(tagged.write().format("delta").mode("append").option("mergeSchema", "true"),
            Commits.Tag.of(LAYER, table, batch, runId)).save(path);
      }
      return count;
    } finally {
      dev.lakehouse.spark.Cached.release(materialized);
    }
  }
}
