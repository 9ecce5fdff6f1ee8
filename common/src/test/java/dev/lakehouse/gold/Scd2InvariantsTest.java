package dev.lakehouse.gold;

import static dev.lakehouse.gold.Scd2TestData.CUSTOMER;
import static dev.lakehouse.gold.Scd2TestData.day;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The checker must find each kind of damage; the table is built by hand, independent of the merge. */
class Scd2InvariantsTest extends LakehouseTestBase {

  private static final AtomicInteger TABLES = new AtomicInteger();

  private static final StructType DIMENSION = new StructType()
      .add("customer_sk", DataTypes.LongType)
      .add("customer_id", DataTypes.LongType)
      .add("name", DataTypes.StringType)
      .add("city", DataTypes.StringType)
      .add("email", DataTypes.StringType)
      .add("valid_from", DataTypes.TimestampType)
      .add("valid_to", DataTypes.TimestampType)
      .add("is_current", DataTypes.BooleanType)
      .add("is_deleted", DataTypes.BooleanType)
      .add("is_inferred", DataTypes.BooleanType);

  /** A correct dimension: a key with two versions and a tombstone, a live key, an inferred member. */
  private Dataset<Row> valid() {
    Instant min = Scd2Columns.BEGINNING;
    Instant max = Scd2Columns.FAR_FUTURE;
    List<Row> rows = List.of(
        row(-1, null, null, null, null, min, max, true, false, false),
        row(1, 1L, "Ann", "Paris", "a@x", day("2024-01-01"), day("2024-02-01"), false, false, false),
        row(2, 1L, "Ann", "Lyon", "a@x", day("2024-02-01"), day("2024-03-01"), false, false, false),
        row(3, 1L, "Ann", "Lyon", "a@x", day("2024-03-01"), max, false, true, false),
        row(4, 2L, "Bob", "Rome", "b@x", day("2024-01-15"), max, true, false, false),
        row(5, 3L, null, null, null, min, max, true, false, true));
    return withHash(spark.createDataFrame(rows, DIMENSION));
  }

  private static Row row(long sk, Long id, String name, String city, String email, Instant from, Instant to,
      boolean current, boolean deleted, boolean inferred) {
    return RowFactory.create(sk, id, name, city, email, Timestamp.from(from), Timestamp.from(to), current, deleted, inferred);
  }

  private static Dataset<Row> withHash(Dataset<Row> table) {
    return table.withColumn("row_hash", expr(Scd2Columns.rowHashSql(CUSTOMER.tracked(), DIMENSION)));
  }

  private List<String> violations(Dataset<Row> table) {
    String path = lakehouseRoot.resolve("gold/invariants_" + TABLES.incrementAndGet()).toString();
    table.write().format("delta").save(path);
    return Scd2Invariants.check(spark, path, CUSTOMER);
  }

  private static Column sk(long sk) {
    return col("customer_sk").equalTo(sk);
  }

  private static UnaryOperator<Dataset<Row>> set(long sk, String column, Column value) {
    return t -> t.withColumn(column, when(sk(sk), value).otherwise(col(column)));
  }

  private static Column time(String isoDate) {
    return lit(Timestamp.from(day(isoDate)));
  }

  @Test
  void validDimensionHasNoViolations() {
    assertEquals(List.of(), violations(valid()));
  }

  @Test
  void violationNamesTheRuleAndASampleRow() {
    assertEquals(List.of("customer: no gap or overlap: valid_to must equal the next version's valid_from: 1 rows,"
        + " e.g. customer_sk = 1"), violations(set(1, "valid_to", time("2024-02-02")).apply(valid())));
  }

  @Test
  void everyKindOfDamageIsReported() {
    List<Map.Entry<String, UnaryOperator<Dataset<Row>>>> damage = new ArrayList<>();
    damage.add(Map.entry("no gap or overlap", set(1, "valid_to", time("2024-02-02"))));
    damage.add(Map.entry("no gap or overlap", set(1, "valid_to", time("2024-01-20"))));
    damage.add(Map.entry("valid_from must be before valid_to", set(2, "valid_from", time("2024-03-01"))));
    damage.add(Map.entry("a key's last row must end at far future", t -> t.where(not(3))));
    damage.add(Map.entry("a live key must have exactly one current row", set(2, "is_current", lit(true))));
    damage.add(Map.entry("is_current must equal", set(4, "is_current", lit(false))));
    damage.add(Map.entry("surrogate keys must be unique", t -> t.union(t.where(sk(4)).withColumn("customer_id", lit(9L)))));
    damage.add(Map.entry("surrogate keys must be positive", set(4, "customer_sk", lit(0L))));
    damage.add(Map.entry("exactly one unknown member", t -> t.where(not(-1))));
    damage.add(Map.entry("the unknown member must be", set(-1, "is_current", lit(false))));
    damage.add(Map.entry("only the unknown member may have a NULL natural key", set(4, "customer_id", lit(null))));
    damage.add(Map.entry("housekeeping columns must not be NULL", set(4, "valid_to", lit(null))));
    damage.add(Map.entry("row_hash must be the hash", set(1, "city", lit("Nice"))));
    damage.add(Map.entry("consecutive equal versions must be collapsed", t -> withHash(set(2, "city", lit("Paris")).apply(t))));
    damage.add(Map.entry("a tombstone must close a live version", t -> t.where(not(1)).where(not(2))));
    damage.add(Map.entry("a tombstone must carry the attributes", t -> withHash(set(3, "city", lit("Rome")).apply(t))));
    damage.add(Map.entry("an inferred member must be its key's first row", set(2, "is_inferred", lit(true))));
    damage.add(Map.entry("overwrite columns must be equal", set(1, "email", lit("old@x"))));

    List<Executable> checks = new ArrayList<>();
    for (Map.Entry<String, UnaryOperator<Dataset<Row>>> c : damage) {
      List<String> found = violations(c.getValue().apply(valid()));
      checks.add(() -> assertTrue(found.stream().anyMatch(v -> v.contains(c.getKey())), c.getKey() + " not in " + found));
    }
    assertAll(checks);
  }

  private static Column not(long sk) {
    return col("customer_sk").notEqual(sk);
  }
}
