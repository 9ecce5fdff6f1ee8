package dev.lakehouse.gold;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.LakehouseTestBase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A source table of 240 columns, as ERP and CRM databases have, through bronze, silver and an
 * SCD2 dimension that tracks every column. Spark's constraint propagation grows with the columns
 * and aliases of a plan: with it on, the dimension's first build of 5,000 rows of such a table
 * spent eight minutes in the optimizer and ran out of a 4 GB heap. The timeout only turns such a
 * hang into a failure; it measures nothing.
 */
class WideTableTest extends LakehouseTestBase {

  private static final int COLUMNS = 240;

  private static final String[] TYPES = {"int", "text", "numeric(12,2)", "timestamptz", "boolean", "date", "bigint",
      "double precision", "varchar(40)", "jsonb"};

  private static final String[] VALUES = {"g % 1000", "'t' || g", "g * 1.5", "timestamptz '2026-01-01' + g * interval '1 minute'",
      "g % 2 = 0", "date '2026-01-01' + g % 300", "g * 1000003", "g / 7.0", "'v' || g % 50", "jsonb_build_object('k', g)"};

  private static String column(int i) {
    return "c%03d".formatted(i);
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void everyColumnIsTrackedThroughChangesAndADelete() {
    String db = cloneDatabase("template1");
    List<String> definitions = new ArrayList<>();
    List<String> values = new ArrayList<>();
    List<String> tracked = new ArrayList<>();
    for (int i = 0; i < COLUMNS; i++) {
      definitions.add(column(i) + " " + TYPES[i % TYPES.length]);
      values.add(VALUES[i % VALUES.length]);
      tracked.add(column(i));
    }
    executeIn(db,
        "CREATE TABLE wide (id int PRIMARY KEY, changed_at timestamptz NOT NULL, " + String.join(", ", definitions) + ")",
        "INSERT INTO wide SELECT g, timestamptz '2026-01-01', " + String.join(", ", values)
            + " FROM generate_series(1, 200) g",
        "CREATE TABLE uses (id int PRIMARY KEY, wide_id int NOT NULL, at timestamptz NOT NULL, changed_at timestamptz NOT NULL)",
        "INSERT INTO uses SELECT g, g % 200 + 1, timestamptz '2026-03-01', timestamptz '2026-01-01'"
            + " FROM generate_series(1, 400) g");
    LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseString("""
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres }
          tables.wide { primary-key = [id], mode = incremental, cursor = changed_at }
          tables.uses { primary-key = [id], mode = incremental, cursor = changed_at }
          gold.dimensions.wide { source = wide, natural-key = [id], tracked = [%s] }
          gold.facts.fact_uses {
            grain = [id]
            query = "SELECT id, wide_id, at FROM silver.uses"
            dimensions = [ { dimension = wide, key = [wide_id], as-of = at } ]
            touched-by = [ { table = uses, column = id } ]
          }
        }""".formatted(lakehouseRoot.resolve("wide"), urlOf(db), String.join(", ", tracked)))).spec();
    succeeded(runAll(spec));

    executeIn(db,
        "UPDATE wide SET c001 = 'changed', changed_at = '2026-02-01 00:00+00' WHERE id = 1",
        "UPDATE wide SET c239 = '{\"k\": 0}', c004 = NOT c004, changed_at = '2026-02-01 00:00+00' WHERE id = 2",
        "UPDATE wide SET c003 = NULL, changed_at = '2026-04-01 00:00+00' WHERE id = 3",
        "DELETE FROM wide WHERE id = 4",
        "DELETE FROM uses WHERE wide_id = 4");
    succeeded(runAll(spec));

    String dimension = spec.paths().gold("dim_wide");
    assertEquals(List.of(List.of(1, "t1", true, false), List.of(1, "changed", false, true),
            List.of(2, "t2", true, false), List.of(2, "t2", false, true), List.of(3, "t3", true, false),
            List.of(3, "t3", false, true), List.of(4, "t4", true, false), List.of(4, "t4", false, false)),
        sql("SELECT id, c001, valid_to < TIMESTAMP '9999-12-31', is_current FROM delta.`%s`"
            + " WHERE id <= 4 ORDER BY id, valid_from", dimension));
    assertEquals(List.of(List.of(199L, 200L)),
        sql("SELECT count(DISTINCT id), count(*) FROM delta.`%s` WHERE is_current", dimension));
    // Uses at 2026-03-01 see ids 1 and 2 as changed on 2026-02-01, id 3 as before its change.
    assertEquals(List.of(List.of(1, "changed", "{\"k\": 1}", false, true), List.of(2, "t2", "{\"k\": 0}", false, true),
            List.of(3, "t3", "{\"k\": 3}", false, true)),
        sql("SELECT d.id, d.c001, d.c239, d.c004, d.c003 IS NOT NULL FROM delta.`%s` f JOIN delta.`%s` d"
            + " ON d.wide_sk = f.wide_sk WHERE f.id IN (200, 1, 2) ORDER BY d.id",
            spec.paths().gold("fact_uses"), dimension));
    assertEquals(List.of(), Scd2Invariants.check(spark, dimension, Scd2Spec.of(spec.gold().dimensions().get("wide"))));
  }
}
