package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.lakehouse.bronze.BronzeOps;
import dev.lakehouse.spark.SourceTime;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.TableSpec;
import java.time.ZoneId;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * How silver reads bronze rows, shared by the apply ({@link SilverLoader}) and the versions it
 * publishes to gold ({@link SilverVersions}), so both see the same rows the same way.
 */
final class SilverRows {

  /** When the source changed: the cursor as an instant, else when the row was landed. */
  static final String UPDATED_AT = "_updated_at";
  /** How many versions the row's key had in its bronze batch (the latest is applied); read by the quality rule. */
  static final String VERSIONS = "_versions_in_batch";
  static final String ROW_HASH = "_row_hash";

  private SilverRows() {}

  /** Bronze rows of batches {@code (from, to]}, with {@code _op} (legacy rows read their table's default). */
  static Dataset<Row> batches(Dataset<Row> bronze, TableSpec table, long from, long to) {
    Dataset<Row> rows = bronze.where(col("_batch_id").gt(from).and(col("_batch_id").leq(to)));
    String legacy = table.incremental() ? BronzeOps.UPSERT : BronzeOps.SNAPSHOT;
    Column op = Arrays.asList(bronze.columns()).contains(BronzeOps.OP)
        ? functions.coalesce(col(BronzeOps.OP), lit(legacy)) : lit(legacy);
    return rows.withColumn(BronzeOps.OP, op);
  }

  /**
   * The change time as an instant: a {@code timestamptz} cursor as it is; a {@code timestamp} or
   * {@code date} cursor read in the source's time zone; an integer cursor, no cursor, or a delete
   * marker: when bronze landed the row.
   */
  static Column changeTime(TableSpec table, Dataset<Row> bronze, ZoneId zone) {
    Column landed = col("_ingested_at");
    if (table.log()) {
      // The log says when each change committed; the initial copy was taken when it was landed.
      return functions.coalesce(col(dev.lakehouse.bronze.LogCapture.COMMIT_TIME), landed);
    }
    if (table.cursor().isEmpty()) {
      return landed;
    }
    String cursor = table.cursor().get();
    return SourceTime.instant(col(Identifiers.quote(cursor)), bronze.schema().apply(cursor).dataType(), zone)
        .map(time -> functions.when(col(BronzeOps.OP).equalTo(BronzeOps.DELETE), landed).otherwise(time))
        .orElse(landed);
  }

  /**
   * How versions of one key are ordered, newest first: by bronze batch (each batch is a consistent
   * snapshot of the source, so a later batch shows the source's later state, even when a late
   * commit carries an older cursor), then by cursor, then by landing.
   */
  static Column[] newestFirst(TableSpec table) {
    Column byCursor = table.cursor().map(c -> col(Identifiers.quote(c)).desc_nulls_last()).orElse(lit(0).asc());
    return new Column[] {col("_batch_id").desc(), byCursor, col("_ingested_at").desc()};
  }

  /** A hash of the business columns (not starting with _), so "something changed" is one comparison. */
  static Dataset<Row> withHash(Dataset<Row> rows) {
    List<String> business = Arrays.stream(rows.columns()).filter(c -> !c.startsWith("_")).toList();
    return rows.withColumn(ROW_HASH, BronzeOps.hash(business));
  }
}
