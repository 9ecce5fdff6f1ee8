package dev.lakehouse.extract;

import dev.lakehouse.LakehouseException;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;

/**
 * Values in PostgreSQL's text output form (as logical replication sends them in text mode, with
 * the session in ISO date style and UTC) turned into the Spark values the COPY path lands for the
 * same column: a value lands the same whichever way it came. Columns the COPY path reads as text
 * ({@code ::text}) take the text as it is; {@code character(n)} loses its padding, as {@code ::text}
 * shows it; {@code money} becomes its number, as {@code money::numeric} gives it on the COPY path.
 */
public final class TextValues {

  private static final DateTimeFormatter LOCAL = new DateTimeFormatterBuilder()
      .append(DateTimeFormatter.ISO_LOCAL_DATE).appendLiteral(' ').appendPattern("HH:mm:ss")
      .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
      .toFormatter();
  private static final DateTimeFormatter ZONED = new DateTimeFormatterBuilder()
      .append(LOCAL)
      .appendPattern("[XXXXX][XXX][X]")
      .toFormatter();

  /**
   * The session settings under which PostgreSQL writes every text form the lakehouse reads: the
   * {@code ::text} columns of the COPY and JDBC paths and the log's values. Set on every session
   * that reads, a value reads the same whichever way it came, whatever defaults the server, the
   * database or the role set (an {@code IntervalStyle = iso_8601}, an {@code extra_float_digits}
   * that rounds floats; the driver asks for an ISO {@code DateStyle} itself, as the log's does).
   */
  private static final List<String[]> SESSION = List.of(new String[] {"TimeZone", "UTC"},
      new String[] {"DateStyle", "ISO"}, new String[] {"IntervalStyle", "postgres"},
      new String[] {"extra_float_digits", "3"}, new String[] {"bytea_output", "hex"});

  private TextValues() {}

  /** {@link #SESSION} as SQL statements, separated by semicolons. */
  public static String sessionStatements() {
    return String.join("; ", SESSION.stream().map(s -> "SET " + s[0] + " = '" + s[1] + "'").toList());
  }

  /** {@link #SESSION} as a connection's startup {@code options}. */
  public static String sessionOptions() {
    return String.join(" ", SESSION.stream().map(s -> "-c " + s[0] + "=" + s[1]).toList());
  }

  /**
   * The Spark value (as a Row holds it) of {@code text}, for a column of {@code column}'s type.
   * {@code money} text is read as the C locale writes it, and {@code moneyScale} is the source's
   * own fraction digits ({@link #moneyScale}).
   */
  public static Object parse(String text, SourceColumn column, int moneyScale) {
    if (text == null) {
      return null;
    }
    try {
      return parse(text, column.dataType(), column.pgType(), moneyScale);
    } catch (RuntimeException e) {
      String message = "column " + column.name() + " (" + column.sqlType() + "): cannot read the value '"
          + (text.length() > 60 ? text.substring(0, 60) + "..." : text) + "' from the log: " + e.getMessage();
      throw e instanceof NoSparkValue ? new Unrepresentable(message, e) : new LakehouseException(message, e);
    }
  }

  /** A well-formed value that the column's Spark type cannot hold (NaN in a decimal, an infinite date, ...). */
  private static final class NoSparkValue extends IllegalArgumentException {
    NoSparkValue(String message) {
      super(message);
    }
  }

  /**
   * {@link #parse}'s failure for a value the source holds rightly but no Spark value of its column
   * can: the data's problem, row by row, unlike a value that is not of the column's type at all.
   */
  public static final class Unrepresentable extends LakehouseException {
    Unrepresentable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * How many fraction digits a money value has at the source: what {@code money::numeric} divides
   * by under the session's {@code lc_monetary} (2 when the locale says nothing, as in C).
   */
  public static int moneyScale(java.sql.Connection connection) throws java.sql.SQLException {
    try (java.sql.Statement s = connection.createStatement();
         java.sql.ResultSet r = s.executeQuery("SELECT scale(1::money::numeric)")) {
      r.next();
      return r.getInt(1);
    }
  }

  static Object parse(String text, DataType type, String pgType, int moneyScale) {
    if (type instanceof StringType) {
      if (pgType.equals("bpchar")) {
        return text.stripTrailing();
      }
      if (pgType.equals("inet") && !text.contains("/")) {
        // inet's ::text (what the COPY path reads) always shows the mask; its output omits a full one.
        return text + (text.contains(":") ? "/128" : "/32");
      }
      return text;
    }
    if (type instanceof ShortType) {
      return Short.parseShort(text);
    }
    if (type instanceof IntegerType) {
      return Integer.parseInt(text);
    }
    if (type instanceof LongType) {
      return Long.parseLong(text);
    }
    if (type instanceof BooleanType) {
      return text.equals("t") || text.equals("true");
    }
    if (type instanceof FloatType) {
      return Float.parseFloat(floatText(text));
    }
    if (type instanceof DoubleType) {
      return Double.parseDouble(floatText(text));
    }
    if (type instanceof DecimalType decimal) {
      if (!pgType.equals("money") && (text.equals("NaN") || text.contains("Infinity"))) {
        throw new NoSparkValue(text + " has no Spark decimal");
      }
      BigDecimal value = pgType.equals("money") ? money(text, moneyScale) : new BigDecimal(text);
      BigDecimal scaled;
      try {
        // Never round: a value with more fraction digits than the column holds is not the source's value.
        scaled = value.setScale(decimal.scale(), java.math.RoundingMode.UNNECESSARY);
      } catch (ArithmeticException e) {
        throw new NoSparkValue("does not fit " + decimal.simpleString());
      }
      if (scaled.precision() > decimal.precision()) {
        throw new NoSparkValue("does not fit " + decimal.simpleString());
      }
      return scaled;
    }
    // java.time values, not java.sql's: Spark takes those on its proleptic Gregorian calendar as
    // the COPY path lands them, where a java.sql.Timestamp before 1582 would move by days.
    if (type instanceof DateType) {
      return LocalDate.parse(isoYear(text));
    }
    if (type instanceof TimestampType) {
      return OffsetDateTime.parse(isoYear(text), ZONED).toInstant();
    }
    if (type instanceof TimestampNTZType) {
      return LocalDateTime.parse(isoYear(text), LOCAL);
    }
    if (type instanceof BinaryType) {
      if (!text.startsWith("\\x")) {
        throw new IllegalArgumentException("bytea in escape format; the lakehouse reads bytea_output = hex");
      }
      return HexFormat.of().parseHex(text.substring(2));
    }
    if (type instanceof ArrayType array) {
      String element = pgType.startsWith("_") ? pgType.substring(1) : pgType;
      List<Object> values = new ArrayList<>();
      for (String item : arrayElements(text)) {
        values.add(item == null ? null : parse(item, array.elementType(), element, moneyScale));
      }
      return values;
    }
    throw new IllegalArgumentException("no text reader for " + type.simpleString());
  }

  /**
   * Money's text holds every digit of its stored integer (the amount in minor units): grouping
   * and currency sign aside, {@code -$1,234.56} is -123456 minor units, worth -1234.56 at 2
   * fraction digits and -123456 at 0. Reading the digits, not the decimal mark, keeps it exact
   * whatever the locale that wrote it.
   */
  static BigDecimal money(String text, int scale) {
    String digits = text.replaceAll("[^0-9]", "");
    if (digits.isEmpty()) {
      throw new IllegalArgumentException("not a money value");
    }
    BigDecimal value = new BigDecimal(new java.math.BigInteger(digits), scale);
    return text.contains("-") || text.startsWith("(") ? value.negate() : value;
  }

  /**
   * PostgreSQL's ISO text of a date or timestamp in java.time's form: PostgreSQL writes the year
   * with four or more digits and a year before 1 as {@code 0044-03-15 BC}; java.time wants a sign
   * on a year past 9999 and counts 1 BC as year 0.
   */
  private static String isoYear(String text) {
    if (text.equals("infinity") || text.equals("-infinity")) {
      throw new NoSparkValue(text + " has no Spark date or timestamp");
    }
    boolean bc = text.endsWith(" BC");
    int dash = text.indexOf('-');
    if (!bc && dash == 4) {
      return text;
    }
    String value = bc ? text.substring(0, text.length() - 3) : text;
    if (dash < 4) {
      throw new IllegalArgumentException("not an ISO date");
    }
    int year = Integer.parseInt(value.substring(0, dash));
    int iso = bc ? 1 - year : year;
    String sign = iso > 9999 ? "+" : iso < 0 ? "-" : "";
    return sign + String.format("%04d", Math.abs(iso)) + value.substring(dash);
  }

  private static String floatText(String text) {
    return switch (text) {
      case "Infinity" -> "Infinity";
      case "-Infinity" -> "-Infinity";
      case "NaN" -> "NaN";
      default -> text;
    };
  }

  /**
   * The elements of a one-dimensional PostgreSQL array literal, {@code {a,"b,c",NULL,""}}: quoted
   * elements unescaped, the unquoted word NULL as null. An explicit lower bound ({@code [0:2]=})
   * is dropped; more than one dimension is refused.
   */
  static List<String> arrayElements(String literal) {
    String text = literal;
    if (text.startsWith("[")) {
      int equals = text.indexOf('=');
      if (text.substring(0, equals).contains("][")) {
        throw new NoSparkValue("a multi-dimensional array");
      }
      text = text.substring(equals + 1);
    }
    if (!text.startsWith("{") || !text.endsWith("}")) {
      throw new IllegalArgumentException("not an array literal");
    }
    List<String> elements = new ArrayList<>();
    String body = text.substring(1, text.length() - 1);
    if (body.isEmpty()) {
      return elements;
    }
    StringBuilder current = new StringBuilder();
    boolean quoted = false;
    boolean wasQuoted = false;
    for (int i = 0; i < body.length(); i++) {
      char c = body.charAt(i);
      if (quoted) {
        if (c == '\\') {
          current.append(body.charAt(++i));
        } else if (c == '"') {
          quoted = false;
        } else {
          current.append(c);
        }
      } else if (c == '"') {
        quoted = true;
        wasQuoted = true;
      } else if (c == '{') {
        throw new NoSparkValue("a multi-dimensional array");
      } else if (c == ',') {
        elements.add(element(current, wasQuoted));
        current.setLength(0);
        wasQuoted = false;
      } else {
        current.append(c);
      }
    }
    elements.add(element(current, wasQuoted));
    return elements;
  }

  private static String element(StringBuilder text, boolean quoted) {
    String value = quoted ? text.toString() : text.toString().trim();
    return !quoted && value.equalsIgnoreCase("NULL") ? null : value;
  }
}
