package dev.lakehouse.gold;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** A small customer dimension: key customer_id, tracked name and city, e-mail overwritten (Type 1). */
final class Scd2TestData {

  private Scd2TestData() {}

  static final Scd2Spec CUSTOMER = Scd2Spec.of("customer", List.of("customer_id"), List.of("name", "city"), List.of("email"));

  static final StructType CHANGE_SCHEMA = new StructType()
      .add("customer_id", DataTypes.LongType)
      .add("name", DataTypes.StringType)
      .add("city", DataTypes.StringType)
      .add("email", DataTypes.StringType)
      .add(Scd2Columns.CHANGE_TIME, DataTypes.TimestampType)
      .add(Scd2Columns.DELETE_EVENT, DataTypes.BooleanType);

  /** A day at midnight UTC, e.g. {@code day("2024-03-01")}. */
  static Instant day(String isoDate) {
    return LocalDate.parse(isoDate).atStartOfDay(ZoneOffset.UTC).toInstant();
  }

  static Row version(long id, String name, String city, String email, String isoDate) {
    return version(id, name, city, email, day(isoDate));
  }

  static Row version(long id, String name, String city, String email, Instant at) {
    return RowFactory.create(id, name, city, email, Timestamp.from(at), false);
  }

  /** A delete event; a CDC delete carries the key only. */
  static Row delete(long id, String isoDate) {
    return delete(id, day(isoDate));
  }

  static Row delete(long id, Instant at) {
    return RowFactory.create(id, null, null, null, Timestamp.from(at), true);
  }

  static Dataset<Row> changes(SparkSession spark, Row... rows) {
    return changes(spark, Arrays.asList(rows));
  }

  static Dataset<Row> changes(SparkSession spark, List<Row> rows) {
    return spark.createDataFrame(rows, CHANGE_SCHEMA);
  }

  /**
   * The dimension's member rows, ordered by key and valid_from, as
   * {@code "sk id name city email from..to flags"}: dates print as yyyy-mm-dd when at midnight, the
   * sentinels as {@code min} and {@code max}; flags are C(urrent), D(eleted), I(nferred) or -.
   */
  static List<String> rows(SparkSession spark, String path) {
    List<String> rows = new ArrayList<>();
    for (Row r : spark.read().format("delta").load(path)
        .where("customer_sk <> -1").orderBy("customer_id", "valid_from").collectAsList()) {
      rows.add(r.getAs("customer_sk") + " " + r.getAs("customer_id") + " " + r.getAs("name") + " " + r.getAs("city")
          + " " + r.getAs("email") + " " + time(r.getAs("valid_from")) + ".." + time(r.getAs("valid_to")) + " "
          + flags(r.getAs("is_current"), r.getAs("is_deleted"), r.getAs("is_inferred")));
    }
    return rows;
  }

  static String time(Timestamp t) {
    Instant instant = t.toInstant();
    if (instant.equals(Scd2Columns.FAR_FUTURE)) {
      return "max";
    }
    if (instant.equals(Scd2Columns.BEGINNING)) {
      return "min";
    }
    return instant.atOffset(ZoneOffset.UTC).toLocalTime().toSecondOfDay() == 0 && instant.getNano() == 0
        ? instant.atOffset(ZoneOffset.UTC).toLocalDate().toString()
        : instant.toString();
  }

  static String flags(boolean current, boolean deleted, boolean inferred) {
    String flags = (current ? "C" : "") + (deleted ? "D" : "") + (inferred ? "I" : "");
    return flags.isEmpty() ? "-" : flags;
  }

  static void assertInvariants(SparkSession spark, String path, Scd2Spec spec) {
    assertEquals(List.of(), Scd2Invariants.check(spark, path, spec), "invariants of " + path);
  }
}
