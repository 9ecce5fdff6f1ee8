package dev.lakehouse.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.lakehouse.control.Commits;
import dev.lakehouse.gold.Scd2Invariants;
import dev.lakehouse.gold.Scd2Spec;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.source.Discovery;
import dev.lakehouse.source.SourceCatalog;
import dev.lakehouse.spec.DimensionSpec;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.TableSpec;
import dev.lakehouse.testing.LakehouseTestBase;
import dev.lakehouse.testing.PgText;
import io.delta.tables.DeltaTable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The second example, an electricity metering network that looks nothing like ACME (two schemas,
 * composite and character keys, a partitioned fact table, arrays, enums, domains, uuid, json,
 * money, intervals, four cursor types, a keyless view), configured by nothing but what
 * {@code discover} writes plus its gold in configuration: after the first load, after a day of
 * inserts, updates and deletes, and after a re-run with no change, silver equals the source row
 * for row, the fact equals its query asked of PostgreSQL, the mart equals its question, and the
 * dimensions keep the SCD2 invariants. The re-run writes nothing.
 */
class MeteringExampleTest extends LakehouseTestBase {

  private static final String EXAMPLE = "/examples/metering/";
  private static String template;

  @BeforeAll
  static void loadTheExample() throws Exception {
    try (Connection c = source(); Statement s = c.createStatement()) {
      s.execute(resource("schema.sql"));
      s.execute(resource("seed.sql"));
    }
    template = database;
  }

  static String resource(String name) throws IOException {
    try (InputStream in = MeteringExampleTest.class.getResourceAsStream(EXAMPLE + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** discover's configuration of the database, plus the example's gold, rooted at {@code root}. */
  private static LakehouseSpec discovered(String db, Path root) throws Exception {
    String discovered;
    try (Connection c = java.sql.DriverManager.getConnection(urlOf(db), "postgres", "")) {
      discovered = Discovery.configuration(SourceCatalog.read(c, List.of("network", "field")));
    }
    Config config = ConfigFactory.parseMap(Map.of(
            "lakehouse.root", root.toString(),
            "lakehouse.source.url", urlOf(db),
            "lakehouse.source.user", "postgres",
            "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"", "2"))
        .withFallback(ConfigFactory.parseString(discovered))
        .withFallback(ConfigFactory.parseString(resource("gold.conf")));
    return LakehouseConfig.of(config).spec();
  }

  @Test
  void discoverThenRunThenADayThenNothingNew() throws Exception {
    String db = cloneDatabase(template);
    Path root = lakehouseRoot.resolve("metering");
    LakehouseSpec spec = discovered(db, root);
    assertEquals(10, spec.tables().size(), spec.tables().stream().map(TableSpec::name).toList().toString());

    succeeded(runAll(spec));
    assertLakehouseEqualsTheSource(spec, db, "first load");
    assertNoDeletionVectorsWhileTablesAreSmall(spec);

    runStatements(db, resource("day.sql"));
    succeeded(runAll(spec));
    assertLakehouseEqualsTheSource(spec, db, "after a day");

    Map<String, Long> before = versions(spec);
    RunResult quiet = succeeded(runAll(spec));
    assertEquals(before, versions(spec), "a run with nothing new writes nothing to silver or gold");
    assertTrue(quiet.of(Stage.BRONZE).stream().allMatch(r -> r.rowsWritten() == 0), quiet.tables().toString());
  }

  private static void assertLakehouseEqualsTheSource(LakehouseSpec spec, String db, String when) throws Exception {
    for (TableSpec table : spec.tables()) {
      List<String> expected = PgText.sourceRows(urlOf(db), table);
      List<String> actual = PgText.silverRows(spark, spec.paths().silver(table.name()), table, urlOf(db));
      PgText.assertSameLines(expected, actual, "silver." + table.name() + " " + when);
    }
    // The fact, its dimension keys turned back into natural keys, against its query asked of PostgreSQL.
    List<String> fact = rows(spark.sql("SELECT f.meter_id, s.substation_code, f.reading_date, f.channel, f.kwh,"
        + " f.net_kwh, f.origin, f.read_at FROM delta.`" + spec.paths().gold("fact_meter_readings") + "` f"
        + " JOIN delta.`" + spec.paths().gold("dim_substation") + "` s ON s.substation_sk = f.substation_sk"
        + " JOIN delta.`" + spec.paths().gold("dim_meter") + "` m ON m.meter_sk = f.meter_sk AND m.meter_id = f.meter_id"
        + " JOIN delta.`" + spec.paths().gold("dim_date") + "` d ON d.date_key = f.reading_date_key AND d.date = f.reading_date")
        .collectAsList());
    try {
      PgText.assertSameLines(sourceRows(db, resource("expected-fact.sql")), fact, "fact_meter_readings " + when);
    } catch (AssertionError e) {
      // What the fact and the dimension hold for the first meter that differs, to see why.
      String meter = e.getMessage().replaceAll("(?s).*missing \\[([0-9a-f-]{36}).*", "$1");
      System.out.println("DIAGNOSIS fact " + sql("SELECT meter_sk, substation_sk, count(*) FROM delta.`%s` WHERE meter_id = '%s'"
          + " GROUP BY 1, 2", spec.paths().gold("fact_meter_readings"), meter));
      System.out.println("DIAGNOSIS dim " + sql("SELECT meter_sk, status, tariff_code, valid_from, valid_to, is_deleted,"
          + " is_inferred FROM delta.`%s` WHERE meter_id = '%s' ORDER BY valid_from", spec.paths().gold("dim_meter"), meter));
      System.out.println("DIAGNOSIS silver readings " + sql("SELECT _is_deleted, _batch_id, count(*) FROM delta.`%s`"
          + " WHERE meter_id = '%s' GROUP BY 1, 2", spec.paths().silver("meter_readings"), meter));
      System.out.println("DIAGNOSIS silver history " + sql("SELECT version, operation, operationMetrics FROM"
          + " (DESCRIBE HISTORY delta.`%s`) ORDER BY version", spec.paths().silver("meter_readings")));
      System.out.println("DIAGNOSIS fact history " + sql("SELECT version, operation, operationMetrics, userMetadata FROM"
          + " (DESCRIBE HISTORY delta.`%s`) ORDER BY version", spec.paths().gold("fact_meter_readings")));
      System.out.println("DIAGNOSIS silver " + sql("SELECT status, updated_at, _updated_at, _is_deleted FROM delta.`%s`"
          + " WHERE meter_id = '%s'", spec.paths().silver("meters"), meter));
      throw e;
    }
    PgText.assertSameLines(sourceRows(db, resource("expected-mart.sql")),
        rows(spark.read().format("delta").load(spec.paths().gold("mart_daily_net_kwh_by_region")).collectAsList()),
        "mart " + when);
    assertEquals(List.of(), rows(spark.sql(String.format("(SELECT region, sum(readings), sum(net_kwh) FROM delta.`%s`"
        + " GROUP BY region) EXCEPT ALL (SELECT * FROM delta.`%s`)", spec.paths().gold("mart_daily_net_kwh_by_region"),
        spec.paths().gold("mart_net_kwh_by_region"))).collectAsList()), "the mart over a mart " + when);
    assertEquals(count("SELECT count(DISTINCT region) FROM delta.`%s`", spec.paths().gold("mart_daily_net_kwh_by_region")),
        count("SELECT count(*) FROM delta.`%s`", spec.paths().gold("mart_net_kwh_by_region")), "the mart over a mart " + when);
    for (DimensionSpec dimension : spec.gold().dimensions().values()) {
      assertEquals(List.of(), Scd2Invariants.check(spark, spec.paths().gold(dimension.table()), Scd2Spec.of(dimension)),
          dimension.table() + " " + when);
    }
    assertEquals(0L, count("SELECT count(*) FROM delta.`%s` f JOIN delta.`%s` m ON m.meter_sk = f.meter_sk"
        + " WHERE m.is_deleted", spec.paths().gold("fact_meter_readings"), spec.paths().gold("dim_meter")),
        "no fact points at a tombstone");
  }

  /**
   * Silver, the SCD2 dimensions and the fact are merged into, and all of them are far below the
   * size at which a merged table gets deletion vectors: they say false; nothing else sets it.
   */
  private static void assertNoDeletionVectorsWhileTablesAreSmall(LakehouseSpec spec) throws IOException {
    Map<String, String> expected = new TreeMap<>();
    for (TableSpec table : spec.tables()) {
      expected.put(spec.paths().silver(table.name()), "false");
      expected.put(spec.paths().bronze(table.name()), null);
    }
    for (String gold : List.of("dim_meter", "dim_substation", "fact_meter_readings")) {
      expected.put(spec.paths().gold(gold), "false");
    }
    for (String gold : List.of("dim_date", "mart_daily_net_kwh_by_region", "mart_net_kwh_by_region")) {
      expected.put(spec.paths().gold(gold), null);
    }
    try (Stream<Path> control = Files.list(Path.of(spec.paths().layer(LakehousePaths.CONTROL)))) {
      control.filter(p -> Files.isDirectory(p.resolve("_delta_log")))
          .forEach(p -> expected.put(p.toString(), null));
    }
    assertTrue(expected.size() > 2 * spec.tables().size() + 5, "control tables found: " + expected.keySet());
    Map<String, String> actual = new TreeMap<>();
    for (String path : expected.keySet()) {
      Map<String, String> properties = DeltaTable.forPath(spark, path).detail()
          .select("properties").first().getJavaMap(0);
      actual.put(path, properties.get("delta.enableDeletionVectors"));
    }
    assertEquals(expected, actual);
  }

  private static Map<String, Long> versions(LakehouseSpec spec) {
    Map<String, Long> versions = new HashMap<>();
    for (TableSpec table : spec.tables()) {
      versions.put("silver." + table.name(), Commits.version(spark, spec.paths().silver(table.name())).orElse(-1));
    }
    for (String gold : List.of("dim_meter", "dim_substation", "dim_date", "fact_meter_readings",
        "mart_daily_net_kwh_by_region", "mart_net_kwh_by_region")) {
      versions.put("gold." + gold, Commits.version(spark, spec.paths().gold(gold)).orElse(-1));
    }
    return versions;
  }

  private static void runStatements(String db, String script) {
    List<String> statements = new ArrayList<>();
    for (String statement : script.replaceAll("(?m)^\\s*--.*$", "").split(";\\s*(\\R|$)")) {
      if (!statement.isBlank()) {
        statements.add(statement);
      }
    }
    executeIn(db, statements.toArray(String[]::new));
  }

  /** A query of the source as sorted lines of PostgreSQL text. */
  private static List<String> sourceRows(String db, String query) {
    return PgText.query(urlOf(db), query);
  }

  /** Spark rows as sorted lines, values as PostgreSQL would print them. */
  private static List<String> rows(List<org.apache.spark.sql.Row> rows) {
    return PgText.lines(rows);
  }

  static void assertNotEmpty(List<String> rows, String what) {
    assertFalse(rows.isEmpty(), what);
  }
}
