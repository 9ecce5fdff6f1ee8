package dev.lakehouse.spark;

import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import org.apache.spark.sql.catalyst.util.DateTimeUtils;

/**
 * The exact instant or day of a {@code java.sql} value Spark returned. Spark stores times on the
 * proleptic Gregorian calendar and hands them out as {@code java.sql} values whose fields read the
 * same on the old Julian one, so before 1582 their epoch milliseconds are days off (ten in 1500,
 * two in year 1). Spark's own conversion undoes that; {@code toInstant()} does not.
 */
public final class SparkTimes {

  private SparkTimes() {}

  public static Instant instant(Timestamp value) {
    return DateTimeUtils.microsToInstant(DateTimeUtils.fromJavaTimestamp(value));
  }

  public static LocalDate localDate(Date value) {
    return DateTimeUtils.daysToLocalDate(DateTimeUtils.fromJavaDate(value));
  }
}
