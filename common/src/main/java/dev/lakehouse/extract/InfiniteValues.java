package dev.lakehouse.extract;

import dev.lakehouse.source.SourceDatabase;
import java.util.List;
import java.util.function.Predicate;

/**
 * PostgreSQL's {@code infinity} and {@code -infinity} in a date or timestamp column, which no
 * Spark value holds. By default they stop the table (the decoders say so, with the column and
 * the value). A table with {@code infinity = clamp} lands them as the last and first instant
 * Spark holds, 9999-12-31 (23:59:59.999999) and 0001-01-01 (00:00), which is what Spark's own
 * PostgreSQL JDBC dialect does and what gold already writes for an open-ended {@code valid_to}.
 *
 * <p>Read with COPY or JDBC, the clamp is part of the column's select expression, so the server
 * sends an ordinary value and the binary decoders stay as they are; from the log, the text
 * {@code infinity} is replaced before it is parsed. Keys and the cursor are never clamped: a
 * clamped key could meet a real 9999-12-31 key, and a clamped cursor would move the watermark to
 * the end of time (see {@code TableSpec.clampsInfinity}).
 */
public final class InfiniteValues {

  private InfiniteValues() {}

  /** Whether the column holds PostgreSQL dates or timestamps (not arrays of them). */
  static boolean temporal(SourceColumn column) {
    return column.wireType() == WireType.DATE || column.wireType() == WireType.TIMESTAMP;
  }

  /** The columns, those {@code clamps} names (and that are dates or timestamps) selected clamped. */
  public static List<SourceColumn> clamped(List<SourceColumn> columns, Predicate<String> clamps) {
    return columns.stream().map(c -> temporal(c) && c.selectedAsIs() && clamps.test(c.name()) ? clamped(c) : c).toList();
  }

  private static SourceColumn clamped(SourceColumn c) {
    String quoted = SourceDatabase.ident(c.name());
    String select = "CASE " + quoted + " WHEN 'infinity' THEN " + literal(c, "infinity") + " WHEN '-infinity' THEN "
        + literal(c, "-infinity") + " ELSE " + quoted + " END AS " + quoted;
    return new SourceColumn(c.name(), c.pgType(), c.sqlType(), c.dataType(), c.nullable(), select, c.wireType(),
        c.elementWireType(), c.relation());
  }

  private static String literal(SourceColumn c, String infinite) {
    String type = c.pgType().equals("date") || c.pgType().equals("timestamptz") ? c.pgType() : "timestamp";
    return "'" + instant(c, infinite) + "'::" + type;
  }

  /** Whether {@code text} is the log's text of an infinite value of {@code column}. */
  public static boolean infinite(String text, SourceColumn column) {
    return temporal(column) && ("infinity".equals(text) || "-infinity".equals(text));
  }

  /** The log's text of a value, with {@code infinity} and {@code -infinity} as the clamped instants. */
  public static String text(String text, SourceColumn column) {
    return infinite(text, column) ? instant(column, text) : text;
  }

  /** The text of the instant {@code infinite} ({@code infinity} or {@code -infinity}) lands as. */
  private static String instant(SourceColumn column, String infinite) {
    boolean last = infinite.equals("infinity");
    return switch (column.pgType()) {
      case "date" -> last ? "9999-12-31" : "0001-01-01";
      case "timestamptz" -> last ? "9999-12-31 23:59:59.999999+00" : "0001-01-01 00:00:00+00";
      default -> last ? "9999-12-31 23:59:59.999999" : "0001-01-01 00:00:00";
    };
  }
}
