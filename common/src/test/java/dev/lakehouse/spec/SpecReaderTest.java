package dev.lakehouse.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.quality.Rule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The configuration read once into a typed specification, every problem reported with its key path. */
class SpecReaderTest {

  private static final Map<String, String> ENV = Map.of("LAKEHOUSE_CONF_DIR", dev.lakehouse.testing.ConfDir.find().toString());

  private static LakehouseSpec read(String hocon) {
    return LakehouseConfig.of(ConfigFactory.parseString(hocon)).spec();
  }

  private static List<String> problems(String hocon) {
    SpecException e = assertThrows(SpecException.class, () -> read(hocon));
    return e.problems();
  }

  @Test
  void referenceConfHoldsEngineDefaultsOnly() throws Exception {
    String reference = new String(getClass().getResourceAsStream("/reference.conf").readAllBytes());
    for (String word : List.of("acme", "operations", "customer", "order", "product")) {
      assertFalse(reference.toLowerCase().contains(word), "reference.conf names " + word);
    }
    LakehouseSpec spec = read("lakehouse.root = /tmp/x");
    assertEquals(List.of(), spec.tables());
    assertTrue(spec.gold().isEmpty(), "a source with bronze and silver only is valid");
    assertTrue(spec.source().schema().isEmpty(), "no schema: the connection's search_path decides");
    assertEquals(1_000_000, spec.spark().codegenMinRows());
  }

  @Test
  void codegenMinRowsIsACountOfRows() {
    assertEquals(0, read("lakehouse.root = /tmp/x\nlakehouse.spark.codegen-min-rows = 0").spark().codegenMinRows());
    List<String> problems = problems("lakehouse.root = /tmp/x\nlakehouse.spark.codegen-min-rows = -5");
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(problems.get(0).startsWith("lakehouse.spark.codegen-min-rows: must be 0 (always compile) or more, not -5"),
        problems.get(0));
  }

  @Test
  void aTableIsReadIntoTypedValuesWithDefaults() {
    LakehouseSpec spec = read("""
        lakehouse.root = /tmp/x
        lakehouse.tables.lines {
          schema = sales, source-table = "OrderLines", primary-key = [order_id, "LineNo"]
          mode = incremental, cursor = changed_at, lookback = 5m, as-text = [notes]
          silver { rename { "LineNo" = line_no }, cast { amount = "decimal(12,2)" }, lowercase = [code] }
          quality = [
            { rule = not_null, columns = [a, b], action = quarantine }
            { rule = relationships, columns = [order_id], to = lines, to-columns = [order_id] }
            { rule = freshness, max-age = 2d, action = fail }
          ]
        }
        lakehouse.tables.codes { primary-key = [], mode = full, cursor = 7 }
        lakehouse.tables.counters { primary-key = [id], mode = incremental, cursor = version, lookback = 100 }""");
    TableSpec lines = spec.table("lines").orElseThrow();
    assertEquals(java.util.Optional.of("sales"), lines.schema());
    assertEquals("OrderLines", lines.sourceTable());
    assertEquals(List.of("order_id", "LineNo"), lines.primaryKey());
    assertEquals(List.of("order_id", "line_no"), lines.silverKey());
    assertEquals(TableSpec.Mode.INCREMENTAL, lines.mode());
    assertEquals(Duration.ofMinutes(5), lines.lookback().time().orElseThrow());
    assertEquals(TableSpec.ExtractMethod.COPY, lines.method(), "extract defaults reach every table");
    assertEquals(10000, lines.fetchSize());
    assertEquals(java.util.Set.of("notes"), lines.asText());
    assertEquals("decimal(12,2)", lines.conform().casts().get("amount"));
    assertEquals(4, lines.quality().size(), "not_null on two columns is two rules");
    assertTrue(lines.quality().get(3) instanceof Rule.Freshness);
    assertEquals(List.of(), lines.parents(), "a self-reference is no parent");
    TableSpec codes = spec.table("codes").orElseThrow();
    assertTrue(codes.keyless());
    assertEquals(TableSpec.Land.CHANGED, codes.land(), "full tables land only changes by default");
    assertEquals(100, spec.table("counters").orElseThrow().lookback().units().orElseThrow());
  }

  @Test
  void everyProblemIsReportedOnceWithItsKeyPath() {
    List<String> problems = problems("""
        lakehouse.root = /tmp/x
        lakehouse.tables.orders { primary-key = [id], mode = incremental, partitons = 3 }
        lakehouse.tables.items { primary-key = [id], mode = sometimes, partitions = many,
          quality = [ { rule = relationships, column = order_id, to = invoices }, { rule = nonsense } ] }
        lakehouse.tables.codes { primary-key = [], mode = incremental, cursor = x }
        lakehouse.tables."../../escaped" { primary-key = [id] }
        lakehouse.tables.ghost { mode = full }
        lakehouse.tables.lines { primary-key = ["Line No", "Part (A)"], mode = incremental, cursor = "Updated At",
          silver.rename { "Part (A)" = part_a, "Updated At" = "updated at" } }
        lakehouse.sorce.url = "jdbc:postgresql://x/y"
        """);
    String all = String.join("\n", problems);
    assertTrue(all.contains("lakehouse.tables.orders.cursor: is required for mode = incremental"), all);
    assertTrue(all.contains("lakehouse.tables.orders.partitons: unknown setting (did you mean partitions?)"), all);
    assertTrue(all.contains("lakehouse.tables.items.mode: must be one of [full, incremental, log], not 'sometimes'"), all);
    assertTrue(all.contains("lakehouse.tables.items.partitions: must be a whole number, not 'many'"), all);
    assertTrue(all.contains("lakehouse.tables.items.quality[1].rule: unknown rule 'nonsense'"), all);
    assertTrue(all.contains("lakehouse.tables.codes.primary-key: is empty, which only a full table can be"), all);
    assertTrue(all.contains("'../../escaped' is not a safe name"), all);
    assertTrue(all.contains("lakehouse.tables.ghost.primary-key: is required"), all);
    assertTrue(all.contains("lakehouse.sorce: unknown setting (did you mean source?)"), all);
    // Source names may be anything; the silver names of key and cursor columns must be storable.
    assertTrue(all.contains("lakehouse.tables.lines.primary-key: column 'Line No' needs a silver name without space"
        + " , ; { } ( ) = . ` tab or newline, not starting with _ (silver.rename { \"Line No\" = new_name })"), all);
    assertFalse(all.contains("Part (A)"), all);
    assertTrue(all.contains("lakehouse.tables.lines.silver.rename: column 'updated at' contains a character silver and gold column names cannot have"), all);
    for (String problem : problems) {
      assertFalse(problem.contains("\n"), problem);
      assertTrue(problem.startsWith("lakehouse."), problem);
    }
  }

  @Test
  void referencesBetweenTablesDimensionsFactsAndMartsAreChecked() {
    List<String> problems = problems("""
        lakehouse.root = /tmp/x
        lakehouse.tables.a { primary-key = [id], quality = [ { rule = relationships, column = b_id, to = b } ] }
        lakehouse.tables.b { primary-key = [id], quality = [ { rule = relationships, column = a_id, to = a } ] }
        lakehouse.gold.dimensions.thing { source = nowhere, natural-key = [id], tracked = [valid_from] }
        lakehouse.gold.facts.fact_x {
          grain = [id]
          query = "SELECT id FROM silver.a JOIN silver.zzz USING (id)"
          dimensions = [ { dimension = other, key = [id], as-of = t } ]
          touched-by = [ { table = a, column = id } ]
        }
        lakehouse.gold.facts.fact_y { grain = [id], query = "SELEKT id FROM", touched-by = [] }
        lakehouse.gold.marts.m = "SELECT * FROM gold.fact_nope"
        lakehouse.gold.marts.n = "SELECT * FROM gold.fact_x JOIN gold.dim_thing USING (id)"
        """);
    String all = String.join("\n", problems);
    assertTrue(all.contains("relationships rules form a cycle: a -> b -> a"), all);
    assertTrue(all.contains("lakehouse.gold.dimensions.thing.source: no table 'nowhere'"), all);
    assertTrue(all.contains("lakehouse.gold.dimensions.thing: column 'valid_from' is reserved"), all);
    assertTrue(all.contains("lakehouse.gold.facts.fact_x.query: reads silver.zzz"), all);
    assertTrue(all.contains("lakehouse.gold.facts.fact_x.dimensions[0].dimension: no dimension 'other'"), all);
    assertTrue(all.contains("lakehouse.gold.facts.fact_y.query: does not parse"), all);
    assertTrue(all.contains("lakehouse.gold.marts.m: reads gold.fact_nope"), all);
    // A fact or dimension with problems of its own is declared all the same: a mart reading it
    // does not repeat those problems as "not declared".
    assertFalse(all.contains("lakehouse.gold.marts.n"), all);
  }

  @Test
  void shippedConfigurationDeclaresTheExampleSourceAndItsGold() {
    LakehouseSpec spec = LakehouseConfig.load(null, Map.of(), ENV).spec();
    assertEquals("local", spec.env());
    assertEquals(List.of("customers", "order_items", "orders", "products"),
        spec.tables().stream().map(TableSpec::name).toList());
    assertEquals(List.of("customer", "product"), List.copyOf(spec.gold().dimensions().keySet()));
    assertEquals(List.of("fact_order_items", "fact_orders"), List.copyOf(spec.gold().facts().keySet()));
    FactSpec items = spec.gold().facts().get("fact_order_items");
    assertEquals(java.util.Set.of("order_items", "orders"), items.inputs());
    assertEquals(List.of("order_item_id", "order_id", "customer_sk", "product_sk", "order_date_key",
        "delivery_date_key", "status", "quantity", "unit_price", "line_amount", "order_time"),
        items.outputColumns(List.of("order_item_id", "order_id", "customer_id", "product_id", "order_date",
            "delivery_date", "status", "quantity", "unit_price", "line_amount", "order_time")));
    assertEquals(4, spec.gold().marts().size());
    assertEquals("local[2]", spec.spark().master());
    assertEquals("UTC", spec.spark().conf().get("spark.sql.session.timeZone"));
  }

  @Test
  void layersOverrideInOrderOverlayThenEnvironmentThenSet() {
    Map<String, String> env = Map.of(
        "LAKEHOUSE_CONF_DIR", ENV.get("LAKEHOUSE_CONF_DIR"),
        "LAKEHOUSE_ROOT", "/tmp/from-env",
        "LAKEHOUSE_SOURCE_URL", "jdbc:postgresql://db.example:5432/acme",
        "LAKEHOUSE_SOURCE_PASSWORD", "s3cret");
    LakehouseSpec fromEnv = LakehouseConfig.load("docker", Map.of(), env).spec();
    assertEquals("/tmp/from-env", fromEnv.root(), "environment beats the overlay");
    assertEquals("jdbc:postgresql://db.example:5432/acme", fromEnv.source().url());
    assertEquals("lakehouse", fromEnv.source().user(), "overlay beats application.conf");

    LakehouseSpec fromSet = LakehouseConfig.load("docker", Map.of(
        "lakehouse.root", "s3a://bucket/x/",
        "lakehouse.tables.orders.partitions", "7",
        "lakehouse.tables.orders.primary-key", "[order_id, order_date]",
        "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"", "3",
        "lakehouse.source.schema", "\"Box Office\""), env).spec();
    assertEquals("s3a://bucket/x", fromSet.root(), "--set beats the environment");
    assertEquals(7, fromSet.table("orders").orElseThrow().partitions());
    assertEquals(List.of("order_id", "order_date"), fromSet.table("orders").orElseThrow().primaryKey());
    assertEquals("3", fromSet.spark().conf().get("spark.sql.shuffle.partitions"));
    assertEquals(Optional.of("Box Office"), fromSet.source().schema(), "a quoted value is a HOCON string, as in a file");
  }

  @Test
  void aSpecificationFileReplacesApplicationConfAndKeepsTheOverlays() throws Exception {
    Path file = Files.createTempFile("shop", ".conf");
    try {
      Files.writeString(file, """
          lakehouse.root = "/data/shop-lake"
          lakehouse.spark.conf { "spark.sql.shuffle.partitions" = "16" }
          lakehouse.source { url = "jdbc:postgresql://shop.example/shop", schema = shop }
          lakehouse.tables.invoices { primary-key = [invoice_no], mode = full }""");
      LakehouseSpec spec = LakehouseConfig.load(null, file, Map.of(), ENV).spec();
      assertEquals(List.of("invoices"), spec.tables().stream().map(TableSpec::name).toList(), "no ACME table");
      assertTrue(spec.gold().isEmpty(), "no ACME gold");
      assertEquals("local[2]", spec.spark().master(), "conf/local.conf still fills what the file leaves out");
      assertEquals("false", spec.spark().conf().get("spark.ui.enabled"), "conf/local.conf still fills what the file leaves out");
      assertEquals("/data/shop-lake", spec.root(), "the file's own root wins over conf/local.conf's");
      assertEquals("16", spec.spark().conf().get("spark.sql.shuffle.partitions"), "the file's own setting wins");
      assertEquals("/elsewhere", LakehouseConfig.load(null, file, Map.of("lakehouse.root", "/elsewhere"), ENV).spec().root(),
          "--set still wins over the file");
      LakehouseException missing = assertThrows(LakehouseException.class, () ->
          LakehouseConfig.load(null, file.resolveSibling("no-such.conf"), Map.of(), ENV));
      assertTrue(missing.getMessage().startsWith("Cannot read --conf "), missing.getMessage());
    } finally {
      Files.delete(file);
    }
  }

  @Test
  void unknownEnvironmentAndUnknownTableAreErrors() {
    LakehouseException e = assertThrows(LakehouseException.class, () -> LakehouseConfig.load("staging", Map.of(), ENV));
    assertTrue(e.getMessage().contains("staging"), e.getMessage());
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () ->
        LakehouseConfig.load("local", Map.of(), ENV).spec().tables(List.of("invoices")));
    assertTrue(unknown.getMessage().contains("invoices"), unknown.getMessage());
  }

  @Test
  void passwordNeverAppearsInToStringOrSafeUrl() {
    SourceSettings source = LakehouseConfig.load("local", Map.of(
        "lakehouse.source.url", "jdbc:postgresql://h/db?user=u&password=hunter2",
        "lakehouse.source.password", "hunter2"), ENV).spec().source();
    assertFalse(source.toString().contains("hunter2"), source.toString());
    assertFalse(source.safeUrl().contains("hunter2"), source.safeUrl());
    // A libpq-style URL pasted where the driver's belongs keeps its password in the user part.
    SourceSettings pasted = LakehouseConfig.load("local", Map.of(
        "lakehouse.source.url", "postgresql://etl:hunter2@db.example:5432/shop"), ENV).spec().source();
    assertEquals("postgresql://etl:***@db.example:5432/shop", pasted.safeUrl());
    assertFalse(pasted.toString().contains("hunter2"), pasted.toString());
  }

  @Test
  void relativeRootBecomesAbsolute() {
    LakehouseSpec spec = LakehouseConfig.load("local", Map.of("lakehouse.root", "target/lh"), ENV).spec();
    assertTrue(Paths.get(spec.root()).isAbsolute());
    assertTrue(spec.paths().bronze("orders").endsWith("/target/lh/bronze/orders"));
    assertThrows(IllegalArgumentException.class, () -> spec.paths().bronze("../escaped"));
  }

  @Test
  void queryReferencesAreFoundAndBoundByPosition() throws Exception {
    String sql = "WITH x AS (SELECT * FROM silver.`orders`) SELECT orders.id FROM silver.orders"
        + " JOIN x USING (id) WHERE id IN (SELECT id FROM silver.items i)";
    assertEquals(List.of(List.of("silver", "orders"), List.of("silver", "items")), SqlRelations.of(sql));
    String bound = SqlRelations.bind(sql, Map.of(List.of("silver", "orders"), "v_orders", List.of("silver", "items"), "v_items"));
    assertEquals("WITH x AS (SELECT * FROM v_orders AS `orders`) SELECT orders.id FROM v_orders AS `orders`"
        + " JOIN x USING (id) WHERE id IN (SELECT id FROM v_items i)", bound);
  }
}
