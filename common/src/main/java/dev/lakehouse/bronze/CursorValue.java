package dev.lakehouse.bronze;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.spec.Lookback;
import dev.lakehouse.spark.SparkTimes;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.Optional;

/**
 * A value of an incremental table's cursor, typed as the source column is: {@code timestamptz}
 * (an instant), {@code timestamp} (a wall-clock time in the source's zone), {@code date}, or an
 * integer. It knows its SQL literal, how the lookback moves it back, and its encoding in
 * {@code _control/watermarks}.
 */
public sealed interface CursorValue extends Comparable<CursorValue> {

  /** The cursor column's kind, from its PostgreSQL type. */
  enum Kind {
    TIMESTAMPTZ, TIMESTAMP, DATE, INTEGER;

    public static Optional<Kind> of(String pgType) {
      return switch (pgType) {
        case "timestamptz" -> Optional.of(TIMESTAMPTZ);
        case "timestamp" -> Optional.of(TIMESTAMP);
        case "date" -> Optional.of(DATE);
        case "int2", "int4", "int8" -> Optional.of(INTEGER);
        default -> Optional.empty();
      };
    }
  }

  Kind kind();

  /** A PostgreSQL literal of this value, typed like the column. */
  String sqlLiteral();

  /** This value moved back by the lookback (days rounded up for a date cursor). */
  CursorValue minus(Lookback lookback);

  /** The instant this value stands for, reading wall-clock values in {@code zone}; empty for integers. */
  Optional<Instant> instant(ZoneId zone);

  /** {@code kind:value}, as stored in the watermarks table. */
  String encode();

  /**
   * Values compare as what they are: instants, wall-clock times, days, integers. (Microseconds
   * from 1970 through {@code ChronoUnit} overflowed for times before 1678 or after 2262.)
   */
  @Override
  default int compareTo(CursorValue other) {
    if (kind() != other.kind()) {
      throw new IllegalArgumentException("cursor kinds differ: " + kind() + " and " + other.kind());
    }
    if (this instanceof TimestampTz t) {
      return t.value().compareTo(((TimestampTz) other).value());
    }
    if (this instanceof LocalTimestamp t) {
      return t.value().compareTo(((LocalTimestamp) other).value());
    }
    if (this instanceof DateValue d) {
      return d.value().compareTo(((DateValue) other).value());
    }
    return Long.compare(((IntegerValue) this).value(), ((IntegerValue) other).value());
  }

  static CursorValue decode(String encoded) {
    int colon = encoded.indexOf(':');
    String kind = encoded.substring(0, colon);
    String value = encoded.substring(colon + 1);
    return switch (Kind.valueOf(kind.toUpperCase())) {
      case TIMESTAMPTZ -> new TimestampTz(Instant.parse(value));
      case TIMESTAMP -> new LocalTimestamp(LocalDateTime.parse(value));
      case DATE -> new DateValue(LocalDate.parse(value));
      case INTEGER -> new IntegerValue(Long.parseLong(value));
    };
  }

  /**
   * A value as Spark returns it for a column of this kind (max over a Dataset, a row's field).
   * Spark hands out {@code java.sql} values on the old Julian calendar before 1582, so they are
   * read back through Spark's own conversion, never through their epoch milliseconds.
   */
  static CursorValue fromSpark(Kind kind, Object value) {
    return switch (kind) {
      case TIMESTAMPTZ -> new TimestampTz(value instanceof Instant i ? i : SparkTimes.instant((Timestamp) value));
      case TIMESTAMP -> new LocalTimestamp((LocalDateTime) value);
      case DATE -> new DateValue(value instanceof LocalDate d ? d : SparkTimes.localDate((java.sql.Date) value));
      case INTEGER -> new IntegerValue(value instanceof BigDecimal b ? b.longValueExact() : ((Number) value).longValue());
    };
  }

  static LakehouseException mismatch(String table, Kind expected, CursorValue found) {
    return new LakehouseException("The watermark of " + table + " is a " + found.kind().name().toLowerCase()
        + " value but the cursor column is now " + expected.name().toLowerCase()
        + "; a changed cursor type needs a new bronze table (or a new cursor column)");
  }

  record TimestampTz(Instant value) implements CursorValue {
    public Kind kind() {
      return Kind.TIMESTAMPTZ;
    }

    public String sqlLiteral() {
      return "'" + value + "'::timestamptz";
    }

    public CursorValue minus(Lookback lookback) {
      return new TimestampTz(value.minus(lookback.time().orElse(Duration.ZERO)));
    }

    public Optional<Instant> instant(ZoneId zone) {
      return Optional.of(value);
    }

    public String encode() {
      return "timestamptz:" + value;
    }
  }

  record LocalTimestamp(LocalDateTime value) implements CursorValue {
    public Kind kind() {
      return Kind.TIMESTAMP;
    }

    public String sqlLiteral() {
      return "'" + value + "'::timestamp";
    }

    public CursorValue minus(Lookback lookback) {
      return new LocalTimestamp(value.minus(lookback.time().orElse(Duration.ZERO)));
    }

    public Optional<Instant> instant(ZoneId zone) {
      return Optional.of(value.atZone(zone).toInstant());
    }

    public String encode() {
      return "timestamp:" + value;
    }
  }

  record DateValue(LocalDate value) implements CursorValue {
    public Kind kind() {
      return Kind.DATE;
    }

    public String sqlLiteral() {
      return "'" + value + "'::date";
    }

    public CursorValue minus(Lookback lookback) {
      Duration back = lookback.time().orElse(Duration.ZERO);
      long days = back.toDays() + (back.toDays() * 86_400 == back.toSeconds() && back.toNanosPart() == 0 ? 0 : 1);
      return new DateValue(value.minusDays(days));
    }

    public Optional<Instant> instant(ZoneId zone) {
      return Optional.of(value.atStartOfDay(zone).toInstant());
    }

    public String encode() {
      return "date:" + value;
    }
  }

  record IntegerValue(long value) implements CursorValue {
    public Kind kind() {
      return Kind.INTEGER;
    }

    public String sqlLiteral() {
      return Long.toString(value);
    }

    public CursorValue minus(Lookback lookback) {
      return new IntegerValue(value - lookback.units().orElse(0));
    }

    public Optional<Instant> instant(ZoneId zone) {
      return Optional.empty();
    }

    public String encode() {
      return "integer:" + value;
    }
  }
}
