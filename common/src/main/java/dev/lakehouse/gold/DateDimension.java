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

import io.delta.tables.DeltaTable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code gold.dim_date}: a Type 0 calendar, one row per day (key yyyymmdd), contiguous from the
 * earliest to the latest fact date. Rows are only ever added.
 */
final class DateDimension {

  private DateDimension() {}

  static Column dateKey(Column date) {
    return date_format(date, "yyyyMMdd").cast("int");
  }

  /** Extends the calendar to cover {@code dates} (a single DATE column); returns days added. */
  static long cover(SparkSession spark, String path, Dataset<Row> dates) {
    Dataset<Row> span = dates.toDF("date").where(col("date").isNotNull());
    if (DeltaTable.isDeltaTable(spark, path)) {
      span = span.unionByName(spark.read().format("delta").load(path).select("date"));
    }
    Row bounds = span.agg(min("date"), max("date")).first();
    if (bounds.isNullAt(0)) {
      return 0;
    }
    Dataset<Row> days = spark.range(1)
        .select(explode(sequence(lit(bounds.getDate(0)), lit(bounds.getDate(1)))).as("date"))
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
    if (!DeltaTable.isDeltaTable(spark, path)) {
      days.write().format("delta").save(path);
      return spark.read().format("delta").load(path).count();
    }
    DeltaTable.forPath(spark, path).as("t")
        .merge(days.as("s"), "t.date_key = s.date_key")
        .whenNotMatched().insertAll()
        .execute();
    return 0;
  }

}
