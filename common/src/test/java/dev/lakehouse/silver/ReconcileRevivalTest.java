package dev.lakehouse.silver;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Rows in the source that silver lacks and no window will read, landed again by reconcile: a key
 * deleted in the source and restored exactly as it was, and a row committed later than the
 * lookback.
 */
class ReconcileRevivalTest extends EngineTestBase {

  /**
   * A key deleted in the source (reconcile soft-deletes it) and then restored exactly as it was,
   * with the same change time: no window shows it again, so reconcile lands its row once more and
   * silver revives it; gold's dimension has it current again, after its tombstone.
   */
  @Test
  void aRowRestoredAsItWasComesBackToSilverAndGold() {
    sourceExecute(
        "CREATE TABLE shelf (id int PRIMARY KEY, label text, changed_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO shelf (id, label, changed_at) VALUES (1, 'a', '2026-01-01 10:00+00'), (2, 'b', '2026-01-01 10:00+00')");
    LakehouseSpec spec = spec("revival", """
        tables.shelf { primary-key = [id], mode = incremental, cursor = changed_at, lookback = 1000d }
        gold.dimensions.shelf { source = shelf, natural-key = [id], tracked = [label] }
        """);
    succeeded(runAll(spec));
    sourceExecute("DELETE FROM shelf WHERE id = 2");
    succeeded(runAll(spec));
    assertEquals(List.of(List.of(true)), sql("SELECT _is_deleted FROM delta.`%s` WHERE id = 2", spec.paths().silver("shelf")));

    sourceExecute("INSERT INTO shelf (id, label, changed_at) VALUES (2, 'b', '2026-01-01 10:00+00')");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER, Stage.RECONCILE));
    succeeded(runAll(spec));
    assertEquals(List.of(List.of(false, "b")), sql("SELECT _is_deleted, label FROM delta.`%s` WHERE id = 2",
        spec.paths().silver("shelf")));
    assertEquals(List.of(List.of("b", false), List.of("b", true), List.of("b", false)), sql("SELECT label, is_deleted"
        + " FROM delta.`%s` WHERE id = 2 ORDER BY valid_from", spec.paths().gold("dim_shelf")));
    assertEquals(1L, count("SELECT count(*) FROM delta.`%s` WHERE id = 2 AND is_current", spec.paths().gold("dim_shelf")));
  }

  /**
   * Rows stamped older than the lookback when they commit (a long transaction, a row inserted with
   * an old change time) are behind every window: bronze misses them, and reconcile, which reads
   * every key, lands them once for the next run. Keys it leaves alone: one quarantine holds, one
   * stamped after the source's clock (a window lands it when the clock passes), and keys of a
   * batch silver has not applied.
   */
  @Test
  void aRowCommittedLaterThanTheLookbackLandsThroughReconcileOnce() {
    sourceExecute(
        "CREATE TABLE ledger (id int PRIMARY KEY, label text, changed_at timestamptz NOT NULL)",
        "INSERT INTO ledger VALUES (1, 'a', now() - interval '1 hour'), (2, 'b', now() - interval '30 minutes')");
    LakehouseSpec spec = spec("missed", """
        tables.ledger {
          primary-key = [id], mode = incremental, cursor = changed_at, lookback = 10m
          quality = [ { rule = accepted_values, column = label, values = [a, b, c], action = quarantine } ]
        }
        gold.dimensions.ledger { source = ledger, natural-key = [id], tracked = [label] }
        """);
    String bronze = spec.paths().bronze("ledger");
    String silver = spec.paths().silver("ledger");
    succeeded(runAll(spec));

    sourceExecute(
        "INSERT INTO ledger VALUES (3, 'c', '2026-01-01 10:00+00')",     // behind the window
        "INSERT INTO ledger VALUES (4, 'bad', '2026-01-01 10:00+00')",   // behind it, and quarantined once landed
        "INSERT INTO ledger VALUES (5, 'bad', now())",                   // in the window, quarantined
        "INSERT INTO ledger VALUES (6, 'a', now() + interval '1 day')"); // after the source's clock
    RunResult second = runAll(spec);
    succeeded(second);
    assertEquals(1, outcome(second, Stage.BRONZE, "ledger").rowsWritten(), "the window reads only id 5");
    TableRun reconciled = outcome(second, Stage.RECONCILE, "ledger");
    assertEquals(2, reconciled.count("relanded"), "ids 3 and 4: " + reconciled.detail());
    assertEquals(List.of(List.of(3), List.of(4)), sql("SELECT id FROM delta.`%s` WHERE _batch_id = 3 ORDER BY id", bronze));

    RunResult third = runAll(spec);
    succeeded(third);
    assertEquals(0, outcome(third, Stage.RECONCILE, "ledger").count("relanded"), "4 and 5 are quarantined, 6 waits");
    assertEquals(List.of(List.of(1), List.of(2), List.of(3)), sql("SELECT id FROM delta.`%s` ORDER BY id", silver));
    assertEquals(List.of(List.of(4, 1L), List.of(5, 1L)), sql("SELECT id, count(*) FROM delta.`%s` GROUP BY id ORDER BY id",
        spec.paths().quarantine("ledger")));
    assertEquals(List.of(List.of("c", java.sql.Timestamp.from(java.time.Instant.parse("2026-01-01T10:00:00Z")), true)),
        sql("SELECT label, valid_from, is_current FROM delta.`%s` WHERE id = 3", spec.paths().gold("dim_ledger")));

    long bronzeVersion = version(bronze);
    succeeded(runAll(spec));
    assertEquals(bronzeVersion, version(bronze), "nothing new: no batch, not even an empty one");
  }
}
