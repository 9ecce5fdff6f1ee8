package dev.lakehouse.spark;

import static org.apache.spark.sql.functions.convert_timezone;
import static org.apache.spark.sql.functions.lit;

import java.time.ZoneId;
import java.util.Optional;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;

/**
 * The instant of a source time. A {@code timestamp} (without time zone) or a {@code date} from
 * the source is a wall-clock time in the source's zone ({@code lakehouse.source.time-zone}); a
 * date is its midnight there. Compared with an instant as Spark would compare it, it would be
 * read in the session's zone, UTC, and be hours off wherever the source does not write in UTC.
 * Silver's change times and gold's as-of times both come from here.
 */
public final class SourceTime {

  private SourceTime() {}

  /** Whether a column of this type holds a time: {@code timestamp}, {@code timestamp_ntz} or {@code date}. */
  public static boolean isTime(DataType type) {
    return type instanceof TimestampType || type instanceof TimestampNTZType || type instanceof DateType;
  }

  /**
   * The specification problem when {@code column}, of type {@code type}, holds no time: one line
   * for {@code validate} and for a stage that finds it first.
   */
  public static Optional<String> notATime(String where, String column, DataType type, String what) {
    return isTime(type) ? Optional.empty()
        : Optional.of(where + ": " + column + " is " + type.simpleString() + ", not " + what + " (timestamp or date)");
  }

  /** {@code value}, of type {@code type}, as a Spark {@code timestamp}; empty when it is not a time. */
  public static Optional<Column> instant(Column value, DataType type, ZoneId zone) {
    if (type instanceof TimestampType) {
      return Optional.of(value);
    }
    if (type instanceof TimestampNTZType) {
      return Optional.of(inZone(value, zone));
    }
    if (type instanceof DateType) {
      return Optional.of(inZone(value.cast(DataTypes.TimestampNTZType), zone));
    }
    return Optional.empty();
  }

  /** The session is UTC, so the UTC wall-clock time cast to {@code timestamp} is the instant. */
  private static Column inZone(Column wallClock, ZoneId zone) {
    return convert_timezone(lit(zone.getId()), lit("UTC"), wallClock).cast(DataTypes.TimestampType);
  }
}
