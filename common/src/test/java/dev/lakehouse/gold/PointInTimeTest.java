package dev.lakehouse.gold;

import static dev.lakehouse.gold.Scd2TestData.day;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.testing.LakehouseTestBase;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** Which version a fact's time resolves to, on a dimension built by hand; and the plan it takes. */
class PointInTimeTest extends LakehouseTestBase {

  private static final StructType DIMENSION = new StructType()
      .add("member_sk", DataTypes.LongType)
      .add("region", DataTypes.StringType)
      .add("code", DataTypes.IntegerType)
      .add("valid_from", DataTypes.TimestampType)
      .add("valid_to", DataTypes.TimestampType)
      .add("is_deleted", DataTypes.BooleanType);

  private static final StructType FACTS = new StructType()
      .add("fact_id", DataTypes.IntegerType)
      .add("r", DataTypes.StringType)
      .add("c", DataTypes.IntegerType)
      .add("at", DataTypes.TimestampType);

  private static Row version(long sk, String region, Integer code, Instant from, Instant to, boolean deleted) {
    return RowFactory.create(sk, region, code, Timestamp.from(from), Timestamp.from(to), deleted);
  }

  private static Row fact(int id, String region, Integer code, Instant at) {
    return RowFactory.create(id, region, code, at == null ? null : Timestamp.from(at));
  }

  /**
   * Member (eu, 1): two live versions, a tombstone, a live version again. (eu, 2): one version,
   * then deleted for good. (eu, 3): a tombstone only. (us, 1): an inferred member from 1900.
   */
  private Dataset<Row> dimension() {
    Instant max = Scd2Columns.FAR_FUTURE;
    return spark.createDataFrame(List.of(
        version(-1, null, null, Scd2Columns.BEGINNING, max, false),
        version(1, "eu", 1, day("2024-01-01"), day("2024-02-01"), false),
        version(2, "eu", 1, day("2024-02-01"), day("2024-03-01"), false),
        version(3, "eu", 1, day("2024-03-01"), day("2024-04-01"), true),
        version(4, "eu", 1, day("2024-04-01"), max, false),
        version(5, "eu", 2, day("2024-01-15"), day("2024-02-15"), false),
        version(6, "eu", 2, day("2024-02-15"), max, true),
        version(7, "eu", 3, day("2024-01-01"), max, true),
        version(8, "us", 1, Scd2Columns.BEGINNING, max, false)), DIMENSION);
  }

  private Map<Integer, Long> resolved(Dataset<Row> facts) {
    Dataset<Row> keyed = PointInTime.resolve(facts, dimension(), "member_sk", List.of("region", "code"),
        List.of("r", "c"), col("at"), "member_sk");
    Map<Integer, Long> sk = new TreeMap<>();
    for (Row row : keyed.select("fact_id", "member_sk").collectAsList()) {
      sk.put(row.getInt(0), row.getLong(1));
    }
    return sk;
  }

  @Test
  void eachFactTakesTheLiveVersionOfItsTimeOrTheNearestOne() {
    Dataset<Row> facts = spark.createDataFrame(List.of(
        fact(1, "eu", 1, day("2024-01-10")),                     // inside the first version
        fact(2, "eu", 1, day("2024-02-01")),                     // at a version's start: that version
        fact(3, "eu", 1, day("2024-03-15")),                     // where the member was deleted: the version before
        fact(4, "eu", 1, day("2023-12-01")),                     // before the first version: the first
        fact(5, "eu", 1, day("2024-04-01")),                     // back after the delete
        fact(6, "eu", 1, null),                                  // no time: the first version
        fact(7, "eu", 1, Instant.parse("9999-12-31T12:00:00Z")), // past every valid_to: the last live version
        fact(8, "eu", 2, day("2024-06-01")),                     // after the member's delete: its last live version
        fact(9, "eu", 3, day("2024-06-01")),                     // a member with no live version: unknown
        fact(10, null, 1, day("2024-06-01")),                    // a NULL key: unknown
        fact(11, "eu", 99, day("2024-06-01")),                   // a key the dimension does not hold: unknown
        fact(12, "us", 1, day("2024-06-01"))), FACTS);           // an inferred member
    assertEquals(Map.ofEntries(Map.entry(1, 1L), Map.entry(2, 2L), Map.entry(3, 2L), Map.entry(4, 1L),
        Map.entry(5, 4L), Map.entry(6, 1L), Map.entry(7, 4L), Map.entry(8, 5L), Map.entry(9, -1L),
        Map.entry(10, -1L), Map.entry(11, -1L), Map.entry(12, 8L)), resolved(facts));
  }

  /**
   * A fact with many dimension references (role-playing ones included) reads its rows once: with a
   * separate join for the facts no version covers, each reference doubled the plan, and a fact
   * with eight of them planned 256 copies of its query (28 s and a 3.5 MB plan for seven rows).
   */
  @Test
  void theFactsAppearOnceInThePlanWhateverTheNumberOfReferences() {
    Dataset<Row> facts = spark.range(1, 41).selectExpr("CAST(id AS INT) AS fact_id",
        "IF(id % 2 = 0, 'eu', 'us') AS r", "1 AS c", "TIMESTAMP '2024-01-20 00:00:00' + make_interval(0, 0, 0, CAST(id AS INT)) AS at");
    for (int i = 0; i < 8; i++) {
      facts = PointInTime.resolve(facts, dimension(), "member_sk", List.of("region", "code"), List.of("r", "c"),
          col("at"), "sk" + i);
    }
    String plan = facts.queryExecution().optimizedPlan().toString();
    Matcher ranges = Pattern.compile("Range \\(").matcher(plan);
    int scans = 0;
    while (ranges.find()) {
      scans++;
    }
    assertEquals(1, scans, plan);
    List<Row> rows = facts.where("fact_id IN (12, 13)").orderBy("fact_id").selectExpr("sk0", "sk7").collectAsList();
    assertEquals(List.of(RowFactory.create(2L, 2L), RowFactory.create(8L, 8L)), rows);
  }
}
