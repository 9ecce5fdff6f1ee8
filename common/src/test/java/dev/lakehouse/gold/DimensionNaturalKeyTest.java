package dev.lakehouse.gold;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.CapturedWarnings;
import dev.lakehouse.testing.EngineTestBase;
import java.sql.Timestamp;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A dimension whose natural key is not its table's key: members by a code, rows by an id. A row
 * that takes another code leaves its old member, which ends with a tombstone at that change; a
 * row whose code is NULL belongs to no member; two rows swapping their codes at one moment keep
 * both members current; a deleted row ends the member it had, unless another row has taken its
 * code; a keyless table's changed row (the old row gone, a new one landed) keeps its member.
 */
class DimensionNaturalKeyTest extends EngineTestBase {

  private static final String DAY_1 = "'2026-01-01 10:00+00'";

  @Test
  void aRowThatTakesAnotherCodeEndsItsOldMember() {
    sourceExecute(
        "CREATE TABLE item (id int PRIMARY KEY, code text, name text, changed_at timestamptz NOT NULL)",
        "INSERT INTO item VALUES (1, 'A', 'apple', " + DAY_1 + "), (2, 'B', 'banana', " + DAY_1 + "),"
            + " (3, 'D', 'date', " + DAY_1 + "), (4, 'E', 'elder', " + DAY_1 + ")");
    LakehouseSpec spec = spec("natural", """
        tables.item { primary-key = [id], mode = incremental, cursor = changed_at, lookback = 1000d }
        gold.dimensions.item { source = item, natural-key = [code], tracked = [name] }
        """);
    String dimension = spec.paths().gold("dim_item");
    succeeded(runAll(spec));

    sourceExecute(
        "UPDATE item SET code = 'C', changed_at = '2026-01-02 10:00+00' WHERE id = 1",
        "UPDATE item SET code = NULL, changed_at = '2026-01-02 11:00+00' WHERE id = 2",
        "UPDATE item SET code = CASE id WHEN 3 THEN 'E' ELSE 'D' END, changed_at = '2026-01-02 12:00+00'"
            + " WHERE id IN (3, 4)");
    try (CapturedWarnings warnings = new CapturedWarnings()) {
      succeeded(runAll(spec));
      assertTrue(warnings.lines.contains("gold dim_item: 1 versions of silver.item have a NULL code; they belong to"
          + " no member"), warnings.lines.toString());
    }
    assertEquals(List.of(List.of(false, false), List.of(false, true)), history(dimension, "A"));
    assertEquals(List.of(List.of(Timestamp.valueOf("2026-01-02 10:00:00"))),
        sql("SELECT valid_from FROM delta.`%s` WHERE code = 'A' AND is_deleted", dimension), "A ends when 1 took C");
    assertEquals(List.of(List.of(false, false), List.of(false, true)), history(dimension, "B"));
    assertEquals(List.of(List.of(true, false)), history(dimension, "C"));
    // 3 and 4 swapped D and E in one statement: both members stay current, with the other name.
    assertEquals(List.of(List.of("date", false), List.of("elder", true)),
        sql("SELECT name, is_current FROM delta.`%s` WHERE code = 'D' ORDER BY valid_from", dimension));
    assertEquals(List.of(List.of("elder", false), List.of("date", true)),
        sql("SELECT name, is_current FROM delta.`%s` WHERE code = 'E' ORDER BY valid_from", dimension));
    assertCurrentMembersAreSilversLiveCodes(spec);

    // 1 is deleted (C ends when reconcile sees it gone); 2 takes B again: B is back.
    sourceExecute("DELETE FROM item WHERE id = 1",
        "UPDATE item SET code = 'B', changed_at = '2026-01-03 10:00+00' WHERE id = 2");
    succeeded(runAll(spec));
    assertEquals(List.of(List.of(false, false), List.of(false, true)), history(dimension, "C"));
    assertEquals(List.of(List.of(false, false), List.of(false, true), List.of(true, false)), history(dimension, "B"));
    assertCurrentMembersAreSilversLiveCodes(spec);
    assertEquals(List.of(), Scd2Invariants.check(spark, dimension, Scd2Spec.of(spec.gold().dimensions().get("item"))));

    long version = version(dimension);
    succeeded(runAll(spec));
    assertEquals(version, version(dimension), "nothing new: the dimension is not written");
  }

  @Test
  void aKeylessTablesChangedRowKeepsItsMemberCurrent() {
    // A keyless table lands a changed row as the old row gone and a new one: the member stays.
    sourceExecute("CREATE TABLE kind (code text, label text)",
        "INSERT INTO kind VALUES ('X', 'x1'), ('Y', 'y1'), ('Z', 'z1')");
    LakehouseSpec spec = spec("keyless", """
        tables.kind { primary-key = [], mode = full }
        gold.dimensions.kind { source = kind, natural-key = [code], tracked = [label] }
        """);
    String dimension = spec.paths().gold("dim_kind");
    succeeded(runAll(spec));
    sourceExecute("UPDATE kind SET label = 'x2' WHERE code = 'X'", "UPDATE kind SET code = 'W' WHERE code = 'Y'",
        "DELETE FROM kind WHERE code = 'Z'");
    succeeded(runAll(spec));
    assertEquals(List.of(List.of("x1", false, false), List.of("x2", true, false)),
        sql("SELECT label, is_current, is_deleted FROM delta.`%s` WHERE code = 'X' ORDER BY valid_from", dimension));
    assertEquals(List.of(List.of(false, false), List.of(false, true)), sql("SELECT is_current, is_deleted"
        + " FROM delta.`%s` WHERE code = 'Y' ORDER BY valid_from", dimension));
    assertEquals(List.of(List.of(false, false), List.of(false, true)), sql("SELECT is_current, is_deleted"
        + " FROM delta.`%s` WHERE code = 'Z' ORDER BY valid_from", dimension));
    assertEquals(List.of(List.of("W", "y1"), List.of("X", "x2")), sql("SELECT code, label FROM delta.`%s`"
        + " WHERE is_current AND code IS NOT NULL ORDER BY code", dimension));
    assertEquals(List.of(), Scd2Invariants.check(spark, dimension, Scd2Spec.of(spec.gold().dimensions().get("kind"))));
  }

  @Test
  void aCodeTakenByAnotherRowWhileItsRowIsDeletedStaysCurrent() {
    sourceExecute(
        "CREATE TABLE tag (id int PRIMARY KEY, code text NOT NULL, name text, changed_at timestamptz NOT NULL)",
        "INSERT INTO tag VALUES (1, 'A', 'first', " + DAY_1 + "), (2, 'B', 'other', " + DAY_1 + ")");
    LakehouseSpec spec = spec("taken", """
        tables.tag { primary-key = [id], mode = incremental, cursor = changed_at, lookback = 1000d }
        gold.dimensions.tag { source = tag, natural-key = [code], tracked = [name] }
        """);
    String dimension = spec.paths().gold("dim_tag");
    succeeded(runAll(spec));
    // Reconcile sees 1 gone after bronze landed 3 with its code: the delete must not end A.
    sourceExecute("DELETE FROM tag WHERE id = 1",
        "INSERT INTO tag VALUES (3, 'A', 'second', '2026-01-02 10:00+00')");
    succeeded(runAll(spec));
    assertEquals(List.of(List.of("first", false, false), List.of("second", true, false)),
        sql("SELECT name, is_current, is_deleted FROM delta.`%s` WHERE code = 'A' ORDER BY valid_from", dimension));
    assertEquals(List.of(List.of(true)), sql("SELECT _is_deleted FROM delta.`%s` WHERE id = 1", spec.paths().silver("tag")));
    assertEquals(List.of(), Scd2Invariants.check(spark, dimension, Scd2Spec.of(spec.gold().dimensions().get("tag"))));
  }

  /** The member's rows in order: is_current, is_deleted. */
  private static List<List<Object>> history(String dimension, String code) {
    return sql("SELECT is_current, is_deleted FROM delta.`%s` WHERE code = '%s' ORDER BY valid_from", dimension, code);
  }

  private static void assertCurrentMembersAreSilversLiveCodes(LakehouseSpec spec) {
    assertEquals(sql("SELECT code, name FROM delta.`%s` WHERE NOT _is_deleted AND code IS NOT NULL ORDER BY code",
            spec.paths().silver("item")),
        sql("SELECT code, name FROM delta.`%s` WHERE is_current AND code IS NOT NULL ORDER BY code",
            spec.paths().gold("dim_item")));
  }
}
