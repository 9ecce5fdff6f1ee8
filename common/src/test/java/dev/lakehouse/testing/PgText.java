package dev.lakehouse.testing;

import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.TableSpec;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * Values as PostgreSQL prints them, from both sides: the source's own text of each value, and a
 * Spark value formatted the way PostgreSQL would print it. Tests compare the two as sorted lines,
 * so a silver table can be checked against its source row for row, value for value, independently
 * of the reader that landed it. Numbers are compared by value (trailing zeros stripped): an
 * unconstrained numeric lands with 18 decimals in Spark.
 */
public final class PgText {

  private static final String NULL = "\\N";
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");
  private static final DateTimeFormatter MONTH_DAY = DateTimeFormatter.ofPattern("-MM-dd");

  private PgText() {}

  /** The source table's rows (its exact source relation), each column as PostgreSQL's text. */
  public static List<String> sourceRows(String url, TableSpec table) {
    return sourceRows(url, table, null);
  }

  /** As above, with the schema when the table does not name one ({@code lakehouse.source.schema}). */
  public static List<String> sourceRows(String url, TableSpec table, String defaultSchema) {
    try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
      String schema = table.schema().or(() -> java.util.Optional.ofNullable(defaultSchema)).orElseGet(() -> {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_schema()")) {
          rs.next();
          return rs.getString(1);
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      List<String[]> columns = columns(c, schema, table.sourceTable());
      List<String> select = new ArrayList<>();
      for (String[] column : columns) {
        String ref = Identifiers.pgQuote(column[0]);
        select.add((column[1].equals("money") ? ref + "::numeric" : ref) + "::text");
      }
      String query = "SELECT " + String.join(", ", select) + " FROM " + Identifiers.pgQuote(schema) + "."
          + Identifiers.pgQuote(table.sourceTable());
      List<String> lines = new ArrayList<>();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
        while (rs.next()) {
          List<String> cells = new ArrayList<>();
          for (int i = 0; i < columns.size(); i++) {
            String text = rs.getString(i + 1);
            cells.add(text == null ? NULL : numeric(columns.get(i)[1]) ? number(new BigDecimal(text)) : text);
          }
          lines.add(String.join("|", cells));
        }
      }
      lines.sort(null);
      return lines;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The live rows of a silver table, the source's columns in the source's order, as PostgreSQL text. */
  public static List<String> silverRows(SparkSession spark, String path, TableSpec table, String url) {
    return silverRows(spark, path, table, url, "public");
  }

  public static List<String> silverRows(SparkSession spark, String path, TableSpec table, String url,
                                        String defaultSchema) {
    List<String[]> columns;
    try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
      String schema = table.schema().orElse(defaultSchema);
      columns = columns(c, schema, table.sourceTable());
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    Column[] select = columns.stream()
        .map(col -> functions.col(Identifiers.quote(table.conform().silverName(col[0])))).toArray(Column[]::new);
    return lines(spark.read().format("delta").load(path).where("NOT _is_deleted").select(select).collectAsList());
  }

  /** The rows of a query of the source, as sorted lines of PostgreSQL text (numbers by value). */
  public static List<String> query(String url, String query) {
    try (Connection c = DriverManager.getConnection(url, "postgres", "");
         Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
      ResultSetMetaData meta = rs.getMetaData();
      List<String> lines = new ArrayList<>();
      while (rs.next()) {
        List<String> cells = new ArrayList<>();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
          String text = rs.getString(i);
          String type = baseType(c, meta.getColumnTypeName(i));
          cells.add(text == null ? NULL : numeric(type) ? number(new BigDecimal(text)) : text);
        }
        lines.add(String.join("|", cells));
      }
      lines.sort(null);
      return lines;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Asserts two sorted line lists are equal; the message shows only the lines that differ. */
  public static void assertSameLines(List<String> expected, List<String> actual, String what) {
    if (expected.equals(actual)) {
      return;
    }
    List<String> missing = new ArrayList<>(expected);
    actual.forEach(missing::remove);
    List<String> extra = new ArrayList<>(actual);
    expected.forEach(extra::remove);
    throw new AssertionError(what + ": " + expected.size() + " rows expected, " + actual.size() + " found; missing "
        + missing.subList(0, Math.min(10, missing.size())) + (missing.size() > 10 ? " and " + (missing.size() - 10)
        + " more" : "") + "; unexpected " + extra.subList(0, Math.min(10, extra.size()))
        + (extra.size() > 10 ? " and " + (extra.size() - 10) + " more" : ""));
  }

  /** Spark rows as sorted lines, each value as PostgreSQL would print it. */
  public static List<String> lines(List<Row> rows) {
    List<String> lines = new ArrayList<>();
    for (Row row : rows) {
      List<String> cells = new ArrayList<>();
      for (int i = 0; i < row.length(); i++) {
        cells.add(text(row.get(i), false));
      }
      lines.add(String.join("|", cells));
    }
    lines.sort(null);
    return lines;
  }

  /** One Spark value as PostgreSQL prints it; inside an array, elements are quoted as PostgreSQL quotes them. */
  public static String text(Object value, boolean element) {
    if (value == null) {
      return element ? "NULL" : NULL;
    }
    String text;
    if (value instanceof String s) {
      text = s;
    } else if (value instanceof Boolean b) {
      text = b ? "t" : "f";
    } else if (value instanceof BigDecimal d) {
      text = number(d);
    } else if (value instanceof Double || value instanceof Float) {
      text = floatText(((Number) value).doubleValue());
    } else if (value instanceof Number n) {
      text = n.toString();
    } else if (value instanceof java.sql.Date d) {
      text = date(d.toLocalDate(), "");
    } else if (value instanceof LocalDate d) {
      text = date(d, "");
    } else if (value instanceof Timestamp t) {
      // Spark hands out a java.sql.Timestamp on the old Julian calendar before 1582: undo that as Spark does.
      Instant instant = org.apache.spark.sql.catalyst.util.DateTimeUtils.microsToInstant(
          org.apache.spark.sql.catalyst.util.DateTimeUtils.fromJavaTimestamp(t));
      text = dateTime(LocalDateTime.ofInstant(instant, ZoneOffset.UTC), "+00");
    } else if (value instanceof Instant t) {
      text = dateTime(LocalDateTime.ofInstant(t, ZoneOffset.UTC), "+00");
    } else if (value instanceof LocalDateTime t) {
      text = dateTime(t, "");
    } else if (value instanceof byte[] bytes) {
      text = "\\x" + HexFormat.of().formatHex(bytes);
    } else if (value instanceof scala.collection.Seq<?> seq) {
      List<String> elements = new ArrayList<>();
      for (Object e : scala.jdk.javaapi.CollectionConverters.asJava(seq)) {
        elements.add(text(e, true));
      }
      return "{" + String.join(",", elements) + "}";
    } else {
      text = value.toString();
    }
    return element ? quoteElement(text) : text;
  }

  private static List<String[]> columns(Connection c, String schema, String table) throws SQLException {
    String query = """
        SELECT a.attname, coalesce(b.typname, t.typname) FROM pg_attribute a
        JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype
        WHERE n.nspname = ? AND r.relname = ? AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""";
    List<String[]> columns = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement(query)) {
      s.setString(1, schema);
      s.setString(2, table);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          columns.add(new String[] {rs.getString(1), rs.getString(2)});
        }
      }
    }
    return columns;
  }

  private static boolean numeric(String type) {
    return type.equals("numeric") || type.equals("money");
  }

  /** A domain's base type name; other types as they are. */
  private static String baseType(Connection c, String typname) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT coalesce(b.typname, t.typname) FROM pg_type t"
        + " LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype WHERE t.typname = ? LIMIT 1")) {
      s.setString(1, typname.replace("\"", ""));
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getString(1) : typname;
      }
    }
  }

  private static String number(BigDecimal value) {
    return value.signum() == 0 ? "0" : value.stripTrailingZeros().toPlainString();
  }

  private static String dateTime(LocalDateTime t, String zone) {
    String text = t.format(TIME);
    int micros = t.getNano() / 1000;
    if (micros != 0) {
      String fraction = String.format("%06d", micros).replaceAll("0+$", "");
      text += "." + fraction;
    }
    return date(t.toLocalDate(), " " + text + zone);
  }

  /** A date as PostgreSQL's ISO style prints it: four or more year digits, no sign, BC after the rest. */
  private static String date(LocalDate d, String rest) {
    int year = d.getYear();
    boolean bc = year <= 0;
    return String.format("%04d", bc ? 1 - year : year) + d.format(MONTH_DAY) + rest + (bc ? " BC" : "");
  }

  private static String floatText(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return Long.toString((long) v);
    }
    return Double.toString(v).replace("E", "e+").replace("e+-", "e-");
  }

  private static String quoteElement(String text) {
    if (text.isEmpty() || text.equalsIgnoreCase("NULL") || text.matches("(?s).*[{}\",\\\\\\s].*")) {
      return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
    return text;
  }
}
