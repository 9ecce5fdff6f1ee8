package dev.lakehouse.gold;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.when;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;

/**
 * Resolves a fact's dimension key as of the fact's time: the version whose [valid_from, valid_to)
 * holds that time. A fact older than the first version the lakehouse saw (history starts at the
 * first extraction) takes that first version rather than the unknown member; a NULL key takes
 * the unknown member.
 */
final class PointInTime {

  private PointInTime() {}

  static Dataset<Row> resolve(Dataset<Row> facts, String factId, Dataset<Row> dimension, String surrogateKey,
                              String dimensionKey, String factKey, String factTime, String into) {
    Dataset<Row> versions = dimension.where(col(surrogateKey).notEqual(Scd2Columns.UNKNOWN_SK))
        .select(col(surrogateKey).as("_pit_sk"), col(dimensionKey).as("_pit_key"),
            col(Scd2Columns.VALID_FROM).as("_pit_from"), col(Scd2Columns.VALID_TO).as("_pit_to"));
    Column covers = col(factTime).geq(col("_pit_from")).and(col(factTime).lt(col("_pit_to")));
    return facts.join(versions, col(factKey).equalTo(col("_pit_key")), "left")
        .withColumn("_pit_rank", row_number().over(Window.partitionBy(col(factId))
            .orderBy(when(covers, 0).otherwise(1), col("_pit_from").asc_nulls_last())))
        .where(col("_pit_rank").equalTo(1))
        .withColumn(into, coalesce(col("_pit_sk"), lit(Scd2Columns.UNKNOWN_SK)))
        .drop("_pit_sk", "_pit_key", "_pit_from", "_pit_to", "_pit_rank");
  }
}
