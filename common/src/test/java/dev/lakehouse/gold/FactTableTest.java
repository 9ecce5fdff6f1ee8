package dev.lakehouse.gold;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.silver.SilverVersions;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.LakehouseTestBase;
import dev.lakehouse.testing.PgText;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A configured fact maintained incrementally: a change of one source row recomputes the facts it
 * touches (by a column that is not the whole grain) and leaves the others as they are.
 */
class FactTableTest extends LakehouseTestBase {

  @Test
  void aChangeRecomputesOnlyTheFactsItTouches() {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE TABLE readings (meter text, day date, channel smallint, kwh numeric(8,2),"
            + " changed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (meter, day, channel))",
        "INSERT INTO readings (meter, day, channel, kwh) SELECT 'm' || m, date '2025-01-01' + d, c, m + d + c"
            + " FROM generate_series(1, 5) m, generate_series(0, 9) d, generate_series(1, 2) c");
    LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseString("""
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres }
          spark.conf { "spark.sql.shuffle.partitions" = "2" }
          tables.readings { primary-key = [meter, day, channel], mode = incremental, cursor = changed_at }
          gold.facts.fact_readings {
            grain = [meter, day, channel]
            query = "SELECT meter, day, channel, kwh, changed_at FROM silver.readings"
            touched-by = [ { table = readings, column = meter } ]
          }
        }""".formatted(lakehouseRoot.resolve("facts"), urlOf(db)))).spec();
    succeeded(runAll(spec));
    String expected = "SELECT meter, day, channel, kwh, changed_at FROM readings";
    String fact = spec.paths().gold("fact_readings");
    PgText.assertSameLines(PgText.query(urlOf(db), expected),
        PgText.lines(spark.read().format("delta").load(fact).collectAsList()), "first run");

    executeIn(db, "UPDATE readings SET kwh = 99, changed_at = now() WHERE meter = 'm3' AND day = '2025-01-05' AND channel = 1");
    var result = succeeded(runAll(spec));
    PgText.assertSameLines(PgText.query(urlOf(db), expected),
        PgText.lines(spark.read().format("delta").load(fact).collectAsList()), "after a change");
    assertEquals(List.of(0L, 1L, 0L), List.of(result.of(dev.lakehouse.pipeline.Stage.GOLD).get(0).count("inserted"),
        result.of(dev.lakehouse.pipeline.Stage.GOLD).get(0).count("updated"),
        result.of(dev.lakehouse.pipeline.Stage.GOLD).get(0).count("deleted")), "one fact updated, no other touched");
  }

  @Test
  void moreChangedValuesThanAListHoldsAreMatchedByJoin() {
    long values = FactTable.IN_LIST_ROWS + 50;
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE TABLE stations (id int PRIMARY KEY, region int NOT NULL, level int NOT NULL,"
            + " changed_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO stations (id, region, level) SELECT i, i, 0 FROM generate_series(1, " + values + ") i");
    LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseString("""
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres }
          spark.conf { "spark.sql.shuffle.partitions" = "2" }
          tables.stations { primary-key = [id], mode = incremental, cursor = changed_at }
          gold.facts.fact_levels {
            grain = [id]
            query = "SELECT id, region, level FROM silver.stations"
            touched-by = [ { table = stations, column = region } ]
          }
        }""".formatted(lakehouseRoot.resolve("many-values"), urlOf(db)))).spec();
    succeeded(runAll(spec));
    executeIn(db, "UPDATE stations SET level = 1, changed_at = now()");
    var result = succeeded(runAll(spec));
    PgText.assertSameLines(PgText.query(urlOf(db), "SELECT id, region, level FROM stations"),
        PgText.lines(spark.read().format("delta").load(spec.paths().gold("fact_levels")).collectAsList()),
        "every fact recomputed");
    assertEquals(values, result.of(dev.lakehouse.pipeline.Stage.GOLD).get(0).count("updated"));
  }

  /**
   * Changes that alter no gold row still move gold's progress, once: otherwise every later run
   * would look at the same (growing) window of changes again until some data changed.
   */
  @Test
  void changesThatAlterNoGoldRowAreRecordedOnce() {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE TABLE sites (id int PRIMARY KEY, name text NOT NULL, notes text,"
            + " changed_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE visits (id int PRIMARY KEY, site_id int NOT NULL, at timestamptz NOT NULL, remark text,"
            + " changed_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO sites (id, name) SELECT i, 'site ' || i FROM generate_series(1, 3) i",
        "INSERT INTO visits (id, site_id, at) SELECT i, 1 + i % 3, timestamptz '2025-01-01' + i * interval '1 hour'"
            + " FROM generate_series(1, 12) i");
    LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseString("""
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres }
          spark.conf { "spark.sql.shuffle.partitions" = "2" }
          tables.sites { primary-key = [id], mode = incremental, cursor = changed_at }
          tables.visits { primary-key = [id], mode = incremental, cursor = changed_at }
          gold.dimensions.site { source = sites, natural-key = [id], tracked = [name] }
          gold.facts.fact_visits {
            grain = [id]
            query = "SELECT id, site_id, at FROM silver.visits"
            dimensions = [ { dimension = site, key = [site_id], as-of = at } ]
            touched-by = [ { table = visits, column = id } ]
          }
        }""".formatted(lakehouseRoot.resolve("progress"), urlOf(db)))).spec();
    succeeded(runAll(spec));
    String dimension = spec.paths().gold(spec.gold().dimensions().get("site").table());
    String fact = spec.paths().gold("fact_visits");
    SilverVersions silver = new SilverVersions(spark, spec.paths(), java.time.ZoneOffset.UTC);

    // A column the dimension does not track, and one the fact's query does not read.
    executeIn(db, "UPDATE sites SET notes = 'moved', changed_at = now() WHERE id = 2",
        "UPDATE visits SET remark = 'late', changed_at = now() WHERE id = 5");
    var result = succeeded(runAll(spec));
    result.of(dev.lakehouse.pipeline.Stage.GOLD).forEach(table -> assertEquals(List.of(0L, 0L, 0L, "nothing changed"),
        java.util.Arrays.asList(table.count("inserted"), table.count("updated"), table.count("deleted"), table.detail()),
        table.table()));
    assertEquals(GoldInputs.encode(silver.position("sites")), positions(dimension).get(GoldInputs.silverKey("sites")),
        "the dimension records the silver version it has read");
    assertEquals(GoldInputs.encode(silver.position("visits")), positions(fact).get(GoldInputs.silverKey("visits")),
        "the fact records the silver version it has read");
    assertEquals(Long.toString(dev.lakehouse.control.Commits.version(spark, dimension).getAsLong()),
        positions(fact).get(GoldInputs.goldKey(spec.gold().dimensions().get("site").table())),
        "the fact records the dimension version it has resolved against");
    PgText.assertSameLines(PgText.query(urlOf(db), "SELECT id, at FROM visits"),
        PgText.lines(spark.read().format("delta").load(fact).select("id", "at").collectAsList()),
        "the facts are as before");

    long dimensionVersion = dev.lakehouse.control.Commits.version(spark, dimension).getAsLong();
    long factVersion = dev.lakehouse.control.Commits.version(spark, fact).getAsLong();
    succeeded(runAll(spec)).of(dev.lakehouse.pipeline.Stage.GOLD).forEach(table ->
        assertEquals("up to date", table.detail(), table.table()));
    assertEquals(dimensionVersion, dev.lakehouse.control.Commits.version(spark, dimension).getAsLong(),
        "nothing new: the dimension is not written");
    assertEquals(factVersion, dev.lakehouse.control.Commits.version(spark, fact).getAsLong(),
        "nothing new: the fact is not written");
  }

  /**
   * A touched-by column the fact table keeps only as a surrogate key (a dimension's key) or a date
   * key: a change of that table still finds the stored facts. Here an opening goes, and with it,
   * through the query's inner join, the booking's fact.
   */
  @Test
  void aChangeFindsTheStoredFactsByTheSurrogateOrDateKeyItsColumnBecame() {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE TABLE sites (id int PRIMARY KEY, name text NOT NULL, changed_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE openings (site_id int, day date, changed_at timestamptz NOT NULL DEFAULT now(),"
            + " PRIMARY KEY (site_id, day))",
        "CREATE TABLE bookings (id int PRIMARY KEY, site_id int NOT NULL, day date NOT NULL,"
            + " booked_at timestamptz NOT NULL, changed_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO sites (id, name) VALUES (1, 'north'), (2, 'south')",
        "INSERT INTO openings (site_id, day) VALUES (1, '2025-03-01'), (1, '2025-03-02'), (2, '2025-03-01')",
        "INSERT INTO bookings (id, site_id, day, booked_at) VALUES (10, 1, '2025-03-01', '2025-02-01 00:00+00'),"
            + " (11, 1, '2025-03-02', '2025-02-01 00:00+00'), (12, 2, '2025-03-01', '2025-02-01 00:00+00')");
    String fact = """
          grain = [id]
          query = \"\"\"SELECT b.id, b.site_id, b.day, b.booked_at FROM silver.bookings b
                     JOIN silver.openings o ON o.site_id = b.site_id AND o.day = b.day\"\"\"
          dimensions = [ { dimension = site, key = [site_id], as-of = booked_at } ]
          dates = [day]
          touched-by = [ { table = bookings, column = id }, { table = openings, column = %s } ]""";
    LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseString("""
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres }
          spark.conf { "spark.sql.shuffle.partitions" = "2" }
          tables.sites { primary-key = [id], mode = incremental, cursor = changed_at }
          tables.openings { primary-key = [site_id, day], mode = full }
          tables.bookings { primary-key = [id], mode = incremental, cursor = changed_at }
          gold.dimensions.site { source = sites, natural-key = [id], tracked = [name] }
          gold.facts.fact_by_site { %s }
          gold.facts.fact_by_day { %s }
        }""".formatted(lakehouseRoot.resolve("stored-keys"), urlOf(db), fact.formatted("site_id"),
        fact.formatted("day")))).spec();
    succeeded(runAll(spec));
    executeIn(db, "DELETE FROM openings WHERE site_id = 1 AND day = '2025-03-02'");
    succeeded(runAll(spec));
    for (String name : List.of("fact_by_site", "fact_by_day")) {
      assertEquals(List.of(List.of(10), List.of(12)),
          sql("SELECT id FROM delta.`%s` ORDER BY id", spec.paths().gold(name)), name + ": booking 11's fact is gone");
    }
  }

  /** One key resolved as of two times (a visit's site when it was booked and when it took place): two keys. */
  @Test
  void oneKeyAsOfTwoTimesMakesASurrogateKeyForEach() {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE TABLE sites (id int PRIMARY KEY, name text NOT NULL, changed_at timestamptz NOT NULL)",
        "CREATE TABLE visits (id int PRIMARY KEY, site_id int NOT NULL, booked_at timestamptz NOT NULL,"
            + " at timestamptz NOT NULL, changed_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO sites VALUES (1, 'old name', '2025-01-01 00:00+00')");
    LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseString("""
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres }
          spark.conf { "spark.sql.shuffle.partitions" = "2" }
          tables.sites { primary-key = [id], mode = incremental, cursor = changed_at, lookback = 1000d }
          tables.visits { primary-key = [id], mode = incremental, cursor = changed_at }
          gold.dimensions.site { source = sites, natural-key = [id], tracked = [name] }
          gold.facts.fact_visits {
            grain = [id]
            query = "SELECT id, site_id, booked_at, at FROM silver.visits"
            dimensions = [
              { dimension = site, key = [site_id], as-of = booked_at, as = booked_site_sk }
              { dimension = site, key = [site_id], as-of = at }
            ]
            touched-by = [ { table = visits, column = id } ]
          }
        }""".formatted(lakehouseRoot.resolve("two-times"), urlOf(db)))).spec();
    succeeded(runAll(spec));
    executeIn(db, "UPDATE sites SET name = 'new name', changed_at = '2025-02-01 00:00+00' WHERE id = 1",
        "INSERT INTO visits (id, site_id, booked_at, at) VALUES (1, 1, '2025-01-15 00:00+00', '2025-02-15 00:00+00')");
    succeeded(runAll(spec));
    String dimension = spec.paths().gold(spec.gold().dimensions().get("site").table());
    assertEquals(List.of(List.of(1, "old name", "new name")), sql("SELECT f.id, booked.name, visited.name"
        + " FROM delta.`%s` f JOIN delta.`%s` booked ON booked.site_sk = f.booked_site_sk"
        + " JOIN delta.`%s` visited ON visited.site_sk = f.site_sk", spec.paths().gold("fact_visits"), dimension, dimension));
  }

  /**
   * A fact time without a zone is a wall-clock time in the source's zone, as a {@code timestamp}
   * cursor is: read in UTC instead, a visit at 11:00 in New York (15:00 UTC) would take the site
   * as it was before its 14:00 UTC rename.
   */
  @Test
  void aFactTimeWithoutAZoneIsReadInTheSourcesZone() {
    String db = cloneDatabase("template1");
    executeIn(db,
        "CREATE TABLE sites (id int PRIMARY KEY, name text NOT NULL, changed_at timestamptz NOT NULL)",
        "CREATE TABLE visits (id int PRIMARY KEY, site_id int NOT NULL, at timestamp NOT NULL,"
            + " changed_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO sites VALUES (1, 'old name', '2025-06-01 12:00+00')");
    String config = """
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres, time-zone = "America/New_York" }
          spark.conf { "spark.sql.shuffle.partitions" = "2" }
          tables.sites { primary-key = [id], mode = incremental, cursor = changed_at, lookback = 1000d }
          tables.visits { primary-key = [id], mode = incremental, cursor = changed_at }
          gold.dimensions.site { source = sites, natural-key = [id], tracked = [name] }
          gold.facts.fact_visits {
            grain = [id]
            query = "SELECT id, site_id, at FROM silver.visits"
            dimensions = [ { dimension = site, key = [site_id], as-of = %s } ]
            touched-by = [ { table = visits, column = id } ]
          }
        }""";
    LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseString(
        config.formatted(lakehouseRoot.resolve("wall-clock"), urlOf(db), "at"))).spec();
    succeeded(runAll(spec));
    executeIn(db, "UPDATE sites SET name = 'new name', changed_at = '2025-06-01 14:00+00' WHERE id = 1",
        "INSERT INTO visits (id, site_id, at) VALUES (1, 1, '2025-06-01 11:00'), (2, 1, '2025-06-01 09:30')");
    succeeded(runAll(spec));
    String dimension = spec.paths().gold(spec.gold().dimensions().get("site").table());
    assertEquals(List.of(List.of(1, "new name"), List.of(2, "old name")), sql("SELECT f.id, d.name FROM delta.`%s` f"
        + " JOIN delta.`%s` d ON d.site_sk = f.site_sk ORDER BY f.id", spec.paths().gold("fact_visits"), dimension));

    // An as-of column that holds no time is the configuration's mistake: named, and nothing runs.
    LakehouseSpec byNumber = LakehouseConfig.of(ConfigFactory.parseString(
        config.formatted(lakehouseRoot.resolve("wall-clock-number"), urlOf(db), "site_id"))).spec();
    var problem = org.junit.jupiter.api.Assertions.assertThrows(dev.lakehouse.spec.SpecException.class,
        () -> runAll(byNumber));
    assertEquals(List.of("lakehouse.gold.facts.fact_visits.dimensions(site).as-of: site_id is int, not a time"
        + " (timestamp or date)"), problem.problems());
    assertEquals(false, java.nio.file.Files.exists(lakehouseRoot.resolve("wall-clock-number").resolve("bronze")));
  }

  private static java.util.Map<String, String> positions(String path) {
    return dev.lakehouse.control.Commits.last(spark, path, GoldInputs.LAYER).orElseThrow().positions();
  }
}
