package dev.lakehouse.silver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.spark.TypeWidening;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.CapturedWarnings;
import dev.lakehouse.testing.EngineTestBase;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The source's columns change under a running lakehouse: added, dropped, retyped. */
class SilverSchemaDriftTest extends EngineTestBase {

  @Test
  void addedColumnsFlowThroughDroppedOnesStayAndAChangedTypeStopsTheTable() {
    sourceExecute(
        "CREATE TABLE drift (id int PRIMARY KEY, qty int, note text, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO drift (id, qty, note) VALUES (1, 5, 'n1'), (2, 6, 'n2')");
    LakehouseSpec spec = spec("drift", "tables.drift { primary-key = [id], mode = incremental, cursor = updated_at }");
    String bronze = spec.paths().bronze("drift");
    String silver = spec.paths().silver("drift");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));

    sourceExecute(
        "ALTER TABLE drift ADD COLUMN tier text",
        "ALTER TABLE drift DROP COLUMN note",
        "UPDATE drift SET tier = 'gold', updated_at = now() WHERE id = 1");
    List<String> warnings;
    RunResult drifted;
    try (CapturedWarnings captured = new CapturedWarnings()) {
      drifted = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
      warnings = List.copyOf(captured.lines);
    }
    String note = "column note is no longer in \"public\".\"drift\"; bronze and silver keep it, NULL from now on";
    assertTrue(outcome(drifted, Stage.BRONZE, "drift").detail().startsWith(note + "; watermark "),
        "the run log says it too: " + outcome(drifted, Stage.BRONZE, "drift").detail());
    assertEquals(List.of(Arrays.asList(1, 5, null, "gold"), Arrays.asList(2, 6, "n2", null)),
        sql("SELECT id, qty, note, tier FROM delta.`%s` ORDER BY id", silver),
        "the new column is NULL in older rows; the dropped one is kept, NULL from the next version on");
    assertTrue(Arrays.asList(spark.read().format("delta").load(bronze).columns()).containsAll(List.of("note", "tier")));
    assertTrue(warnings.contains("bronze drift: column note is no longer in \"public\".\"drift\"; bronze and silver keep"
        + " it, NULL from now on"), warnings.toString());

    sourceExecute(
        "ALTER TABLE drift ALTER COLUMN qty TYPE text USING qty::text",
        "UPDATE drift SET qty = 'seven', updated_at = now() WHERE id = 2");
    List<Long> versions = List.of(version(bronze), version(silver));
    RunResult retyped = run(spec, Stage.BRONZE, Stage.SILVER);
    assertEquals(List.of("bronze drift: Column qty of \"public\".\"drift\" changed type from int to string; bronze.drift"
        + " is left untouched (" + TypeWidening.TAKEN + ")"), retyped.failureLines());
    assertEquals(versions, List.of(version(bronze), version(silver)), "nothing written to bronze or silver");
    assertEquals("up to date", outcome(retyped, Stage.SILVER, "drift").detail());
  }

  @Test
  void aColumnAddedWithADefaultReachesTheRowsNoUpdateTouched() {
    sourceExecute(
        "CREATE TABLE defaulted (id int PRIMARY KEY, qty int,"
            + " updated_at timestamptz NOT NULL DEFAULT now() - interval '1 day')",
        "INSERT INTO defaulted (id, qty) SELECT i, i FROM generate_series(1, 4) i");
    LakehouseSpec spec = spec("defaulted",
        "tables.defaulted { primary-key = [id], mode = incremental, cursor = updated_at }");
    String bronze = spec.paths().bronze("defaulted");
    String silver = spec.paths().silver("defaulted");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));

    // PostgreSQL writes no row for ADD COLUMN ... DEFAULT: every row holds 'eu', no cursor moved.
    sourceExecute(
        "ALTER TABLE defaulted ADD COLUMN region text NOT NULL DEFAULT 'eu'",
        "ALTER TABLE defaulted ADD COLUMN tier text",
        "UPDATE defaulted SET qty = 30, tier = 'gold', updated_at = now() WHERE id = 3");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of(Arrays.asList(1, 1, "eu", null), Arrays.asList(2, 2, "eu", null),
            Arrays.asList(3, 30, "eu", "gold"), Arrays.asList(4, 4, "eu", null)),
        sql("SELECT id, qty, region, tier FROM delta.`%s` ORDER BY id", silver), "every row holds the default");

    // Once landed, the columns are bronze's own: the next run reads its window only.
    long landed = count("SELECT count(*) FROM delta.`%s`", bronze);
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(landed, count("SELECT count(*) FROM delta.`%s`", bronze), "nothing read again");
  }

  @Test
  void aColumnDroppedAndAddedAgainOrATableCreatedAgainIsReadAgainInEveryRow() {
    sourceExecute(
        "CREATE TABLE readded (id int PRIMARY KEY, qty int, region text,"
            + " updated_at timestamptz NOT NULL DEFAULT now() - interval '1 day')",
        "INSERT INTO readded (id, qty, region) SELECT i, i, 'us' FROM generate_series(1, 3) i",
        // The watermark moves past the others' cursors, and their lookback.
        "INSERT INTO readded (id, qty, region, updated_at) VALUES (4, 4, 'us', now())");
    LakehouseSpec spec = spec("readded", "tables.readded { primary-key = [id], mode = incremental, cursor = updated_at }");
    String bronze = spec.paths().bronze("readded");
    String silver = spec.paths().silver("readded");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));

    // Both ALTERs between two runs: the name is bronze's, yet every row now holds the new default.
    sourceExecute(
        "ALTER TABLE readded DROP COLUMN region",
        "ALTER TABLE readded ADD COLUMN region text DEFAULT 'eu'",
        "UPDATE readded SET qty = 30, updated_at = now() WHERE id = 3");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of(Arrays.asList(1, 1, "eu"), Arrays.asList(2, 2, "eu"), Arrays.asList(3, 30, "eu"),
        Arrays.asList(4, 4, "eu")), sql("SELECT id, qty, region FROM delta.`%s` ORDER BY id", silver));

    // Dropped in one run (kept, as any dropped column), added again without a default in the next:
    // every row holds NULL there now.
    sourceExecute("ALTER TABLE readded DROP COLUMN qty");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    sourceExecute("ALTER TABLE readded ADD COLUMN qty int");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of(Arrays.asList(1, null, "eu"), Arrays.asList(2, null, "eu"), Arrays.asList(3, null, "eu"),
        Arrays.asList(4, null, "eu")), sql("SELECT id, qty, region FROM delta.`%s` ORDER BY id", silver));

    // Read again once: the next run reads its window only.
    long landed = count("SELECT count(*) FROM delta.`%s`", bronze);
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(landed, count("SELECT count(*) FROM delta.`%s`", bronze), "nothing read again");

    // Dropped and restored from an older copy: every cursor is behind the watermark.
    sourceExecute(
        "CREATE TABLE readded_copy AS SELECT * FROM readded",
        "UPDATE readded_copy SET region = 'apac'",
        "DROP TABLE readded",
        "ALTER TABLE readded_copy RENAME TO readded",
        "ALTER TABLE readded ADD PRIMARY KEY (id)");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of(List.of(4L)), sql("SELECT count(*) FROM delta.`%s` WHERE region = 'apac'", silver));
  }

  @Test
  void reconcileLandingAKeyBackBetweenTheAlterAndTheNextBronzeRunDoesNotHideIt() {
    sourceExecute(
        "CREATE TABLE relanded (id int PRIMARY KEY, region text,"
            + " updated_at timestamptz NOT NULL DEFAULT now() - interval '1 day')",
        "INSERT INTO relanded (id, region) SELECT i, 'us' FROM generate_series(1, 3) i",
        "INSERT INTO relanded (id, region, updated_at) VALUES (4, 'us', now())");
    LakehouseSpec spec = spec("relanded", "tables.relanded { primary-key = [id], mode = incremental, cursor = updated_at }");
    String silver = spec.paths().silver("relanded");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER, Stage.RECONCILE));
    sourceExecute("DELETE FROM relanded WHERE id = 1");
    succeeded(run(spec, Stage.RECONCILE));

    // Key 1 comes back with its old cursor, and region is dropped and added again: reconcile
    // lands key 1 before bronze runs, which must still read every row.
    sourceExecute(
        "INSERT INTO relanded (id, region, updated_at) VALUES (1, 'us', now() - interval '1 day')",
        "ALTER TABLE relanded DROP COLUMN region",
        "ALTER TABLE relanded ADD COLUMN region text DEFAULT 'eu'");
    succeeded(run(spec, Stage.RECONCILE));
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of(Arrays.asList(1, "eu"), Arrays.asList(2, "eu"), Arrays.asList(3, "eu"), Arrays.asList(4, "eu")),
        sql("SELECT id, region FROM delta.`%s` WHERE NOT _is_deleted ORDER BY id", silver));
  }

  @Test
  void aDroppedColumnTheConfigurationNamesStopsTheRunAndSaysItWasDropped() {
    sourceExecute(
        "CREATE TABLE named (id int PRIMARY KEY, grade text, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO named (id, grade) VALUES (1, 'a'), (2, 'b')");
    LakehouseSpec spec = spec("named", """
        tables.named {
          primary-key = [id], mode = incremental, cursor = updated_at
          quality = [ { rule = not_null, column = grade, action = quarantine } ]
        }""");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    sourceExecute("ALTER TABLE named DROP COLUMN grade", "UPDATE named SET updated_at = now() WHERE id = 1");
    List<Long> versions = List.of(version(spec.paths().bronze("named")), version(spec.paths().silver("named")));
    dev.lakehouse.spec.SpecException stopped = org.junit.jupiter.api.Assertions.assertThrows(
        dev.lakehouse.spec.SpecException.class, () -> run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of("lakehouse.tables.named: column grade is no longer in the source; bronze and silver keep its"
            + " values (NULL from now on), but the configuration can name only the source's columns",
        "lakehouse.tables.named.quality[0]: no column grade in public.named (silver names); its columns are"
            + " [id, updated_at]"), stopped.problems());
    assertEquals(versions, List.of(version(spec.paths().bronze("named")), version(spec.paths().silver("named"))),
        "nothing written");
  }

  @Test
  void aWidenedColumnFollowsThroughEveryLayerWithoutNewVersions() {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE TABLE sites (id smallint PRIMARY KEY, code smallint, amount numeric(8,2),"
            + " changed_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE visits (id int PRIMARY KEY, site_id smallint NOT NULL, qty int, at timestamptz NOT NULL)",
        "INSERT INTO sites (id, code, amount) SELECT i, i * 10, i * 1.25 FROM generate_series(1, 4) i",
        "INSERT INTO sites (id, code, amount) VALUES (9, 90, -1)",
        "INSERT INTO visits SELECT i, 1 + i % 4, i, timestamptz '2025-01-01' + i * interval '1 hour'"
            + " FROM generate_series(1, 8) i");
    LakehouseSpec spec = specIn(db, "widened", """
        tables.sites {
          primary-key = [id], mode = incremental, cursor = changed_at
          quality = [ { rule = range, column = amount, min = 0, action = quarantine } ]
        }
        tables.visits { primary-key = [id], mode = full }
        gold.dimensions.site { source = sites, natural-key = [id], tracked = [code, amount] }
        gold.facts.fact_visits {
          grain = [id]
          query = "SELECT id, site_id, qty, at FROM silver.visits"
          dimensions = [ { dimension = site, key = [site_id], as-of = at } ]
          touched-by = [ { table = visits, column = id } ]
        }""");
    succeeded(runAll(spec));
    String dimension = spec.paths().gold(spec.gold().dimensions().get("site").table());
    long versionsBefore = rows(dimension);

    // The usual migration of a growing database: wider integers, a decimal with more digits.
    executeIn(db,
        "ALTER TABLE sites ALTER COLUMN id TYPE int, ALTER COLUMN code TYPE int, ALTER COLUMN amount TYPE numeric(12,2)",
        "ALTER TABLE visits ALTER COLUMN site_id TYPE int, ALTER COLUMN qty TYPE bigint",
        "UPDATE sites SET code = 70000, amount = 123456789.50, changed_at = now() WHERE id = 2",
        "INSERT INTO sites (id, code, amount) VALUES (100000, 1, -2)",
        "UPDATE visits SET qty = 5000000000 WHERE id = 3");
    succeeded(runAll(spec));

    for (String path : List.of(spec.paths().bronze("sites"), spec.paths().silver("sites"), dimension,
        spec.paths().quarantine("sites"))) {
      var schema = spark.read().format("delta").load(path).schema();
      assertEquals(List.of("int", "int", "decimal(12,2)"), List.of(schema.apply("id").dataType().simpleString(),
          schema.apply("code").dataType().simpleString(), schema.apply("amount").dataType().simpleString()), path);
    }
    assertEquals("bigint", spark.read().format("delta").load(spec.paths().silver("visits")).schema().apply("qty")
        .dataType().simpleString());
    assertEquals(versionsBefore + 1, rows(dimension),
        "one new version, for the site that changed: widening alone changes no row's hash");
    assertEquals(List.of(List.of(70000, new java.math.BigDecimal("123456789.50"))),
        sql("SELECT code, amount FROM delta.`%s` WHERE id = 2 AND is_current", dimension));
    assertEquals(List.of(List.of(5000000000L)),
        sql("SELECT qty FROM delta.`%s` WHERE id = 3", spec.paths().gold("fact_visits")));
    assertEquals(List.of(List.of(9), List.of(100000)),
        sql("SELECT id FROM delta.`%s` ORDER BY id", spec.paths().quarantine("sites")),
        "rows held before and after the widening");
  }
}
