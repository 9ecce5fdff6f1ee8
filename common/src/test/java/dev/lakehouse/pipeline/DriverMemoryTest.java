package dev.lakehouse.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.testing.ChildLakehouse;
import dev.lakehouse.testing.EngineTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * No stage brings data to the driver in proportion to a table's size: the whole pipeline (bronze,
 * silver, reconcile, an SCD2 dimension, a configured fact with an as-of key and a date, a mart)
 * runs in a child JVM whose {@code spark.driver.maxResultSize} is 1 MB (Spark's least), on a
 * source whose fact table alone is about twice that and whose silver table is four times that;
 * then again after updates and deletes. A control child that does collect the table fails on the
 * same limit, so the limit is really in force. The first load's MERGE sources are few rows but
 * more bytes than half the limit, so a broadcast judged by rows alone would fail here too.
 */
class DriverMemoryTest extends EngineTestBase {

  private static final int EVENTS = 32_000;
  private static final int SITES = 4_000;

  @Test
  void thePipelineRunsWithAOneMegabyteDriverResultLimit() throws Exception {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE SCHEMA mem",
        "CREATE TABLE mem.sites (site_id int PRIMARY KEY, name text NOT NULL, region text NOT NULL,"
            + " updated_at timestamptz NOT NULL)",
        "INSERT INTO mem.sites SELECT i, 'site ' || md5(i::text), 'r' || (i % 7), now() - interval '2 days'"
            + " FROM generate_series(1, " + SITES + ") i",
        "CREATE TABLE mem.events (event_id bigint PRIMARY KEY, site_id int NOT NULL, occurred_at timestamptz NOT NULL,"
            + " payload text NOT NULL, amount numeric(12,2) NOT NULL, updated_at timestamptz NOT NULL)",
        "INSERT INTO mem.events SELECT i, 1 + (i % " + SITES + "), timestamptz '2026-01-01' + (i % 300) * interval '1 day'"
            + " + (i % 86400) * interval '1 second', md5(i::text) || md5((i * 7)::text), (i % 1000) / 10.0,"
            + " now() - interval '1 day' FROM generate_series(1, " + EVENTS + ") i");
    Path root = lakehouseRoot.resolve("driver-memory");
    Path spec = lakehouseRoot.resolve("specs").resolve("driver-memory.conf");
    Files.createDirectories(spec.getParent());
    Files.writeString(spec, """
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres, password = "", schema = mem }
          spark {
            master = "local[2]"
            conf {
              "spark.driver.maxResultSize" = "1m"
              "spark.sql.shuffle.partitions" = "4"
              "spark.ui.enabled" = "false"
              "spark.driver.host" = "127.0.0.1"
              "spark.driver.bindAddress" = "127.0.0.1"
            }
          }
          tables {
            sites { primary-key = [site_id], mode = full, cursor = updated_at }
            events { primary-key = [event_id], mode = incremental, cursor = updated_at, lookback = 1m }
          }
          gold {
            dimensions.site { source = sites, natural-key = [site_id], tracked = [name, region] }
            facts.fact_events {
              grain = [event_id]
              query = \"""SELECT e.event_id, e.site_id, CAST(e.occurred_at AS DATE) AS occurred_on, e.amount,
                                e.occurred_at FROM silver.events e\"""
              dimensions = [ { dimension = site, key = [site_id], as-of = occurred_at } ]
              dates = [occurred_on]
              touched-by = [ { table = events, column = event_id } ]
            }
            marts.mart_amount_by_region = \"""SELECT s.region, count(*) AS events, sum(f.amount) AS amount
                FROM gold.fact_events f JOIN gold.dim_site s ON s.site_sk = f.site_sk GROUP BY s.region\"""
          }
        }
        """.formatted(root, urlOf(db)));
    LakehousePaths paths = new LakehousePaths(root.toString());

    ChildLakehouse.Child first = child(spec, "first-run", "run");
    assertEquals(0, first.await(Duration.ofMinutes(8)), "the first run\n" + first.tail(60));
    assertEquals(EVENTS, count("SELECT count(*) FROM delta.`%s`", paths.silver("events")));
    assertEquals(EVENTS, count("SELECT count(*) FROM delta.`%s`", paths.gold("fact_events")));
    assertEquals(SITES, count("SELECT count(*) FROM delta.`%s` WHERE site_sk <> -1", paths.gold("dim_site")),
        "one version per site, besides the unknown member");

    executeIn(db,
        "UPDATE mem.events SET amount = amount + 1, updated_at = now() WHERE event_id % 20 = 0",
        "DELETE FROM mem.events WHERE event_id % 80 = 1",
        "UPDATE mem.sites SET region = 'moved', updated_at = now() WHERE site_id % 50 = 0");
    long live = EVENTS - EVENTS / 80;
    ChildLakehouse.Child second = child(spec, "second-run", "run");
    assertEquals(0, second.await(Duration.ofMinutes(8)), "the run after changes\n" + second.tail(60));
    assertEquals(live, count("SELECT count(*) FROM delta.`%s` WHERE NOT _is_deleted", paths.silver("events")));
    assertEquals(live, count("SELECT count(*) FROM delta.`%s`", paths.gold("fact_events")));
    assertEquals(SITES + SITES / 50, count("SELECT count(*) FROM delta.`%s` WHERE site_sk <> -1", paths.gold("dim_site")),
        "a second version of every site that moved");
    assertEquals(0L, count("SELECT count(*) FROM delta.`%s` f JOIN delta.`%s` s USING (event_id)"
        + " WHERE f.amount <> s.amount", paths.gold("fact_events"), paths.silver("events")),
        "updated amounts reached the fact");

    ChildLakehouse.Child control = child(spec, "collect", "collect", paths.silver("events"));
    assertNotEquals(0, control.await(Duration.ofMinutes(4)), "collecting the table is refused\n" + control.tail(30));
    assertTrue(control.output().contains("maxResultSize"), control.tail(30));
  }

  private static ChildLakehouse.Child child(Path spec, String name, String... args) throws Exception {
    Path logs = lakehouseRoot.resolve("child-logs");
    Files.createDirectories(logs);
    return ChildLakehouse.start(spec, logs.resolve(name + ".log"), lakehouseRoot.resolve("child-tmp").resolve(name),
        Optional.empty(), args);
  }
}
