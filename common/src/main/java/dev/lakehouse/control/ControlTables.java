package dev.lakehouse.control;

import io.delta.tables.DeltaTable;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

final class ControlTables {

  private ControlTables() {}

  /**
   * Appends a run's rows in one commit; the first append creates the table. Creating it empty
   * first would keep the schema's NOT NULL flags, at the price of a second commit on every new
   * lakehouse; the rows come from this code, which fills those columns anyway.
   */
  static void append(SparkSession spark, String path, StructType schema, List<Row> rows) {
    // mergeSchema: a column added to a control table in a later version is added to older lakehouses.
    var writer = spark.createDataFrame(rows, schema).coalesce(1).write().format("delta").mode("append")
        .option("mergeSchema", "true");
    if (!DeltaTable.isDeltaTable(spark, path)) {
      // A few rows per run, always read whole: file statistics would never skip anything.
      writer = writer.option("delta.dataSkippingNumIndexedCols", "0");
    }
    writer.save(path);
  }

  static void createIfAbsent(SparkSession spark, String path, StructType schema) {
    if (!DeltaTable.isDeltaTable(spark, path)) {
      DeltaTable.createIfNotExists(spark).location(path).addColumns(schema).execute();
    }
  }
}
