package dev.lakehouse.gold;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.unix_micros;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.spec.Identifiers;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;

/**
 * Resolves a fact's dimension key as of the fact's time: the live version whose [valid_from,
 * valid_to) holds that time. A fact never points at a tombstone: when its time falls where the
 * member was deleted, it takes the last live version before; a fact older than the first version
 * the lakehouse saw (history starts at the first extraction) takes that first version. A NULL key
 * takes the unknown member.
 */
final class PointInTime {

  private PointInTime() {}

  private static String[] pitColumns(int keys) {
    String[] columns = new String[3 + keys];
    columns[0] = "_pit_sk";
    columns[1] = "_pit_from";
    columns[2] = "_pit_to";
    for (int i = 0; i < keys; i++) {
      columns[3 + i] = "_pit_key" + i;
    }
    return columns;
  }

  /**
   * {@code facts} with column {@code into} added.
   *
   * @param grain the fact columns identifying a fact row
   * @param factKey the fact columns holding the natural key, in the dimension's key order
   * @param time the fact's time as an instant ({@link dev.lakehouse.spark.SourceTime})
   * @param hold keeps the covering join for its two readers (the covered facts and the rest);
   *     identity leaves both to recompute it
   */
  static Dataset<Row> resolve(Dataset<Row> facts, List<String> grain, Dataset<Row> dimension, String surrogateKey,
                              List<String> dimensionKey, List<String> factKey, Column time, String into,
                              UnaryOperator<Dataset<Row>> hold) {
    List<Column> side = new ArrayList<>();
    side.add(col(Identifiers.quote(surrogateKey)).as("_pit_sk"));
    for (int i = 0; i < dimensionKey.size(); i++) {
      side.add(col(Identifiers.quote(dimensionKey.get(i))).as("_pit_key" + i));
    }
    side.add(col(Scd2Columns.VALID_FROM).as("_pit_from"));
    side.add(col(Scd2Columns.VALID_TO).as("_pit_to"));
    Dataset<Row> versions = dimension
        .where(col(Identifiers.quote(surrogateKey)).notEqual(Scd2Columns.UNKNOWN_SK).and(not(col(Scd2Columns.IS_DELETED))))
        .select(side.toArray(Column[]::new));
    Column on = lit(true);
    for (int i = 0; i < factKey.size(); i++) {
      on = on.and(col(Identifiers.quote(factKey.get(i))).equalTo(col("_pit_key" + i)));
    }
    Column covers = time.geq(col("_pit_from")).and(time.lt(col("_pit_to")));
    String[] pit = pitColumns(dimensionKey.size());
    // Live versions never overlap: most facts find exactly one covering version by a join alone.
    Dataset<Row> covered = hold.apply(facts.join(versions, on.and(covers), "left")
        .withColumn(into, col("_pit_sk")).drop(pit));
    // The rest (before the first version, in a deleted stretch, a NULL or unknown key): the nearest
    // live version, the last one before if any, else the first after; the unknown member if none.
    Column before = col("_pit_from").leq(time);
    Column nearest = when(before, unix_micros(col("_pit_from")).multiply(-1)).otherwise(unix_micros(col("_pit_from")));
    Column[] ids = grain.stream().map(c -> col(Identifiers.quote(c))).toArray(Column[]::new);
    Dataset<Row> rest = covered.where(col(into).isNull()).drop(into).join(versions, on, "left")
        .withColumn("_pit_rank", row_number().over(Window.partitionBy(ids)
            .orderBy(when(before, 0).otherwise(1), nearest.asc_nulls_last())))
        .where(col("_pit_rank").equalTo(1))
        .withColumn(into, coalesce(col("_pit_sk"), lit(Scd2Columns.UNKNOWN_SK)))
        .drop("_pit_rank").drop(pit);
    return covered.where(col(into).isNotNull()).unionByName(rest);
  }
}
