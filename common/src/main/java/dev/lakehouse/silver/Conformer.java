package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lower;
import static org.apache.spark.sql.functions.trim;
import static org.apache.spark.sql.functions.upper;

import com.typesafe.config.Config;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * Shapes bronze rows into silver's conformed form, per {@code lakehouse.tables.<t>.silver}:
 * renames, casts, trimmed strings, and lower- or upper-cased columns (enumerations, e-mails).
 * Columns starting with an underscore are metadata and pass untouched.
 */
public record Conformer(Map<String, String> renames, Map<String, String> casts, boolean trimStrings,
                        List<String> lowercase, List<String> uppercase) {

  public static Conformer from(Config table) {
    Config c = table.hasPath("silver") ? table.getConfig("silver") : com.typesafe.config.ConfigFactory.empty();
    return new Conformer(
        strings(c, "rename"),
        strings(c, "cast"),
        !c.hasPath("trim") || c.getBoolean("trim"),
        c.hasPath("lowercase") ? c.getStringList("lowercase") : List.of(),
        c.hasPath("uppercase") ? c.getStringList("uppercase") : List.of());
  }

  private static Map<String, String> strings(Config c, String path) {
    Map<String, String> map = new LinkedHashMap<>();
    if (c.hasPath(path)) {
      c.getConfig(path).root().forEach((k, v) -> map.put(k, String.valueOf(v.unwrapped())));
    }
    return map;
  }

  /** The name a source column has in silver. */
  public String silverName(String sourceName) {
    return renames.getOrDefault(sourceName, sourceName);
  }

  public Dataset<Row> apply(Dataset<Row> rows) {
    Dataset<Row> result = rows;
    for (Map.Entry<String, String> rename : renames.entrySet()) {
      if (List.of(result.columns()).contains(rename.getKey())) {
        result = result.withColumnRenamed(rename.getKey(), rename.getValue());
      }
    }
    for (Map.Entry<String, String> cast : casts.entrySet()) {
      if (List.of(result.columns()).contains(cast.getKey())) {
        result = result.withColumn(cast.getKey(), col(cast.getKey()).cast(cast.getValue()));
      }
    }
    for (StructField field : result.schema().fields()) {
      String name = field.name();
      if (name.startsWith("_") || !field.dataType().equals(DataTypes.StringType)) {
        continue;
      }
      var value = trimStrings ? trim(col(name)) : col(name);
      if (lowercase.contains(name)) {
        value = lower(value);
      } else if (uppercase.contains(name)) {
        value = upper(value);
      }
      result = result.withColumn(name, value);
    }
    return result;
  }
}
