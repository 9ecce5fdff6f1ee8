package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.array_contains;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.bronze.BronzeOps;
import dev.lakehouse.bronze.LogCapture;
import dev.lakehouse.spec.Identifiers;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.functions;

/**
 * How silver reads the bronze rows of a table in {@code mode = log}: in log order (commit position,
 * then the order inside the transaction), one state per key and transaction (a transaction's
 * intermediate states were never visible), unchanged TOASTed values taken from the row's previous
 * version, and truncates.
 */
final class LogRows {

  private LogRows() {}

  /** Newest first: by commit position, then order inside the transaction. */
  static Column[] newestFirst() {
    return new Column[] {col(LogCapture.LSN).desc(), col(LogCapture.SEQ).desc()};
  }

  /** Rows without truncate markers, one per key and transaction (its last change). */
  static Dataset<Row> lastPerTransaction(Dataset<Row> rows, List<String> keys) {
    Column[] partition = new Column[keys.size() + 1];
    for (int i = 0; i < keys.size(); i++) {
      partition[i] = col(Identifiers.quote(keys.get(i)));
    }
    partition[keys.size()] = col(LogCapture.LSN);
    return rows.where(col(BronzeOps.OP).notEqual(LogCapture.TRUNCATE))
        .withColumn("_log_rank", functions.row_number().over(Window.partitionBy(partition)
            .orderBy(col(LogCapture.SEQ).desc())))
        .where(col("_log_rank").equalTo(1)).drop("_log_rank");
  }

  /**
   * What silver must know of a batch's rows before it applies them, found in one pass: the commit
   * position of the latest truncate, if any, and the columns some row left out as unchanged
   * TOASTed values.
   */
  record Shape(Optional<Long> truncate, List<String> unchanged) {}

  static Shape shape(Dataset<Row> rows) {
    boolean marked = Arrays.asList(rows.columns()).contains(LogCapture.UNCHANGED);
    Row row = rows.agg(functions.max(when(col(BronzeOps.OP).equalTo(LogCapture.TRUNCATE), col(LogCapture.LSN))),
        marked ? functions.array_distinct(functions.flatten(functions.collect_list(col(LogCapture.UNCHANGED))))
            : functions.array().cast("array<string>")).first();
    List<String> unchanged = row.isNullAt(1) ? List.of() : row.<String>getList(1);
    return new Shape(row.isNullAt(0) ? Optional.empty() : Optional.of(row.getLong(0)), List.copyOf(unchanged));
  }

  /** The names of the columns some row left out as unchanged TOASTed values. */
  static List<String> unchangedColumns(Dataset<Row> rows) {
    if (!Arrays.asList(rows.columns()).contains(LogCapture.UNCHANGED)) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    for (Row row : rows.where(col(LogCapture.UNCHANGED).isNotNull())
        .select(functions.explode(col(LogCapture.UNCHANGED))).distinct().collectAsList()) {
      names.add(row.getString(0));
    }
    return names;
  }

  /**
   * Each value the log left out (an unchanged TOASTed value) filled with the key's previous
   * version's: an earlier row of these rows, else the row of {@code before} (the table's state
   * before these rows, by key; may be null when there is none).
   */
  static Dataset<Row> withUnchangedFilled(Dataset<Row> rows, List<String> keys, List<String> unchanged,
                                          Dataset<Row> before) {
    if (unchanged.isEmpty()) {
      return rows;
    }
    Column[] keyColumns = keys.stream().map(k -> col(Identifiers.quote(k))).toArray(Column[]::new);
    WindowSpec earlier = Window.partitionBy(keyColumns).orderBy(col(LogCapture.LSN), col(LogCapture.SEQ))
        .rowsBetween(Window.unboundedPreceding(), -1);
    Dataset<Row> filled = rows;
    for (String column : unchanged) {
      Column left = array_contains(functions.coalesce(col(LogCapture.UNCHANGED),
          functions.array().cast("array<string>")), column);
      Column given = when(not(left), functions.struct(col(Identifiers.quote(column)).as("v")));
      filled = filled.withColumn("_prev_" + column, functions.last(given, true).over(earlier))
          .withColumn("_left_" + column, left);
    }
    if (before != null) {
      List<Column> beforeColumns = new ArrayList<>(Arrays.asList(keyColumns));
      for (String column : unchanged) {
        beforeColumns.add(col(Identifiers.quote(column)).as("_before_" + column));
      }
      filled = filled.join(before.select(beforeColumns.toArray(Column[]::new)), keys.toArray(String[]::new), "left");
    }
    for (String column : unchanged) {
      // Built from the source's name, which may hold a dot or a space: quoted wherever Spark parses it.
      Column prev = col(Identifiers.quote("_prev_" + column));
      Column previous = prev.getField("v");
      Column fallback = before == null ? previous
          : when(prev.isNull(), col(Identifiers.quote("_before_" + column))).otherwise(previous);
      filled = filled.withColumn(column, when(col(Identifiers.quote("_left_" + column)), fallback)
          .otherwise(col(Identifiers.quote(column))))
          .drop("_prev_" + column, "_left_" + column);
      if (before != null) {
        filled = filled.drop("_before_" + column);
      }
    }
    return filled;
  }
}
