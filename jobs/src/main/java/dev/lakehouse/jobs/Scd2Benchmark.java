package dev.lakehouse.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.gold.Scd2Columns;
import dev.lakehouse.gold.Scd2Merge;
import dev.lakehouse.gold.Scd2Result;
import dev.lakehouse.gold.Scd2Spec;
import io.delta.tables.DeltaTable;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code lakehouse bench scd2}: K changes (updates, late versions, deletes, new keys) merged into
 * an N-row Type 2 dimension, against the baseline of a plain Delta upsert of the same K rows into
 * an N-row table, in the same run.
 */
@Command(name = "scd2", description = "K changes merged into an N-row SCD2 dimension, against a plain Delta upsert of K rows.")
public final class Scd2Benchmark implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--rows", defaultValue = "1000000", description = "Dimension rows (default: ${DEFAULT-VALUE}).")
  long rows;

  @Option(names = "--changes", defaultValue = "10000", description = "Changes (default: ${DEFAULT-VALUE}).")
  long changes;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    LakehouseCli cli = (LakehouseCli) spec.parent().parent().userObject();
    Path root = Files.createTempDirectory("lakehouse-bench-scd2-");
    try (Lakehouse lakehouse = new Lakehouse(cli.config().with(Map.of("lakehouse.root", root.toString())).spec())) {
      SparkSession spark = lakehouse.spark();
      Instant base = Instant.parse("2026-01-01T00:00:00Z");
      Scd2Spec dimension = Scd2Spec.of("customer", List.of("customer_id"), List.of("city", "tier"), List.of("email"));
      Scd2Merge merge = new Scd2Merge(spark, root.resolve("dim_customer").toString(), dimension);
      out.printf("loading a %,d-row dimension...%n", rows);
      out.flush();
      merge.apply(versions(spark, 0, rows, base, false));

      String upsertPath = root.resolve("plain_customer").toString();
      versions(spark, 0, rows, base, false).drop(Scd2Columns.DELETE_EVENT).write().format("delta").save(upsertPath);

      // Warm both paths once on a small batch, as a long-running job would be.
      merge.apply(changeBatch(spark, rows, 100, base.plusSeconds(3600)));
      upsert(spark, upsertPath, changeBatch(spark, rows, 100, base.plusSeconds(3600)));

      Dataset<Row> batch = changeBatch(spark, rows, changes, base.plusSeconds(7200)).cache();
      batch.count();
      long start = System.nanoTime();
      upsert(spark, upsertPath, batch);
      double upsertSeconds = (System.nanoTime() - start) / 1e9;
      start = System.nanoTime();
      Scd2Result result = merge.apply(batch);
      double scd2Seconds = (System.nanoTime() - start) / 1e9;

      out.printf("%ndimension rows: %,d   changes: %,d (%,d versions and %,d tombstones added, %,d rows updated)%n",
          rows, changes, result.versionsInserted(), result.tombstonesAdded(), result.rowsUpdated());
      out.printf("%-46s %8.2f s%n", "baseline: plain Delta upsert of the same rows", upsertSeconds);
      out.printf("%-46s %8.2f s%n", "lakehouse SCD2 merge (history kept)", scd2Seconds);
      out.printf("ratio (SCD2 / upsert): %.2f%n", scd2Seconds / upsertSeconds);
      out.flush();
      return 0;
    } finally {
      ExtractBenchmark.deleteQuietly(root);
    }
  }

  private static Dataset<Row> versions(SparkSession spark, long from, long to, Instant time, boolean deleted) {
    return spark.range(from, to).select(
        col("id").as("customer_id"),
        concat(lit("city-"), col("id").mod(97)).as("city"),
        concat(lit("tier-"), col("id").mod(3)).as("tier"),
        concat(lit("c"), col("id"), lit("@example.org")).as("email"),
        lit(Timestamp.from(time)).as(Scd2Columns.CHANGE_TIME),
        lit(deleted).as(Scd2Columns.DELETE_EVENT));
  }

  /** 70% moves, 10% late versions (older than the first), 10% deletes, 10% new keys. */
  private static Dataset<Row> changeBatch(SparkSession spark, long rows, long changes, Instant time) {
    long step = Math.max(1, rows / changes);
    return spark.range(0, changes).select(
        when(col("id").mod(10).equalTo(9), lit(rows).plus(col("id"))).otherwise(col("id").multiply(step)).as("customer_id"),
        concat(lit("moved-"), col("id").mod(13)).as("city"),
        lit("tier-0").as("tier"),
        concat(lit("c"), col("id").multiply(step), lit("@example.org")).as("email"),
        when(col("id").mod(10).equalTo(7), lit(Timestamp.from(Instant.parse("2025-06-01T00:00:00Z"))))
            .otherwise(lit(Timestamp.from(time))).as(Scd2Columns.CHANGE_TIME),
        col("id").mod(10).equalTo(8).as(Scd2Columns.DELETE_EVENT));
  }

  private static void upsert(SparkSession spark, String path, Dataset<Row> batch) {
    DeltaTable.forPath(spark, path).as("t")
        .merge(batch.drop(Scd2Columns.DELETE_EVENT).as("s"), "t.customer_id = s.customer_id")
        .whenMatched().updateAll()
        .whenNotMatched().insertAll()
        .execute();
  }
}
