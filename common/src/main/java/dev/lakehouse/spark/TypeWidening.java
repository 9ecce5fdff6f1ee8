package dev.lakehouse.spark;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.spec.Identifiers;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A source column whose type was widened ({@code ALTER COLUMN id TYPE bigint}, {@code numeric(10,2)}
 * to {@code numeric(14,2)}): the most common type migration of a live database. Every lakehouse
 * table holding the column follows it in place, with Delta's type widening (a metadata commit; old
 * files keep their narrower type and are read as the wider one), instead of stopping the table.
 *
 * <p>Only changes that keep every value's text the same are taken: a wider integer, or a decimal
 * with more integer digits and the same scale. Those change no row hash, so silver sees no update
 * and gold no new SCD2 version for them. Other changes (to a scale, to double, to text) still stop
 * the table before anything is written: each layer says so where it finds one.
 */
public final class TypeWidening {

  private static final Logger LOG = LoggerFactory.getLogger(TypeWidening.class);

  /** The Delta table property that allows widening a column's type in place. */
  static final String PROPERTY = "delta.enableTypeWidening";

  /** What a changed type that is not a widening leaves the user, for the errors that stop a table. */
  public static final String TAKEN = "only a wider integer, or a decimal with more digits and the same scale, is"
      + " taken in place: read the table through a view that casts the column back, or give the new type a new"
      + " column name";

  private TypeWidening() {}

  /** Whether a column of type {@code from} can take {@code to} in place, every value reading the same. */
  public static boolean widens(DataType from, DataType to) {
    if (from.equals(to)) {
      return false;
    }
    int narrow = integerRank(from);
    int wide = integerRank(to);
    if (narrow > 0 && wide > 0) {
      return wide > narrow;
    }
    if (from instanceof DecimalType a && to instanceof DecimalType b) {
      return b.scale() == a.scale() && b.precision() > a.precision();
    }
    return false;
  }

  private static int integerRank(DataType type) {
    if (type instanceof ByteType) {
      return 1;
    }
    if (type instanceof ShortType) {
      return 2;
    }
    if (type instanceof IntegerType) {
      return 3;
    }
    return type instanceof LongType ? 4 : 0;
  }

  /**
   * Makes the Delta table at {@code path} (holding {@code current}) ready for rows of
   * {@code incoming}: a column whose type {@code incoming} widens is widened in place; any other
   * change of a column's type stops here, before anything is written, naming the column.
   *
   * @param of what the columns belong to, for the message (a source table, a lakehouse table)
   * @param table the lakehouse table at {@code path}, for the messages ({@code bronze.orders})
   */
  public static void followOrStop(SparkSession spark, String path, StructType current, StructType incoming, String of,
                                  String table) {
    for (StructField field : incoming.fields()) {
      if (!current.getFieldIndex(field.name()).isDefined()) {
        continue;
      }
      DataType before = current.apply(field.name()).dataType();
      if (!before.equals(field.dataType()) && !widens(before, field.dataType())) {
        throw new LakehouseException("Column " + field.name() + " of " + of + " changed type from "
            + before.simpleString() + " to " + field.dataType().simpleString() + "; " + table + " is left untouched ("
            + TAKEN + ")");
      }
    }
    List<String> widened = follow(spark, path, current, incoming);
    if (!widened.isEmpty()) {
      LOG.warn("{}: column types widened, {}", table, String.join(", ", widened));
    }
  }

  /**
   * Widens the columns of the Delta table at {@code path} that {@code incoming} holds with a wider
   * type; columns of another or an incompatible type are left for the caller to judge.
   *
   * @return the columns widened, as "name: old to new", for the caller's log
   */
  public static List<String> follow(SparkSession spark, String path, StructType current, StructType incoming) {
    Map<String, DataType> types = new HashMap<>();
    for (StructField field : current.fields()) {
      types.put(field.name(), field.dataType());
    }
    List<String> widened = new ArrayList<>();
    for (StructField field : incoming.fields()) {
      DataType before = types.get(field.name());
      if (before != null && widens(before, field.dataType())) {
        if (widened.isEmpty()) {
          TableProperties.ensure(spark, path, PROPERTY, "true");
        }
        spark.sql("ALTER TABLE delta." + Identifiers.quote(path) + " ALTER COLUMN " + Identifiers.quote(field.name())
            + " TYPE " + field.dataType().sql());
        widened.add(field.name() + ": " + before.simpleString() + " to " + field.dataType().simpleString());
      }
    }
    return widened;
  }
}
