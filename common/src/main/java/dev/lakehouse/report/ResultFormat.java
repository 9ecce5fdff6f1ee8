package dev.lakehouse.report;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/** Prints query results for people (an aligned table) or programs (CSV with a header, JSON). */
public enum ResultFormat {
  TABLE, CSV, JSON;

  /** Writes at most {@code limit} rows (all when limit is negative); returns how many were written. */
  public int write(Dataset<Row> result, int limit, PrintWriter out) {
    Dataset<Row> rows = limit >= 0 ? result.limit(limit) : result;
    int written = switch (this) {
      case TABLE -> table(asStrings(rows), out);
      case CSV -> csv(asStrings(rows), out);
      case JSON -> json(rows, out);
    };
    out.flush();
    return written;
  }

  /** Spark renders every value as text, so timestamps come out in the session time zone (UTC). */
  private static Dataset<Row> asStrings(Dataset<Row> rows) {
    Column[] columns = Arrays.stream(rows.columns())
        .map(name -> functions.col("`" + name.replace("`", "``") + "`").cast("string").as(name))
        .toArray(Column[]::new);
    return rows.select(columns);
  }

  private static int table(Dataset<Row> rows, PrintWriter out) {
    String[] header = rows.columns();
    List<String[]> values = new ArrayList<>();
    for (Row row : rows.collectAsList()) {
      String[] cells = new String[header.length];
      for (int i = 0; i < header.length; i++) {
        cells[i] = row.isNullAt(i) ? "NULL" : row.getString(i);
      }
      values.add(cells);
    }
    int[] widths = new int[header.length];
    for (int i = 0; i < header.length; i++) {
      widths[i] = header[i].length();
      for (String[] cells : values) {
        widths[i] = Math.max(widths[i], cells[i].length());
      }
    }
    out.println(line(header, widths));
    StringBuilder rule = new StringBuilder();
    for (int i = 0; i < widths.length; i++) {
      rule.append(i == 0 ? "" : "-+-").append("-".repeat(widths[i]));
    }
    out.println(rule);
    for (String[] cells : values) {
      out.println(line(cells, widths));
    }
    out.println("(" + values.size() + (values.size() == 1 ? " row)" : " rows)"));
    return values.size();
  }

  private static String line(String[] cells, int[] widths) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < cells.length; i++) {
      line.append(i == 0 ? "" : " | ").append(String.format("%-" + Math.max(1, widths[i]) + "s", cells[i]));
    }
    return line.toString().stripTrailing();
  }

  private static int csv(Dataset<Row> rows, PrintWriter out) {
    String[] header = rows.columns();
    out.println(String.join(",", Arrays.stream(header).map(ResultFormat::csvField).toList()));
    int count = 0;
    for (Row row : rows.collectAsList()) {
      List<String> fields = new ArrayList<>();
      for (int i = 0; i < header.length; i++) {
        fields.add(row.isNullAt(i) ? "" : csvField(row.getString(i)));
      }
      out.println(String.join(",", fields));
      count++;
    }
    return count;
  }

  static String csvField(String value) {
    if (value.contains(",") || value.contains("\"") || value.contains("\n") || value.contains("\r")) {
      return "\"" + value.replace("\"", "\"\"") + "\"";
    }
    return value;
  }

  private static int json(Dataset<Row> rows, PrintWriter out) {
    List<String> objects = rows.toJSON().collectAsList();
    out.println("[");
    for (int i = 0; i < objects.size(); i++) {
      out.println("  " + objects.get(i) + (i < objects.size() - 1 ? "," : ""));
    }
    out.println("]");
    return objects.size();
  }
}
