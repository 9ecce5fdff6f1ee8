package dev.lakehouse.control;

import io.delta.tables.DeltaTable;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

final class ControlTables {

  private ControlTables() {}

  static void createIfAbsent(SparkSession spark, String path, StructType schema) {
    if (!DeltaTable.isDeltaTable(spark, path)) {
      DeltaTable.createIfNotExists(spark).location(path).addColumns(schema).execute();
    }
  }
}
