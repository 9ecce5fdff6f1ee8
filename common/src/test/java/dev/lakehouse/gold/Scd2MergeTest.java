package dev.lakehouse.gold;

import static dev.lakehouse.gold.Scd2TestData.CUSTOMER;
import static dev.lakehouse.gold.Scd2TestData.assertInvariants;
import static dev.lakehouse.gold.Scd2TestData.changes;
import static dev.lakehouse.gold.Scd2TestData.day;
import static dev.lakehouse.gold.Scd2TestData.delete;
import static dev.lakehouse.gold.Scd2TestData.rows;
import static dev.lakehouse.gold.Scd2TestData.version;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import io.delta.tables.DeltaTable;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

class Scd2MergeTest extends LakehouseTestBase {

  private String path;
  private Scd2Merge dimension;

  private void newDimension(TestInfo test) {
    path = tablePath(test, "");
    dimension = new Scd2Merge(spark, path, CUSTOMER);
  }

  private static String tablePath(TestInfo test, String suffix) {
    return lakehouseRoot.resolve("gold/" + test.getTestMethod().orElseThrow().getName() + suffix).toString();
  }

  /** Applies the changes, then checks the invariants, as every run in production should. */
  private Scd2Result apply(Row... changes) {
    Scd2Result result = dimension.apply(changes(spark, changes));
    assertInvariants(spark, path, CUSTOMER);
    return result;
  }

  private List<Row> fullContent(String table) {
    return spark.read().format("delta").load(table).orderBy("customer_sk").collectAsList();
  }

  @Test
  void everyVersionBetweenTwoRunsIsKept(TestInfo test) {
    newDimension(test);
    assertEquals(new Scd2Result(1, 0, 0, 0), apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01")));

    // Moved twice since the last run: two new versions, in change-time order whatever the feed order.
    Scd2Result result = apply(
        version(1, "Ann", "Nice", "ann@x", "2024-03-01"),
        version(1, "Ann", "Lyon", "ann@x", "2024-02-01"));

    assertEquals(List.of(
        "1 1 Ann Paris ann@x 2024-01-01..2024-02-01 -",
        "2 1 Ann Lyon ann@x 2024-02-01..2024-03-01 -",
        "3 1 Ann Nice ann@x 2024-03-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(2, 0, 1, 0), result);
  }

  @Test
  void lateVersionBetweenTwoStoredOnesTakesItsPlace(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"), version(1, "Ann", "Nice", "ann@x", "2024-03-01"));

    Scd2Result result = apply(version(1, "Ann", "Lyon", "ann@x", "2024-02-01"));

    assertEquals(List.of(
        "1 1 Ann Paris ann@x 2024-01-01..2024-02-01 -",
        "3 1 Ann Lyon ann@x 2024-02-01..2024-03-01 -",
        "2 1 Ann Nice ann@x 2024-03-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(1, 0, 1, 0), result);
  }

  @Test
  void lateVersionBeforeTheFirstBecomesTheFirst(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-02-01"));

    Scd2Result result = apply(version(1, "Ann", "Rome", "ann@x", "2024-01-01"));

    assertEquals(List.of(
        "2 1 Ann Rome ann@x 2024-01-01..2024-02-01 -",
        "1 1 Ann Paris ann@x 2024-02-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(1, 0, 0, 0), result);
  }

  @Test
  void lateVersionEqualToItsSuccessorMovesTheSuccessorEarlier(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"), version(1, "Ann", "Nice", "ann@x", "2024-03-01"));

    Scd2Result result = apply(version(1, "Ann", "Nice", "ann@x", "2024-02-01"));

    assertEquals(List.of(
        "1 1 Ann Paris ann@x 2024-01-01..2024-02-01 -",
        "2 1 Ann Nice ann@x 2024-02-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(0, 0, 2, 0), result);
  }

  @Test
  void lateVersionEqualToItsPredecessorAddsNothing(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"), version(1, "Ann", "Nice", "ann@x", "2024-03-01"));
    List<Row> before = fullContent(path);

    Scd2Result result = apply(version(1, "Ann", "Paris", "ann@x", "2024-02-01"));

    assertEquals(before, fullContent(path));
    assertEquals(Scd2Result.NOTHING, result);
  }

  @Test
  void lateDeleteSplitsTheHistoryWithATombstone(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"), version(1, "Ann", "Nice", "ann@x", "2024-03-01"));

    Scd2Result result = apply(delete(1, "2024-02-01"));

    // The later version now re-inserts the key after the tombstone.
    assertEquals(List.of(
        "1 1 Ann Paris ann@x 2024-01-01..2024-02-01 -",
        "3 1 Ann Paris ann@x 2024-02-01..2024-03-01 D",
        "2 1 Ann Nice ann@x 2024-03-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(0, 1, 1, 0), result);
  }

  @Test
  void deleteClosesTheKeyAndAReinsertOpensANewVersion(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"), version(2, "Bob", "Rome", "bob@x", "2024-01-01"));

    // The second delete finds the key already deleted.
    Scd2Result deleted = apply(delete(1, "2024-02-01"), delete(1, "2024-02-15"));
    assertEquals(List.of(
        "1 1 Ann Paris ann@x 2024-01-01..2024-02-01 -",
        "3 1 Ann Paris ann@x 2024-02-01..max D",
        "2 2 Bob Rome bob@x 2024-01-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(0, 1, 1, 0), deleted);

    assertEquals(Scd2Result.NOTHING, apply(delete(1, "2024-02-20")), "deleting a deleted key");

    // Same attributes as before the delete: still a new version, the key was gone in between.
    Scd2Result reinserted = apply(version(1, "Ann", "Paris", "ann@new", "2024-03-01"));
    assertEquals(List.of(
        "1 1 Ann Paris ann@new 2024-01-01..2024-02-01 -",
        "3 1 Ann Paris ann@new 2024-02-01..2024-03-01 D",
        "4 1 Ann Paris ann@new 2024-03-01..max C",
        "2 2 Bob Rome bob@x 2024-01-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(1, 0, 2, 0), reinserted);
  }

  @Test
  void deleteOfAnUnknownKeyAddsNothing(TestInfo test) {
    newDimension(test);

    assertEquals(Scd2Result.NOTHING, apply(delete(9, "2024-01-01")));
    assertEquals(List.of(), rows(spark, path));

    assertEquals(new Scd2Result(1, 0, 0, 0), apply(delete(9, "2024-01-02"), version(1, "Ann", "Paris", "ann@x", "2024-01-01")));
    assertEquals(List.of("1 1 Ann Paris ann@x 2024-01-01..max C"), rows(spark, path));
  }

  @Test
  void overwriteOnlyChangeCorrectsEveryVersionWithoutANewOne(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@typo", "2024-01-01"), version(1, "Ann", "Lyon", "ann@typo", "2024-02-01"));

    Scd2Result fixed = apply(version(1, "Ann", "Lyon", "ann@fixed", "2024-02-10"));
    assertEquals(List.of(
        "1 1 Ann Paris ann@fixed 2024-01-01..2024-02-01 -",
        "2 1 Ann Lyon ann@fixed 2024-02-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(0, 0, 2, 0), fixed);

    // A move and a later e-mail change in one batch: one version, the newest e-mail everywhere.
    Scd2Result moved = apply(
        version(1, "Ann", "Nice", "ann@newest", "2024-03-05"),
        version(1, "Ann", "Nice", "ann@older", "2024-03-01"));
    assertEquals(List.of(
        "1 1 Ann Paris ann@newest 2024-01-01..2024-02-01 -",
        "2 1 Ann Lyon ann@newest 2024-02-01..2024-03-01 -",
        "3 1 Ann Nice ann@newest 2024-03-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(1, 0, 2, 0), moved);
  }

  @Test
  void lateChangeDoesNotRollBackOverwriteColumns(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@new", "2024-03-01"));

    Scd2Result result = apply(version(1, "Ann", "Rome", "ann@old", "2024-01-01"));

    assertEquals(List.of(
        "2 1 Ann Rome ann@new 2024-01-01..2024-03-01 -",
        "1 1 Ann Paris ann@new 2024-03-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(1, 0, 0, 0), result);
  }

  @Test
  void conflictsAtOneInstantResolveTheSameWayEveryTime(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"));

    Scd2Result result = apply(
        // The stored version wins over a different one at the same instant.
        version(1, "Ann", "Rome", "ann@x", "2024-01-01"),
        // Within a batch a delete wins: inserted and deleted at once leaves nothing.
        version(2, "Bob", "Oslo", "bob@x", "2024-01-01"),
        delete(2, "2024-01-01"),
        // Exact duplicates count once.
        version(3, "Cy", "Bern", "cy@x", "2024-01-01"),
        version(3, "Cy", "Bern", "cy@x", "2024-01-01"));

    assertEquals(List.of(
        "1 1 Ann Paris ann@x 2024-01-01..max C",
        "2 3 Cy Bern cy@x 2024-01-01..max C"), rows(spark, path));
    assertEquals(new Scd2Result(1, 0, 0, 0), result);
  }

  @Test
  void rerunOfTheSameBatchChangesNothing(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"), version(2, "Bob", "Rome", "bob@x", "2024-01-01"));
    Row[] batch = {
        version(1, "Ann", "Lyon", "ann@y", "2024-02-01"),
        version(1, "Ann", "Nice", "ann@y", "2024-03-01"),
        delete(2, "2024-02-01"),
        version(2, "Bob", "Rome", "bob@y", "2024-04-01"),
        version(3, "Cy", "Bern", "cy@x", "2024-01-15"),
        version(1, "Ann", "Paris", "ann@y", "2023-12-01")};
    apply(batch);
    List<Row> afterFirst = fullContent(path);
    long versionAfterFirst = DeltaTable.forPath(spark, path).history(1).first().getAs("version");

    assertEquals(Scd2Result.NOTHING, apply(batch));

    assertEquals(afterFirst, fullContent(path));
    // No commit at all, or one that wrote and rewrote nothing.
    for (Row commit : DeltaTable.forPath(spark, path).history().where("version > " + versionAfterFirst).collectAsList()) {
      assertEquals("MERGE", commit.getAs("operation"));
      Map<String, String> metrics = commit.getJavaMap(commit.fieldIndex("operationMetrics"));
      for (String metric : List.of("numTargetRowsUpdated", "numTargetRowsInserted", "numTargetRowsDeleted",
          "numTargetRowsCopied", "numTargetFilesAdded")) {
        assertEquals("0", metrics.get(metric), metric + " in " + metrics);
      }
    }
  }

  @Test
  void surrogateKeysDoNotDependOnInputOrderOrPartitioning(TestInfo test) {
    // Stands for a run that crashed before its commit and ran again: same table, same input, same result.
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"), version(5, "Eve", "Oslo", "eve@x", "2024-01-01"));
    String copy = tablePath(test, "_copy");
    spark.read().format("delta").load(path).write().format("delta").save(copy);
    List<Row> batch = new ArrayList<>(List.of(
        version(1, "Ann", "Lyon", "ann@x", "2024-02-01"),
        version(3, "Cy", "Bern", "cy@x", "2024-01-15"),
        version(3, "Cy", "Genf", "cy@x", "2024-01-20"),
        delete(5, "2024-02-01"),
        version(2, "Bob", "Rome", "bob@x", "2024-03-01")));

    Scd2Result result = dimension.apply(changes(spark, batch));
    Collections.reverse(batch);
    Scd2Result resultOfCopy = new Scd2Merge(spark, copy, CUSTOMER).apply(changes(spark, batch).repartition(3));

    assertEquals(result, resultOfCopy);
    assertEquals(fullContent(path), fullContent(copy));
    assertEquals(List.of(
        "1 1 Ann Paris ann@x 2024-01-01..2024-02-01 -",
        "3 1 Ann Lyon ann@x 2024-02-01..max C",
        "4 2 Bob Rome bob@x 2024-03-01..max C",
        "5 3 Cy Bern cy@x 2024-01-15..2024-01-20 -",
        "6 3 Cy Genf cy@x 2024-01-20..max C",
        "2 5 Eve Oslo eve@x 2024-01-01..2024-02-01 -",
        "7 5 Eve Oslo eve@x 2024-02-01..max D"), rows(spark, path));
  }

  @Test
  void inferredMemberIsCompletedInPlaceThenVersionedNormally(TestInfo test) {
    newDimension(test);
    dimension.createIfMissing(Scd2TestData.CHANGE_SCHEMA);
    StructType keySchema = new StructType().add("customer_id", DataTypes.LongType);
    Dataset<Row> factKeys = spark.createDataFrame(
        List.of(RowFactory.create(7L), RowFactory.create(8L), RowFactory.create((Object) null), RowFactory.create(7L)),
        keySchema);

    assertEquals(2, dimension.ensureMembers(factKeys));
    assertEquals(1, dimension.ensureMembers(
        spark.createDataFrame(List.of(RowFactory.create(7L), RowFactory.create(9L)), keySchema)));
    assertInvariants(spark, path, CUSTOMER);
    assertEquals(List.of(
        "1 7 null null null min..max CI",
        "2 8 null null null min..max CI",
        "3 9 null null null min..max CI"), rows(spark, path));

    // The first real version completes the member (same key, still valid since the beginning, so
    // facts already pointing at it stay right); a second version in the same batch opens a new row.
    Scd2Result arrived = apply(
        version(7, "Eve", "Oslo", "eve@x", "2024-05-01"),
        version(8, "Fay", "Rome", "fay@x", "2024-05-01"),
        version(8, "Fay", "Milan", "fay@x", "2024-05-10"));
    assertEquals(List.of(
        "1 7 Eve Oslo eve@x min..max C",
        "2 8 Fay Rome fay@x min..2024-05-10 -",
        "4 8 Fay Milan fay@x 2024-05-10..max C",
        "3 9 null null null min..max CI"), rows(spark, path));
    assertEquals(new Scd2Result(1, 0, 2, 2), arrived);

    Scd2Result changed = apply(version(7, "Eve", "Bergen", "eve@x", "2024-06-01"));
    assertEquals(List.of(
        "1 7 Eve Oslo eve@x min..2024-06-01 -",
        "5 7 Eve Bergen eve@x 2024-06-01..max C"), rows(spark, path).subList(0, 2));
    assertEquals(new Scd2Result(1, 0, 1, 0), changed);
  }

  @Test
  void lookupFindsTheVersionValidAtTheFactTime(TestInfo test) {
    newDimension(test);
    apply(
        version(1, "Ann", "Paris", "ann@x", "2024-01-01"),
        version(1, "Ann", "Lyon", "ann@x", "2024-02-01"),
        delete(1, "2024-03-01"),
        version(2, "Bob", "Rome", "bob@x", "2024-01-15"));
    StructType factSchema = new StructType()
        .add("order_id", DataTypes.IntegerType)
        .add("customer_id", DataTypes.LongType)
        .add("ordered_at", DataTypes.TimestampType);
    Dataset<Row> facts = spark.createDataFrame(List.of(
        fact(100, 1L, day("2024-01-10")),
        fact(101, 1L, day("2024-02-01")),                                   // a version's start is inside it
        fact(102, 1L, day("2024-02-01").minusNanos(1000)),                  // its end is not
        fact(103, 1L, day("2024-03-05")),                                   // after the delete: the tombstone
        fact(104, null, day("2024-01-10")),                                 // no customer: unknown member
        fact(105, 2L, day("2024-01-01")),                                   // before the key's first version
        fact(106, 99L, day("2024-01-10"))), factSchema);

    List<String> found = dimension.lookupSurrogateKey(facts, List.of("customer_id"), "ordered_at", "customer_sk")
        .orderBy("order_id").collectAsList().stream()
        .map(r -> r.getAs("order_id") + "->" + r.getAs("customer_sk")).toList();

    assertEquals(List.of("100->1", "101->2", "102->1", "103->3", "104->-1", "105->-1", "106->-1"), found);
  }

  private static Row fact(int id, Long customer, Instant at) {
    return RowFactory.create(id, customer, Timestamp.from(at));
  }

  @Test
  void compositeKeyAndNullVersusEmptyString(TestInfo test) {
    Scd2Spec account = Scd2Spec.of("account", List.of("region", "code"), List.of("label"), List.of());
    String table = tablePath(test, "");
    Scd2Merge accounts = new Scd2Merge(spark, table, account);
    StructType schema = new StructType()
        .add("region", DataTypes.StringType).add("code", DataTypes.StringType).add("label", DataTypes.StringType)
        .add(Scd2Columns.CHANGE_TIME, DataTypes.TimestampType).add(Scd2Columns.DELETE_EVENT, DataTypes.BooleanType);
    Timestamp first = Timestamp.from(day("2024-01-01"));
    Timestamp second = Timestamp.from(day("2024-02-01"));

    accounts.apply(spark.createDataFrame(List.of(
        RowFactory.create("EU", "A", null, first, false),
        RowFactory.create("EU", "B", "", first, false),
        RowFactory.create("US", "A", "x", first, false)), schema));
    Scd2Result result = accounts.apply(spark.createDataFrame(List.of(
        RowFactory.create("EU", "A", "", second, false),
        RowFactory.create("EU", "B", null, second, false),
        RowFactory.create("US", "A", "x", second, false)), schema));

    assertInvariants(spark, table, account);
    assertEquals(new Scd2Result(2, 0, 2, 0), result);
    assertEquals(List.of(
        List.of(1L, "EU", "A", "<null>", true),
        List.of(4L, "EU", "A", "", false),
        List.of(2L, "EU", "B", "", true),
        List.of(5L, "EU", "B", "<null>", false),
        List.of(3L, "US", "A", "x", false)),
        sql("SELECT account_sk, region, code, coalesce(label, '<null>'), valid_to < timestamp'9999-12-31 00:00:00'"
            + " FROM delta.`%s` WHERE account_sk > 0 ORDER BY region, code, valid_from", table));
  }

  @Test
  void rowHashTellsNullEmptyAndColumnBoundariesApart() {
    StructType schema = new StructType().add("a", DataTypes.StringType).add("b", DataTypes.StringType);
    String hash = Scd2Columns.rowHashSql(List.of("a", "b"), schema);
    List<Object[]> pairs = List.of(
        new Object[] {null, "x"}, new Object[] {"", "x"}, new Object[] {"x", null}, new Object[] {"x", ""},
        new Object[] {"a|b", "c"}, new Object[] {"a", "b|c"}, new Object[] {"N", null}, new Object[] {null, "N"});
    List<Row> rows = pairs.stream().map(RowFactory::create).toList();

    List<Row> hashes = spark.createDataFrame(rows, schema).selectExpr(hash + " AS h").distinct().collectAsList();

    assertEquals(pairs.size(), hashes.size());
  }

  @Test
  void refusesToDropRowsOfAHistoryThatIsAlreadyBroken(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"));
    // Damage done outside the engine: a second, identical version that should have collapsed.
    spark.sql(String.format("UPDATE delta.`%s` SET valid_to = timestamp'2024-02-01 00:00:00', is_current = false"
        + " WHERE customer_sk = 1", path));
    spark.sql(String.format("INSERT INTO delta.`%1$s` SELECT 2, customer_id, name, city, email,"
        + " timestamp'2024-02-01 00:00:00', timestamp'9999-12-31 00:00:00', true, false, false, row_hash"
        + " FROM delta.`%1$s` WHERE customer_sk = 1", path));
    List<Row> damaged = fullContent(path);

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> dimension.apply(changes(spark, version(1, "Ann", "Nice", "ann@x", "2024-03-01"))));

    assertTrue(e.getMessage().contains("1 existing rows would be dropped"), e.getMessage());
    assertEquals(damaged, fullContent(path));
  }

  @Test
  void rejectsBatchesItCannotPlace(TestInfo test) {
    newDimension(test);
    assertThrows(IllegalArgumentException.class, () -> dimension.apply(changes(spark,
        RowFactory.create(null, "Ann", "Paris", "ann@x", Timestamp.from(day("2024-01-01")), false))));
    assertThrows(IllegalArgumentException.class, () -> dimension.apply(changes(spark,
        RowFactory.create(1L, "Ann", "Paris", "ann@x", null, false))));
    assertThrows(IllegalArgumentException.class, () -> dimension.apply(changes(spark,
        version(1, "Ann", "Paris", "ann@x", Scd2Columns.BEGINNING))));
    assertEquals(List.of(), rows(spark, path), "nothing but the unknown member was written");
    assertInvariants(spark, path, CUSTOMER);
  }

  /**
   * New surrogate keys continue after the largest, found from the files' statistics, or from the
   * rows when a file has none (here a batch written with Delta's statistics off).
   */
  @Test
  void newSurrogateKeysContinueAfterTheLargestWithOrWithoutFileStatistics(TestInfo test) {
    newDimension(test);
    apply(version(1, "Ann", "Paris", "ann@x", "2024-01-01"), version(2, "Bob", "Rome", "bob@x", "2024-01-01"));
    apply(version(1, "Ann", "Nice", "ann@x", "2024-02-01"));
    dev.lakehouse.spark.SessionSettings.with(spark,
        java.util.Map.of("spark.databricks.delta.stats.collect", java.util.Optional.of("false")),
        () -> apply(version(3, "Cy", "Oslo", "cy@x", "2024-02-01")));
    apply(version(4, "Dee", "Bern", "dee@x", "2024-03-01"));

    assertEquals(List.of(
        "1 1 Ann Paris ann@x 2024-01-01..2024-02-01 -",
        "3 1 Ann Nice ann@x 2024-02-01..max C",
        "2 2 Bob Rome bob@x 2024-01-01..max C",
        "4 3 Cy Oslo cy@x 2024-02-01..max C",
        "5 4 Dee Bern dee@x 2024-03-01..max C"), rows(spark, path));
  }
}
