package dev.lakehouse.silver;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A key deleted in the source (reconcile soft-deletes it) and then restored exactly as it was,
 * with the same change time: no window shows it again, so reconcile lands its row once more and
 * silver revives it; gold's dimension has it current again, after its tombstone.
 */
class ReconcileRevivalTest extends EngineTestBase {

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
}
