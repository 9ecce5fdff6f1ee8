package dev.lakehouse.gold;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lead;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.row_number;

import dev.lakehouse.spec.Identifiers;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;

/**
 * Resolves a fact's dimension key as of the fact's time: the live version whose [valid_from,
 * valid_to) holds that time. A fact never points at a tombstone: when its time falls where the
 * member was deleted, it takes the last live version before; a fact older than the first version
 * the lakehouse saw (history starts at the first extraction), or with no time, takes that first
 * version. A NULL key, or a key with no live version, takes the unknown member.
 *
 * <p>All of that is one left join. Each live version is stretched to cover the timeline up to the
 * next live version of its member (the first from the beginning of time, the last to its end), so
 * a member's stretches neither overlap nor leave a gap and every fact finds at most one. The facts'
 * plan appears once in the result: a fact with n dimension references is n joins, not a plan that
 * doubles with each reference, as a join for the covered facts and another for the rest would be.
 */
final class PointInTime {

  private PointInTime() {}

  /**
   * {@code facts} with column {@code into} added.
   *
   * @param factKey the fact columns holding the natural key, in the dimension's key order
   * @param time the fact's time as an instant ({@link dev.lakehouse.spark.SourceTime})
   */
  static Dataset<Row> resolve(Dataset<Row> facts, Dataset<Row> dimension, String surrogateKey,
                              List<String> dimensionKey, List<String> factKey, Column time, String into) {
    List<Column> side = new ArrayList<>();
    List<String> pit = new ArrayList<>(List.of("_pit_sk", "_pit_from", "_pit_first", "_pit_next"));
    side.add(col(Identifiers.quote(surrogateKey)).as("_pit_sk"));
    Column[] member = new Column[dimensionKey.size()];
    for (int i = 0; i < dimensionKey.size(); i++) {
      side.add(col(Identifiers.quote(dimensionKey.get(i))).as("_pit_key" + i));
      member[i] = col("_pit_key" + i);
      pit.add("_pit_key" + i);
    }
    side.add(col(Scd2Columns.VALID_FROM).as("_pit_from"));
    WindowSpec versions = Window.partitionBy(member).orderBy(col("_pit_from"));
    Dataset<Row> stretches = dimension
        .where(col(Identifiers.quote(surrogateKey)).notEqual(Scd2Columns.UNKNOWN_SK).and(not(col(Scd2Columns.IS_DELETED))))
        .select(side.toArray(Column[]::new))
        .withColumn("_pit_first", row_number().over(versions).equalTo(1))
        .withColumn("_pit_next", lead(col("_pit_from"), 1).over(versions));
    Column on = lit(true);
    for (int i = 0; i < factKey.size(); i++) {
      on = on.and(col(Identifiers.quote(factKey.get(i))).equalTo(col("_pit_key" + i)));
    }
    // A NULL time matches the first stretch only: its lower bound is open, every later one's is NULL.
    Column from = col("_pit_first").or(time.geq(col("_pit_from")));
    Column to = time.isNull().or(col("_pit_next").isNull()).or(time.lt(col("_pit_next")));
    return facts.join(stretches, on.and(from).and(to), "left")
        .withColumn(into, coalesce(col("_pit_sk"), lit(Scd2Columns.UNKNOWN_SK)))
        .drop(pit.toArray(String[]::new));
  }
}
