package dev.lakehouse.gold;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.date_format;
import static org.apache.spark.sql.functions.dayofmonth;
import static org.apache.spark.sql.functions.dayofweek;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.month;
import static org.apache.spark.sql.functions.quarter;
import static org.apache.spark.sql.functions.sequence;
import static org.apache.spark.sql.functions.weekofyear;
import static org.apache.spark.sql.functions.year;

import dev.lakehouse.control.Commits;
import io.delta.tables.DeltaTable;
import java.sql.Date;
import java.time.LocalDate;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code gold.dim_date}: a Type 0 calendar, one row per day (key yyyymmdd), contiguous from the
 * earliest to the latest fact date. Days are only ever added, at either end; nothing is committed
 * when the calendar already covers the dates.
 */
final class DateDimension {

  static final String TABLE = "dim_date";

  private DateDimension() {}

  static Column dateKey(Column date) {
    return date_format(date, "yyyyMMdd").cast("int");
  }

  /** Extends the calendar to cover {@code dates} (a single DATE column); returns days added. */
  static long cover(SparkSession spark, String path, Dataset<Row> dates, String runId) {
    Row bounds = dates.toDF("date").where(col("date").isNotNull()).agg(min("date"), max("date")).first();
    if (bounds.isNullAt(0)) {
      if (!DeltaTable.isDeltaTable(spark, path)) {
        // No fact date yet (an empty source): the calendar exists, empty, so marts that join it run.
        Commits.tag(days(spark, LocalDate.EPOCH, LocalDate.EPOCH).where(lit(false)).write().format("delta")
            .mode("append"), Commits.Tag.of(GoldInputs.LAYER, TABLE, 0, runId)).save(path);
      }
      return 0;
    }
    LocalDate low = bounds.getDate(0).toLocalDate();
    LocalDate high = bounds.getDate(1).toLocalDate();
    Dataset<Row> days;
    Row stored = DeltaTable.isDeltaTable(spark, path)
        ? spark.read().format("delta").load(path).agg(min("date"), max("date")).first() : null;
    if (stored != null && !stored.isNullAt(0)) {
      LocalDate storedLow = stored.getDate(0).toLocalDate();
      LocalDate storedHigh = stored.getDate(1).toLocalDate();
      Dataset<Row> before = low.isBefore(storedLow) ? days(spark, low, storedLow.minusDays(1)) : null;
      Dataset<Row> after = high.isAfter(storedHigh) ? days(spark, storedHigh.plusDays(1), high) : null;
      if (before == null && after == null) {
        return 0;
      }
      days = before == null ? after : after == null ? before : before.union(after);
    } else {
      days = days(spark, low, high);
    }
    long added = days.count();
    Commits.tag(days.write().format("delta").mode("append"), Commits.Tag.of(GoldInputs.LAYER, TABLE, 0, runId))
        .save(path);
    return added;
  }

  static Dataset<Row> days(SparkSession spark, LocalDate from, LocalDate to) {
    return spark.range(1)
        .select(explode(sequence(lit(Date.valueOf(from)), lit(Date.valueOf(to)))).as("date"))
        .select(
            dateKey(col("date")).as("date_key"),
            col("date"),
            dayofmonth(col("date")).as("day"),
            weekofyear(col("date")).as("week"),
            month(col("date")).as("month"),
            date_format(col("date"), "MMMM").as("month_name"),
            quarter(col("date")).as("quarter"),
            year(col("date")).as("year"),
            date_format(col("date"), "EEEE").as("weekday_name"),
            dayofweek(col("date")).isin(1, 7).as("is_weekend"));
  }
}
