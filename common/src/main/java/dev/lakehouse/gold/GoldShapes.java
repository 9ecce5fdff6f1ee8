package dev.lakehouse.gold;

import dev.lakehouse.spec.DimensionSpec;
import dev.lakehouse.spec.FactSpec;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The columns gold's tables will have, worked out from silver's, so that a query over gold (a
 * mart) can be analysed before anything is built. Each shape comes from the code that builds the
 * table, without running a Spark job.
 */
public final class GoldShapes {

  private GoldShapes() {}

  /** The calendar, {@code gold.dim_date}. */
  public static StructType calendar(SparkSession spark) {
    return DateDimension.days(spark, LocalDate.EPOCH, LocalDate.EPOCH).schema();
  }

  public static String calendarName() {
    return DateDimension.TABLE;
  }

  /** An SCD2 dimension built from a silver table of this shape. */
  public static StructType dimension(SparkSession spark, DimensionSpec dimension, StructType silver) {
    return Scd2Merge.unknownMember(spark, Scd2Spec.of(dimension), silver).schema();
  }

  /** A fact table whose query gives {@code query}: keys replaced by surrogate keys, dates by date keys. */
  public static StructType fact(FactSpec fact, StructType query) {
    List<String> queryColumns = Arrays.asList(query.fieldNames());
    StructType shape = new StructType();
    for (String column : fact.outputColumns(queryColumns)) {
      DataType type;
      if (queryColumns.contains(column)) {
        type = query.apply(column).dataType();
      } else if (fact.dimensions().stream().anyMatch(ref -> ref.column().equals(column))) {
        type = DataTypes.LongType;
      } else {
        type = DataTypes.IntegerType; // a date key, yyyymmdd
      }
      shape = shape.add(column, type, true);
    }
    return shape;
  }
}
