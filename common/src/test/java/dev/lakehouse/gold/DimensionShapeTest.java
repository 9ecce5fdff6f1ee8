package dev.lakehouse.gold;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.LakehouseTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A dimension's attributes are fixed by the history it holds: changing tracked or overwrite after
 * it was built stops it (and what depends on it) with one line that says how to rebuild, rather
 * than a MERGE error or spurious versions; moved aside, it is rebuilt from silver's versions.
 */
class DimensionShapeTest extends LakehouseTestBase {

  private static final String CONFIG = """
      lakehouse {
        root = "%s"
        source { url = "%s", user = postgres }
        spark.conf { "spark.sql.shuffle.partitions" = "2" }
        tables.sites { primary-key = [id], mode = incremental, cursor = changed_at }
        tables.visits { primary-key = [id], mode = incremental, cursor = changed_at }
        gold.dimensions.site { source = sites, natural-key = [id], tracked = %s, overwrite = %s }
        gold.facts.fact_visits {
          grain = [id]
          query = "SELECT id, site_id, at FROM silver.visits"
          dimensions = [ { dimension = site, key = [site_id], as-of = at } ]
          touched-by = [ { table = visits, column = id } ]
        }
      }""";

  private LakehouseSpec spec(String db, String tracked, String overwrite) {
    return LakehouseConfig.of(ConfigFactory.parseString(
        CONFIG.formatted(lakehouseRoot.resolve("shape"), urlOf(db), tracked, overwrite))).spec();
  }

  private static TableRun gold(RunResult result, String table) {
    return result.of(Stage.GOLD).stream().filter(t -> t.table().equals(table)).findFirst().orElseThrow();
  }

  @Test
  void changedAttributesStopTheDimensionUntilItIsRebuiltFromSilver() throws Exception {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE TABLE sites (id int PRIMARY KEY, name text NOT NULL, region text, changed_at timestamptz NOT NULL)",
        "CREATE TABLE visits (id int PRIMARY KEY, site_id int NOT NULL, at timestamptz NOT NULL,"
            + " changed_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO sites VALUES (1, 'north', 'a', '2025-01-01 00:00+00'), (2, 'south', 'b', '2025-01-01 00:00+00')",
        "INSERT INTO visits (id, site_id, at) VALUES (1, 1, '2025-03-01 00:00+00')");
    LakehouseSpec built = spec(db, "[name]", "[]");
    succeeded(runAll(built));
    executeIn(db, "UPDATE sites SET region = 'c', changed_at = '2025-02-01 00:00+00' WHERE id = 1");
    succeeded(runAll(built));
    String dimension = built.paths().gold("dim_site");
    String fact = built.paths().gold("fact_visits");

    // An attribute added: the dimension, and the fact that resolves against it, stop.
    RunResult added = runAll(spec(db, "[name, region]", "[]"));
    String line = gold(added, "dim_site").error();
    assertEquals("lakehouse.gold.dimensions.site: tracked or overwrite changed since gold.dim_site was built (it has"
        + " no column region); a dimension's history cannot change its attributes in place. To rebuild it from"
        + " silver's versions, move " + dimension + " and the facts that use it (" + fact + ") aside and run again;"
        + " or restore the configuration it was built with", line);
    assertEquals("skipped: dim_site failed", gold(added, "fact_visits").error());
    // A column moved from overwrite to tracked keeps the columns but not the versions' meaning.
    succeeded(runAll(spec(db, "[name]", "[]")));
    RunResult moved = runAll(spec(db, "[]", "[name]"));
    assertTrue(gold(moved, "dim_site").error().contains("(its versions track [name], the configuration tracks [])"),
        gold(moved, "dim_site").error());

    // Moved aside as the line says: rebuilt from silver's versions, the source's history included.
    LakehouseSpec wider = spec(db, "[name, region]", "[]");
    Path aside = lakehouseRoot.resolve("aside");
    Files.createDirectories(aside);
    Files.move(Path.of(dimension), aside.resolve("dim_site"));
    Files.move(Path.of(fact), aside.resolve("fact_visits"));
    succeeded(runAll(wider));
    assertEquals(List.of(List.of(1, "a", false), List.of(1, "c", true), List.of(2, "b", true)),
        sql("SELECT id, region, is_current FROM delta.`%s` WHERE site_sk <> -1 ORDER BY id, valid_from", dimension));
    assertEquals(List.of(List.of(1, "c")), sql("SELECT f.id, d.region FROM delta.`%s` f JOIN delta.`%s` d"
        + " ON d.site_sk = f.site_sk", fact, dimension));
    assertEquals(List.of(), Scd2Invariants.check(spark, dimension, Scd2Spec.of(wider.gold().dimensions().get("site"))));
  }
}
