package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lower;
import static org.apache.spark.sql.functions.trim;
import static org.apache.spark.sql.functions.upper;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.bronze.LogCapture;
import dev.lakehouse.quality.Rule;
import dev.lakehouse.spec.ConformSpec;
import dev.lakehouse.spec.Identifiers;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * Shapes bronze rows into silver's conformed form ({@link ConformSpec}): renames, casts, trimmed
 * strings, lower- or upper-cased columns. Columns starting with an underscore are the lakehouse's
 * and pass untouched. A cast never throws: a value that does not convert becomes NULL and its row
 * is flagged, for the built-in {@link Rule.Cast} rule to quarantine or stop.
 */
public final class Conformer {

  private static final String CAST_FLAG = "_cast_failed_";

  private final ConformSpec spec;
  private final String table;

  public Conformer(ConformSpec spec, String table) {
    this.spec = spec;
    this.table = table;
  }

  /** The name a source column has in silver. */
  public String silverName(String sourceName) {
    return spec.silverName(sourceName);
  }

  /** The built-in rules checking each cast; their flag columns are added by {@link #apply}. */
  public List<Rule.Cast> castRules() {
    List<Rule.Cast> rules = new ArrayList<>();
    int i = 0;
    for (Map.Entry<String, String> cast : spec.casts().entrySet()) {
      rules.add(new Rule.Cast(cast.getKey(), cast.getValue(), CAST_FLAG + i++, spec.onCastError(),
          spec.keys().contains(cast.getKey())));
    }
    return rules;
  }

  /**
   * Conformed rows, with one flag column per cast: the value as it arrived where the cast failed,
   * else NULL (dropped by {@link #dropFlags}).
   */
  public Dataset<Row> apply(Dataset<Row> rows) {
    List<String> present = new ArrayList<>(Arrays.asList(rows.columns()));
    for (String column : spec.renames().keySet()) {
      if (!present.contains(column)) {
        throw missing("rename", column, present);
      }
    }
    Dataset<Row> result = rows;
    for (Map.Entry<String, String> rename : spec.renames().entrySet()) {
      result = result.withColumnRenamed(rename.getKey(), rename.getValue());
    }
    List<String> renamed = Arrays.asList(result.columns());
    for (String column : spec.renames().keySet()) {
      present.remove(column);
    }
    for (String column : present) {
      String problem = Identifiers.ownColumn(column) ? null : Identifiers.silverNameProblem(column, column);
      if (problem != null) {
        throw new LakehouseException("lakehouse.tables." + table + ": " + problem);
      }
    }
    for (String column : spec.casts().keySet()) {
      if (!renamed.contains(column)) {
        throw missing("cast", column, renamed);
      }
    }
    for (String column : concat(spec.lowercase(), spec.uppercase())) {
      if (!renamed.contains(column)) {
        throw missing(spec.lowercase().contains(column) ? "lowercase" : "uppercase", column, renamed);
      }
    }
    for (Rule.Cast cast : castRules()) {
      Column original = col(Identifiers.quote(cast.column()));
      Column converted = converted(cast, original, result.schema().apply(cast.column()).dataType());
      result = result.withColumn(cast.flagColumn(),
              org.apache.spark.sql.functions.when(original.isNotNull().and(converted.isNull()), original.cast("string")))
          .withColumn(cast.column(), converted);
    }
    for (StructField field : result.schema().fields()) {
      String name = field.name();
      if (name.startsWith("_") || !field.dataType().equals(DataTypes.StringType)) {
        continue;
      }
      Column value = spec.trims(name) ? trim(col(Identifiers.quote(name))) : col(Identifiers.quote(name));
      if (spec.lowercase().contains(name)) {
        value = lower(value);
      } else if (spec.uppercase().contains(name)) {
        value = upper(value);
      }
      if (spec.trims(name) || spec.lowercase().contains(name) || spec.uppercase().contains(name)) {
        result = result.withColumn(name, value);
      }
    }
    return result;
  }

  /** Quarantined rows keep what did not convert: {@value #REJECTED_VALUES} maps each such column to its value. */
  public static final String REJECTED_VALUES = "_rejected_values";

  /**
   * The rows with {@value #REJECTED_VALUES} added from the cast flags (when the table has casts)
   * and from the values the log could not hold ({@link LogCapture#UNPARSED}, under their silver
   * names), flags dropped.
   */
  public Dataset<Row> withRejectedValues(Dataset<Row> rows) {
    List<Rule.Cast> casts = castRules();
    boolean unparsed = Arrays.asList(rows.columns()).contains(LogCapture.UNPARSED);
    if (casts.isEmpty() && !unparsed) {
      return rows;
    }
    Column[] entries = casts.stream().map(c -> org.apache.spark.sql.functions.struct(
        org.apache.spark.sql.functions.lit(c.column()).as("key"), col(c.flagColumn()).as("value")))
        .toArray(Column[]::new);
    Column rejected = casts.isEmpty() ? null : org.apache.spark.sql.functions.map_from_entries(
        org.apache.spark.sql.functions.filter(org.apache.spark.sql.functions.array(entries),
            e -> e.getField("value").isNotNull()));
    if (unparsed) {
      Column logged = org.apache.spark.sql.functions.transform_keys(col(LogCapture.UNPARSED), (k, v) -> {
        Column name = k;
        for (Map.Entry<String, String> rename : spec.renames().entrySet()) {
          name = org.apache.spark.sql.functions.when(k.equalTo(rename.getKey()), rename.getValue()).otherwise(name);
        }
        return name;
      });
      // A value the log could not hold is NULL in its column, so no cast of it fails: no key twice.
      rejected = rejected == null ? logged : org.apache.spark.sql.functions.when(logged.isNull(), rejected)
          .otherwise(org.apache.spark.sql.functions.map_concat(rejected, logged));
    }
    return dropFlags(rows.withColumn(REJECTED_VALUES, rejected));
  }

  /** The rows without the cast flags and {@link LogCapture#UNPARSED} (the rules have read them). */
  public Dataset<Row> dropFlags(Dataset<Row> rows) {
    return rows.drop(castRules().stream().map(Rule.Cast::flagColumn).toArray(String[]::new)).drop(LogCapture.UNPARSED);
  }

  /** A value that did not convert, for the message, e.g. {@code 'abc'}. */
  public static String sample(Dataset<Row> bronzeRows, Rule.Cast cast, String sourceColumn) {
    Column original = col(Identifiers.quote(sourceColumn));
    DataType from = bronzeRows.schema().apply(sourceColumn).dataType();
    List<Row> rows = bronzeRows.where(original.isNotNull().and(converted(cast, original, from).isNull()))
        .select(original.cast("string")).limit(1).collectAsList();
    return rows.isEmpty() ? "?" : "'" + rows.get(0).getString(0) + "'";
  }

  /**
   * The value cast, NULL where it does not convert. A key's value must also come back unchanged
   * when cast back: a cast that drops something ('007' and '7', or 7.5 and 7, as an int) would
   * make two source keys one silver row, the second silently overwriting the first.
   */
  private static Column converted(Rule.Cast cast, Column original, DataType from) {
    Column converted = original.try_cast(DataType.fromDDL(cast.type()));
    return cast.key() ? org.apache.spark.sql.functions.when(converted.try_cast(from).equalTo(original), converted)
        : converted;
  }

  private LakehouseException missing(String setting, String column, List<String> columns) {
    return new LakehouseException("lakehouse.tables." + table + ".silver." + setting + ": no column " + column
        + " in " + table + "; its columns are " + columns.stream().filter(c -> !Identifiers.ownColumn(c)).toList());
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
