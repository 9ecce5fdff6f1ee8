package dev.lakehouse.silver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import io.delta.tables.DeltaTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The quality rules on one lakehouse, built once (read-only for every test but the one that works
 * on a copy): what each rule and action does to rows, what _control/dq_results records.
 */
class SilverQualityTest extends EngineTestBase {

  /** Tables named so that alphabetical order is the reverse of the parents-first order. */
  private static final String TABLES = """
      tables {
        c_regions { primary-key = [region, code], mode = full }
        b_customers {
          primary-key = [id], mode = full
          quality = [
            { rule = not_null, columns = [name], action = quarantine }
            { rule = unique, columns = [email], action = warn }
            { rule = pattern, column = email, regex = "^[^@ ]+@[^@ ]+$", action = warn }
            { rule = accepted_values, column = tier, values = [gold, silver, bronze], action = quarantine }
            { rule = relationships, columns = [region, code], to = c_regions, to-columns = [region, code], action = quarantine }
          ]
        }
        a_orders {
          primary-key = [order_id], mode = incremental, cursor = updated_at
          quality = [
            { rule = relationships, column = customer_id, to = b_customers, to-column = id, action = quarantine }
            { rule = range, column = qty, min = 1, max = 100, action = quarantine }
            { rule = freshness, max-age = 1d, action = warn }
          ]
        }
        strict { primary-key = [id], mode = full, quality = [{ rule = accepted_values, column = status, values = [a], action = fail }] }
        cast_fail { source-table = amounts, primary-key = [id], mode = full, silver.cast { amount = int } }
        cast_quarantine { source-table = amounts, primary-key = [id], mode = full, silver { cast { amount = int }, on-cast-error = quarantine } }
        key_cast { source-table = codes, primary-key = [code], mode = full, silver { cast { code = int }, on-cast-error = quarantine } }
        key_cast_fail { source-table = more_codes, primary-key = [code], mode = full, silver.cast { code = int } }
      }""";

  private static LakehouseSpec spec;
  private static RunResult result;

  @BeforeAll
  static void runOnce() {
    sourceExecute(
        "CREATE TABLE c_regions (region text, code text, name text, PRIMARY KEY (region, code))",
        "INSERT INTO c_regions VALUES ('eu', 'pt', 'Portugal'), ('eu', 'se', 'Sweden'), ('us', 'ca', 'California')",
        "CREATE TABLE b_customers (id int PRIMARY KEY, name text, email text, region text, code text, tier text)",
        "INSERT INTO b_customers VALUES"
            + " (1, 'Ana', 'ana@x.org', 'eu', 'pt', 'gold'),"
            + " (2, NULL, 'bo@x.org', 'eu', 'se', 'silver'),"        // not_null: quarantined
            + " (3, 'Cy', 'ana@x.org', 'us', 'ca', 'gold'),"          // unique email with 1: warned
            + " (4, 'Di', 'not an email', 'eu', 'xx', 'bronze'),"     // pattern warned, no region (eu, xx): quarantined
            + " (5, 'Ed', 'ed@x.org', 'eu', 'pt', 'platinum'),"       // accepted_values: quarantined
            + " (6, 'Fi', 'fi@x.org', NULL, 'pt', 'gold')",           // NULL in the composite reference: passes
        "CREATE TABLE a_orders (order_id int PRIMARY KEY, customer_id int, qty int, updated_at timestamptz NOT NULL)",
        "INSERT INTO a_orders VALUES"
            + " (10, 1, 5, now() - interval '3 days'),"
            + " (11, 99, 1, now() - interval '3 days'),"              // no such customer: quarantined
            + " (12, 3, 0, now() - interval '3 days'),"               // out of range: quarantined
            + " (13, NULL, 100, now() - interval '3 days')",           // no customer: passes
        "CREATE TABLE strict (id int PRIMARY KEY, status text)",
        "INSERT INTO strict VALUES (1, 'a'), (2, 'zzz')",
        "CREATE TABLE amounts (id int PRIMARY KEY, amount text)",
        "INSERT INTO amounts VALUES (1, '12'), (2, 'abc'), (3, NULL)",
        // Three source keys that are one int: only '7' is that int without loss.
        "CREATE TABLE codes (code text PRIMARY KEY, name text)",
        "INSERT INTO codes VALUES ('7', 'seven'), ('007', 'agent'), ('07', 'padded'), ('8', 'eight')",
        "CREATE TABLE more_codes (code text PRIMARY KEY, name text)",
        "INSERT INTO more_codes VALUES ('1', 'one'), ('01', 'padded')");
    spec = spec("quality", TABLES);
    result = run(spec, Stage.BRONZE, Stage.SILVER);
  }

  private static String silver(String table) {
    return spec.paths().silver(table);
  }

  private static String quarantine(String table) {
    return spec.paths().quarantine(table);
  }

  private static List<List<Object>> dq(String table) {
    return sql("SELECT rule, action, checked_rows, failed_rows FROM delta.`%s` WHERE table_name = '%s' ORDER BY rule",
        spec.paths().control("dq_results"), table);
  }

  @Test
  void rowRulesWarnOrHoldRowsAsideAndEveryOutcomeIsRecorded() {
    assertEquals(List.of(List.of(1), List.of(3), List.of(6)),
        sql("SELECT id FROM delta.`%s` ORDER BY id", silver("b_customers")), "warned rows go on; quarantined rows do not");
    List<List<Object>> held = new ArrayList<>();
    for (List<Object> row : sql("SELECT id, _failed_rules, _batch_id FROM delta.`%s` ORDER BY id", quarantine("b_customers"))) {
      held.add(List.of(row.get(0), list(row.get(1)), row.get(2)));
    }
    assertEquals(List.of(
        List.of(2, List.of("not_null(name)"), 1L),
        List.of(4, List.of("pattern(email)", "relationships(region,code->c_regions.region,code)"), 1L),
        List.of(5, List.of("accepted_values(tier)"), 1L)), held,
        "each held row with every rule it failed, warn rules included");
    assertEquals(List.of(
            List.of("accepted_values(tier)", "quarantine", 6L, 1L),
            List.of("not_null(name)", "quarantine", 6L, 1L),
            List.of("one_version_per_batch(id)", "warn", 6L, 0L),
            List.of("pattern(email)", "warn", 6L, 1L),
            List.of("relationships(region,code->c_regions.region,code)", "quarantine", 6L, 1L),
            List.of("unique(email)", "warn", 6L, 2L)),
        dq("b_customers"));
    TableRun customers = outcome(result, Stage.SILVER, "b_customers");
    assertEquals(List.of(3L, 3L), List.of(customers.count("inserted"), customers.count("quarantined")));
  }

  @Test
  void relationshipsLookUpParentsAppliedEarlierInTheSameRun() {
    assertEquals(List.of("c_regions", "b_customers", "a_orders"), result.of(Stage.SILVER).stream()
        .map(TableRun::table).filter(t -> t.contains("_") && !t.startsWith("cast") && !t.startsWith("key")).toList(), "parents first");
    assertEquals(List.of(List.of(10), List.of(13)), sql("SELECT order_id FROM delta.`%s` ORDER BY order_id",
        silver("a_orders")), "a NULL reference passes, as a foreign key would");
    assertEquals(List.of(List.of(11, "relationships(customer_id->b_customers.id)"), List.of(12, "range(qty)")),
        sql("SELECT order_id, concat_ws(',', _failed_rules) FROM delta.`%s` ORDER BY order_id", quarantine("a_orders")));
  }

  @Test
  void freshnessJudgesTheTableAsAWhole() {
    assertEquals(List.of(
            List.of("freshness(1d)", "warn", 4L, 1L),
            List.of("one_version_per_batch(order_id)", "warn", 4L, 0L),
            List.of("range(qty)", "quarantine", 4L, 1L),
            List.of("relationships(customer_id->b_customers.id)", "quarantine", 4L, 1L)),
        dq("a_orders"), "the newest change is three days old: one failure for the table, which still applies");
    assertFalse(outcome(result, Stage.SILVER, "a_orders").failed());
  }

  @Test
  void aFailRuleStopsItsTableAndCommitsNothing() {
    assertEquals(List.of("silver strict: accepted_values(status) failed for 1 row (action fail); nothing of bronze"
        + " batches 1..1 was committed", "silver key_cast_fail: silver cast of key_cast_fail.code to int failed for"
        + " 1 row, e.g. '01': a key must convert without loss, or two source keys would become one row (set"
        + " lakehouse.tables.key_cast_fail.silver.on-cast-error = quarantine to hold such rows aside); nothing of"
        + " bronze batches 1..1 was committed", "silver cast_fail: silver cast of cast_fail.amount to int failed for 1 row,"
        + " e.g. 'abc' (set lakehouse.tables.cast_fail.silver.on-cast-error = quarantine to hold such rows aside);"
        + " nothing of bronze batches 1..1 was committed"), result.failureLines().stream().sorted(
            java.util.Comparator.reverseOrder()).toList());
    assertFalse(DeltaTable.isDeltaTable(spark, silver("strict")), "nothing committed");
    assertFalse(DeltaTable.isDeltaTable(spark, quarantine("strict")));
    assertFalse(DeltaTable.isDeltaTable(spark, silver("cast_fail")));
    assertFalse(DeltaTable.isDeltaTable(spark, silver("key_cast_fail")));
    assertEquals(List.of(List.of("strict", "failed"), List.of("key_cast_fail", "failed"), List.of("cast_fail", "failed")),
        sql("SELECT table_name, status FROM delta.`%s` WHERE job = 'silver' AND status <> 'succeeded'"
            + " ORDER BY table_name DESC", spec.paths().control("runs")));
    assertEquals(List.of(List.of("accepted_values(status)", "fail", 2L, 1L)),
        dq("strict").stream().filter(r -> !r.get(0).toString().startsWith("one_version")).toList(),
        "the results of a stopped table are recorded too");
  }

  @Test
  void aValueThatDoesNotCastIsQuarantinedWhenConfigured() {
    assertEquals(Arrays.asList(List.of(1, 12), Arrays.asList(3, null)),
        sql("SELECT id, amount FROM delta.`%s` ORDER BY id", silver("cast_quarantine")), "a NULL is no cast failure");
    assertEquals(List.of(Arrays.asList(2, null, "cast(amount AS int)", "abc")),
        sql("SELECT id, amount, concat_ws(',', _failed_rules), _rejected_values['amount'] FROM delta.`%s`",
            quarantine("cast_quarantine")),
        "held in silver's shape, with the value that did not convert");
    assertEquals(List.of(List.of("cast(amount AS int)", "quarantine", 3L, 1L)),
        dq("cast_quarantine").stream().filter(r -> !r.get(0).toString().startsWith("one_version")).toList());
  }

  @Test
  void aKeyThatACastWouldMergeWithAnotherIsHeldAside() {
    assertEquals(List.of(List.of(7, "seven"), List.of(8, "eight")),
        sql("SELECT code, name FROM delta.`%s` ORDER BY code", silver("key_cast")),
        "'007' and '07' are the int 7 only with a loss: neither overwrites the row of '7'");
    assertEquals(List.of(Arrays.asList(null, "agent", "cast(code AS int)", "007"), Arrays.asList(null, "padded",
            "cast(code AS int)", "07")),
        sql("SELECT code, name, concat_ws(',', _failed_rules), _rejected_values['code'] FROM delta.`%s` ORDER BY name",
            quarantine("key_cast")), "both held, with the key as the source holds it");
    assertEquals(List.of(List.of("cast(code AS int)", "quarantine", 4L, 2L)),
        dq("key_cast").stream().filter(r -> !r.get(0).toString().startsWith("one_version")).toList());
  }

  @Test
  void quarantiningAgainTheSameBatchesHoldsNoRowTwice() throws IOException {
    // Silver's MERGE of b_customers did not commit (the run died after the quarantine): on a copy,
    // its last commit is removed, so the next silver run applies the same bronze batch again.
    copyLakehouse(Path.of(spec.root()), "quality-rerun");
    LakehouseSpec again = spec("quality-rerun", TABLES);
    Path log = Path.of(again.paths().silver("b_customers"), "_delta_log");
    long last = version(again.paths().silver("b_customers"));
    assertTrue(last > 0, "a commit before the MERGE (the table's creation) remains");
    Files.delete(log.resolve(String.format("%020d.json", last)));
    // The local file system's checksums of those files go too, or the next commit would not match them.
    Files.deleteIfExists(log.resolve(String.format(".%020d.json.crc", last)));
    Files.deleteIfExists(log.resolve(String.format("%020d.crc", last)));
    Files.deleteIfExists(log.resolve(String.format(".%020d.crc.crc", last)));
    assertEquals(0L, rows(again.paths().silver("b_customers")));
    long held = rows(again.paths().quarantine("b_customers"));

    RunResult rerun = succeeded(run(again.withTables(again.tables(List.of("b_customers"))), Stage.SILVER));
    TableRun customers = outcome(rerun, Stage.SILVER, "b_customers");
    assertEquals(List.of(1L, 3L, 0L), List.of(customers.batch(), customers.count("inserted"),
        customers.count("quarantined")), "batch 1 applied again, its quarantined rows already held");
    assertEquals(held, rows(again.paths().quarantine("b_customers")));
    assertEquals(0L, count("SELECT count(*) FROM (SELECT id, _batch_id FROM delta.`%s` GROUP BY ALL HAVING count(*) > 1)",
        again.paths().quarantine("b_customers")));
    assertEquals(List.of(List.of(1), List.of(3), List.of(6)),
        sql("SELECT id FROM delta.`%s` ORDER BY id", again.paths().silver("b_customers")));
  }

  @Test
  void aBatchWhoseRowsAreAllHeldAsideIsAppliedAndCountedOnce() {
    sourceExecute("CREATE TABLE held_once (id int PRIMARY KEY, name text)", "INSERT INTO held_once VALUES (1, 'a'), (2, 'b')");
    LakehouseSpec own = spec("quality-held-once", """
        tables.held_once { primary-key = [id], mode = full, quality = [{ rule = not_null, columns = [name], action = quarantine }] }""");
    succeeded(run(own, Stage.BRONZE, Stage.SILVER));
    // Batch 2 holds one row, and quarantine takes it: silver's rows do not change.
    sourceExecute("UPDATE held_once SET name = NULL WHERE id = 2");
    TableRun held = outcome(succeeded(run(own, Stage.BRONZE, Stage.SILVER)), Stage.SILVER, "held_once");
    assertEquals(List.of(2L, 1L, 1L), List.of(held.batch(), held.rowsRead(), held.count("quarantined")));

    TableRun next = outcome(succeeded(run(own, Stage.SILVER)), Stage.SILVER, "held_once");
    assertEquals(0L, next.rowsRead(), "batch 2 is applied: the next run does not read it again");
    assertEquals(List.of(List.of(1L, 2L, 1L)), sql("SELECT count(*), max(bronze_batch_to), sum(failed_rows) FROM"
        + " delta.`%s` WHERE table_name = 'held_once' AND rule = 'not_null(name)' AND failed_rows > 0",
        own.paths().control("dq_results")), "its failure is recorded once");
    assertEquals(List.of(List.of(1, "a"), List.of(2, "b")),
        sql("SELECT id, name FROM delta.`%s` ORDER BY id", own.paths().silver("held_once")));
  }
}
