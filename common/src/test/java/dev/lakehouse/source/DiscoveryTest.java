package dev.lakehouse.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.Discovery.KeySource;
import dev.lakehouse.source.Discovery.Mode;
import dev.lakehouse.source.Discovery.Plan;
import dev.lakehouse.source.SourceCatalog.Catalog;
import dev.lakehouse.source.SourceCatalog.Column;
import dev.lakehouse.source.SourceCatalog.ForeignKey;
import dev.lakehouse.source.SourceCatalog.Kind;
import dev.lakehouse.source.SourceCatalog.Relation;
import dev.lakehouse.source.SourceCatalog.ReplicaIdentity;
import dev.lakehouse.testing.LakehouseTestBase;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Discovery of the metering example (examples/metering: two schemas, a partitioned fact, composite
 * keys, four kinds of cursor), plus small schemas built here for what the example must not contain:
 * a foreign-key cycle, names that clash across schemas or ignoring case, unstorable column names.
 */
class DiscoveryTest extends LakehouseTestBase {

  /** The keys a table entry may have (the target format); anything else is a mistake. */
  private static final Set<String> ENTRY_KEYS = Set.of("schema", "source-table", "primary-key", "mode", "cursor",
      "lookback", "land", "partitions", "partition-column", "method", "as-text", "silver", "quality");

  private static final List<String> EXAMPLE_SCHEMAS = List.of("network", "field");

  private static Catalog catalog;
  private static Plan plan;
  private static String text;
  private static Config tables;

  @BeforeAll
  static void loadTheExample() {
    sourceExecute(example("schema.sql"), example("seed.sql"), "ANALYZE");
    // Built here, never discovered with the example unless a test says so.
    sourceExecute("""
        CREATE SCHEMA loop;
        CREATE TABLE loop.departments (dept_id int PRIMARY KEY, title text NOT NULL, manager_id int);
        CREATE TABLE loop.employees (emp_id int PRIMARY KEY, dept_id int NOT NULL REFERENCES loop.departments,
                                     mentor_id int REFERENCES loop.employees, full_name text NOT NULL);
        ALTER TABLE loop.departments ADD CONSTRAINT departments_manager_fk
          FOREIGN KEY (manager_id) REFERENCES loop.employees;
        CREATE TABLE loop.a (id int PRIMARY KEY, c_id int);
        CREATE TABLE loop.b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES loop.a);
        CREATE TABLE loop.c (id int PRIMARY KEY, b_id int NOT NULL REFERENCES loop.b);
        ALTER TABLE loop.a ADD CONSTRAINT a_c_fk FOREIGN KEY (c_id) REFERENCES loop.c;
        """,
        """
        CREATE SCHEMA odd;
        CREATE TABLE odd."Line Items" ("Line No" int NOT NULL, "Unit Price" numeric(10,2), "qty;x" int,
                                       "Batch(1)" text, "ship.to" text, "x`y" text, _synced int,
                                       PRIMARY KEY ("Line No"));
        CREATE TABLE odd."LineItems" (id int PRIMARY KEY);
        CREATE TABLE odd.line_items (id int PRIMARY KEY, "LastModified" timestamptz NOT NULL,
                                     updated_at timestamptz);
        CREATE INDEX ON odd.line_items ("LastModified");
        CREATE TABLE odd."2024 Tariffs" (code text PRIMARY KEY);
        CREATE TABLE odd."Zähler" (id int PRIMARY KEY, "Kind" text, kind text);
        CREATE TABLE odd.keyless (a int, b text, modified_at timestamptz NOT NULL);
        CREATE INDEX ON odd.keyless (modified_at);
        CREATE TABLE odd.nullable_unique (a int, b int NOT NULL);
        CREATE UNIQUE INDEX ON odd.nullable_unique (a);
        CREATE TABLE odd.to_other_schema (id int PRIMARY KEY,
                                          tariff_code text REFERENCES network.tariffs);
        CREATE TABLE odd."say \"\"hi\"\"\" (id int PRIMARY KEY, "multi
        line" text, "Updated At" timestamptz NOT NULL);
        CREATE INDEX ON odd."say \"\"hi\"\"\" ("Updated At");
        """,
        """
        CREATE SCHEMA archive;
        CREATE TABLE archive.meters (meter_id uuid PRIMARY KEY, retired_on date NOT NULL);
        CREATE TABLE archive."Feeders" (id int PRIMARY KEY);
        """);
    catalog = read(EXAMPLE_SCHEMAS);
    plan = Discovery.plan(catalog);
    text = Discovery.render(plan);
    tables = ConfigFactory.parseString(text).getConfig("lakehouse.tables");
  }

  // ---------------------------------------------------------------------------------------------
  // The catalog

  @Test
  void catalogHoldsTablesThePartitionedParentAndViewsButNoPartitions() {
    assertEquals(List.of(
            "field.meter_checks", "field.open_visits", "field.technicians", "field.visits",
            "network.MeterReadings", "network.feeders", "network.meters", "network.substation_daily_kwh",
            "network.substations", "network.tariffs"),
        catalog.relations().stream().map(r -> r.schema() + "." + r.name()).toList());
    Relation readings = relation("network", "MeterReadings");
    assertEquals(Kind.PARTITIONED_TABLE, readings.kind());
    assertEquals("RANGE (reading_date)", readings.partitionKey().orElseThrow());
    assertEquals(3, readings.partitions());
    assertEquals(Kind.VIEW, relation("field", "open_visits").kind());
    assertEquals(Kind.MATERIALIZED_VIEW, relation("network", "substation_daily_kwh").kind());
    assertEquals(database, catalog.database());
    assertTrue(catalog.serverVersion().startsWith("17"), catalog.serverVersion());
    assertEquals(EXAMPLE_SCHEMAS, catalog.schemas());
  }

  @Test
  void catalogColumnsHavePostgresTypesNullabilityAndPositions() {
    Relation meters = relation("network", "meters");
    assertEquals(new Column("SerialNo", "text", true, 2), meters.column("SerialNo").orElseThrow());
    assertEquals(new Column("firmware", "text", false, 8), meters.column("firmware").orElseThrow());
    Map<String, String> types = new HashMap<>();
    for (Relation r : catalog.relations()) {
      r.columns().forEach(c -> types.put(r.name() + "." + c.name(), c.type()));
    }
    Map<String, String> expected = Map.ofEntries(
        Map.entry("meters.status", "network.meter_status"), Map.entry("meters.tags", "text[]"),
        Map.entry("meters.settings", "jsonb"), Map.entry("meters.meter_id", "uuid"),
        Map.entry("meters.updated_at", "timestamp with time zone"),
        Map.entry("MeterReadings.kwh", "network.kwh"),
        Map.entry("feeders.last_update", "timestamp without time zone"),
        Map.entry("substations.substation_code", "character(6)"), Map.entry("substations.capacity_mva", "numeric"),
        Map.entry("substations.voltage_kv", "numeric(5,1)"), Map.entry("substations.scada_ip", "inet"),
        Map.entry("substations.updated_on", "date"),
        Map.entry("tariffs.standing_charge", "money"), Map.entry("tariffs.peak_days", "integer[]"),
        Map.entry("tariffs.peak_start", "time without time zone"),
        Map.entry("technicians.shift_start", "time with time zone"),
        Map.entry("visits.duration", "interval"), Map.entry("visits.notes_search", "tsvector"),
        Map.entry("visits.checklist", "json"), Map.entry("visits.photo", "bytea"),
        Map.entry("visits.version", "bigint"));
    expected.forEach((column, type) -> assertEquals(type, types.get(column), column));
    // Positions count live columns from 1, in table order.
    Relation feeders = relation("network", "feeders");
    assertEquals(List.of("feeder_no", "substation_code", "name", "rated_amps", "phases", "last_update"),
        feeders.columns().stream().map(Column::name).toList());
    assertEquals(List.of(1, 2, 3, 4, 5, 6), feeders.columns().stream().map(Column::position).toList());
  }

  @Test
  void catalogKeysIndexesForeignKeysAndEstimates() {
    // Key order is the constraint's, not the columns'.
    assertEquals(List.of("substation_code", "feeder_no"), relation("network", "feeders").primaryKey());
    assertEquals(List.of("meter_id", "reading_date", "channel"), relation("network", "MeterReadings").primaryKey());
    assertEquals(List.of(), relation("field", "technicians").primaryKey());

    SourceCatalog.UniqueIndex technicians = relation("field", "technicians").uniqueIndexes().get(0);
    assertEquals(new SourceCatalog.UniqueIndex("technicians_employee_no", List.of("employee_no"), true), technicians);
    assertEquals(List.of(new SourceCatalog.UniqueIndex("substation_daily_kwh_key",
            List.of("substation_code", "reading_date"), false)),
        relation("network", "substation_daily_kwh").uniqueIndexes());
    assertEquals(List.of("meters_SerialNo_key"),
        relation("network", "meters").uniqueIndexes().stream().map(SourceCatalog.UniqueIndex::name).toList());

    assertEquals(List.of("meter_id", "SerialNo", "substation_code", "updated_at"),
        relation("network", "meters").leadingIndexColumns());
    assertEquals(List.of("visit_id"), relation("field", "meter_checks").leadingIndexColumns());
    assertTrue(relation("network", "MeterReadings").leadsAnIndex("modified_at"));

    // Composite foreign keys column for column; the partition clones of a foreign key to (or from)
    // the partitioned table are not listed.
    assertEquals(List.of(
            new ForeignKey("meter_checks_meter_id_reading_date_channel_fkey",
                List.of("meter_id", "reading_date", "channel"), "network", "MeterReadings",
                List.of("meter_id", "reading_date", "channel")),
            new ForeignKey("meter_checks_visit_id_fkey", List.of("visit_id"), "field", "visits", List.of("visit_id"))),
        relation("field", "meter_checks").foreignKeys());
    assertEquals(new ForeignKey("meters_substation_code_feeder_no_fkey", List.of("substation_code", "feeder_no"),
            "network", "feeders", List.of("substation_code", "feeder_no")),
        relation("network", "meters").foreignKeys().get(0));
    assertEquals(2, relation("network", "MeterReadings").foreignKeys().size());
    // schema.sql declares 10 foreign keys; pg_constraint holds 3 more on meter_checks, one per
    // partition of "MeterReadings" it refers to.
    assertEquals(10, Pattern.compile("REFERENCES").matcher(example("schema.sql")).results().count());
    assertEquals(10, catalog.relations().stream().mapToLong(r -> r.foreignKeys().size()).sum());
    assertEquals(13, sourceCount("SELECT count(*) FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE con.contype = 'f' AND NOT c.relispartition "
        + "AND n.nspname IN ('network', 'field')"));

    assertEquals(ReplicaIdentity.INDEX, relation("field", "technicians").replicaIdentity());
    assertEquals(ReplicaIdentity.DEFAULT, relation("network", "meters").replicaIdentity());

    // After ANALYZE a small table's estimate is its count; a partitioned table's sums its partitions.
    assertEquals(sourceCount("SELECT count(*) FROM network.\"MeterReadings\""),
        relation("network", "MeterReadings").estimatedRows().getAsLong());
    assertEquals(120, relation("network", "meters").estimatedRows().getAsLong());
    assertTrue(relation("field", "open_visits").estimatedRows().isEmpty());
  }

  @Test
  void oneTablesEstimateAsTheCatalogHasIt() throws SQLException {
    try (Connection c = source()) {
      assertEquals(relation("network", "MeterReadings").estimatedRows(),
          SourceDatabase.estimatedRows(c, "network", "MeterReadings"), "a partitioned table: its partitions summed");
      assertEquals(java.util.OptionalLong.of(120), SourceDatabase.estimatedRows(c, "network", "meters"));
      assertTrue(SourceDatabase.estimatedRows(c, "field", "open_visits").isEmpty(), "a view");
      assertTrue(SourceDatabase.estimatedRows(c, "loop", "a").isEmpty(), "never analyzed");
      assertTrue(SourceDatabase.estimatedRows(c, "odd", "Line Items").isEmpty(), "a quoted name, never analyzed");
    }
  }

  @Test
  void aSchemaThatDoesNotExistIsOneClearError() {
    LakehouseException e = assertThrows(LakehouseException.class, () -> read(List.of("network", "nowhere")));
    assertTrue(e.getMessage().startsWith("Schema 'nowhere' does not exist in jdbc:postgresql://127.0.0.1:"),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("its schemas are: archive, field, loop, network, odd, public"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  void theUrlLosesItsPasswordButKeepsTheRest() {
    assertEquals("jdbc:postgresql://db:5432/x?ssl=true&user=etl",
        SourceCatalog.withoutCredentials("jdbc:postgresql://db:5432/x?password=s3cret&ssl=true&user=etl"));
    assertEquals("jdbc:postgresql://etl@db/x", SourceCatalog.withoutCredentials("jdbc:postgresql://etl:s3cret@db/x"));
    assertEquals("jdbc:postgresql://db/x", SourceCatalog.withoutCredentials("jdbc:postgresql://db/x?PASSWORD=a"));
    assertFalse(text.contains("password="));
    assertTrue(text.contains("#   source:  " + sourceUrl() + " (database " + database + ", PostgreSQL 17"), text);
  }

  // ---------------------------------------------------------------------------------------------
  // The configuration

  @Test
  void theConfigurationParsesAndEntriesHaveOnlyTheFormatsKeys() {
    Config root = ConfigFactory.parseString(text);
    assertEquals("network", root.getString("lakehouse.source.schema"));
    assertEquals(Set.of("source", "tables"), root.getConfig("lakehouse").root().keySet());
    assertEquals(Set.of("feeders", "meter_checks", "meter_readings", "meters", "open_visits", "substation_daily_kwh",
        "substations", "tariffs", "technicians", "visits"), tables.root().keySet());
    for (String name : tables.root().keySet()) {
      Set<String> keys = tables.getConfig(name).root().keySet();
      assertTrue(ENTRY_KEYS.containsAll(keys), name + " has " + keys);
      // Two schemas: every entry names its own.
      assertTrue(EXAMPLE_SCHEMAS.contains(tables.getString(name + ".schema")), name);
    }
    assertEquals("10 tables (4 incremental, 6 full, 1 keyless)", plan.summary().toString());
    // The header says where and when, and what is left to the user.
    assertTrue(text.startsWith("# A starting configuration, written by `lakehouse discover`."), text);
    assertTrue(text.contains("#   schemas: network, field\n"), text);
    assertTrue(text.contains("#   read at: " + catalog.readAt() + "\n"), text);
    assertTrue(text.contains("Add lakehouse.gold { dimensions, facts, marts } yourself."), text);
  }

  @Test
  void keysModesAndCursors() {
    assertTable("meter_readings", List.of("meter_id", "reading_date", "channel"), "incremental", "modified_at");
    assertEquals("MeterReadings", tables.getString("meter_readings.source-table"));
    assertEquals("network", tables.getString("meter_readings.schema"));
    assertTable("feeders", List.of("substation_code", "feeder_no"), "incremental", "last_update");   // timestamp
    assertTable("substations", List.of("substation_code"), "incremental", "updated_on");              // date
    assertTable("meters", List.of("meter_id"), "incremental", "updated_at");                           // timestamptz
    assertTable("meter_checks", List.of("visit_id", "check_no"), "full", null);
    assertTable("tariffs", List.of("tariff_code"), "full", null);
    assertTable("visits", List.of("visit_id"), "full", null);
    assertTable("technicians", List.of("employee_no"), "full", null);
    assertTable("open_visits", List.of(), "full", null);
    assertTable("substation_daily_kwh", List.of("substation_code", "reading_date"), "full", null);

    assertEquals(KeySource.UNIQUE_INDEX, plan.table("technicians").orElseThrow().keySource());
    assertEquals("technicians_employee_no", plan.table("technicians").orElseThrow().keyIndex().orElseThrow());
    assertEquals(KeySource.NONE, plan.table("open_visits").orElseThrow().keySource());
    assertEquals(KeySource.PRIMARY_KEY, plan.table("feeders").orElseThrow().keySource());

    // Why a table is full is said next to it.
    assertTrue(notes("meter_checks").contains("changed_at looks like a change time, but no index leads with it "
        + "(CREATE INDEX ON field.meter_checks (changed_at) would answer an incremental window)."), notes("meter_checks"));
    assertTrue(notes("visits").contains("version (bigint, NOT NULL, leads an index) may be a change counter"),
        notes("visits"));
    assertTrue(notes("tariffs").contains("Full: no change-time column."), notes("tariffs"));
    assertTrue(notes("open_visits").contains("No key: a view has none."), notes("open_visits"));
    assertTrue(notes("meter_readings").contains("partitioned table by RANGE (reading_date), 3 partitions"),
        notes("meter_readings"));
    assertTrue(notes("substation_daily_kwh").contains("a materialized view's columns cannot be declared NOT NULL"),
        notes("substation_daily_kwh"));
  }

  /**
   * A numeric without precision lands as decimal(38,18), and as-text only counts on a table's first
   * landing: so discovery says so beside the table and writes the as-text line, commented out.
   */
  @Test
  void numericWithoutPrecisionIsNotedWithAnAsTextLineToUncomment() {
    assertTrue(notes("substations").contains("capacity_mva is numeric without a precision, landed as decimal(38,18)"),
        notes("substations"));
    assertTrue(notes("tariffs").contains("energy_rate is numeric without a precision"), notes("tariffs"));
    String substations = text.substring(text.indexOf("    substations {"), text.indexOf("\n    }\n", text.indexOf("    substations {")));
    assertTrue(substations.contains("\n      # as-text = [capacity_mva]\n"), substations);
    // numeric(5,1) is not named, and a table without such a column has neither.
    assertFalse(notes("substations").contains("voltage_kv"), notes("substations"));
    assertFalse(notes("meters").contains("without a precision"), notes("meters"));
    // Uncommented, the line is a valid entry.
    Config uncommented = ConfigFactory.parseString(text.replace("# as-text = [capacity_mva]", "as-text = [capacity_mva]"));
    assertEquals(List.of("capacity_mva"), uncommented.getStringList("lakehouse.tables.substations.as-text"));
  }

  @Test
  void cursorRulesNamesTypesNullabilityIndexesAndKeys() {
    Plan odd = Discovery.plan(read(List.of("odd")));
    // "LastModified" is last_modified in snake_case, and beats updated_at, which may be NULL and has no index.
    Discovery.Table lineItems = odd.table("line_items").orElseThrow();
    assertEquals(Mode.INCREMENTAL, lineItems.mode());
    assertEquals("LastModified", lineItems.cursor().orElseThrow());
    // A table without a key is full even with a good cursor, and says so.
    Discovery.Table keyless = odd.table("keyless").orElseThrow();
    assertEquals(Mode.FULL, keyless.mode());
    assertEquals(List.of(), keyless.primaryKey());
    assertTrue(keyless.notes().contains("Full: modified_at would do as a cursor, but a table without a key can only be full."),
        keyless.notes().toString());
    assertTrue(keyless.notes().contains("Replica identity: none, so mode = log could not tell which row an update or "
        + "delete touched."), keyless.notes().toString());
    // A unique index over a column that may be NULL is no key for a table.
    assertEquals(KeySource.NONE, odd.table("nullable_unique").orElseThrow().keySource());
    // A foreign key into a schema that is not discovered is noted, not a rule.
    Discovery.Table toOther = odd.table("to_other_schema").orElseThrow();
    assertEquals(Discovery.Relationship.Status.NOT_DISCOVERED, toOther.relationships().get(0).status());
    Config config = ConfigFactory.parseString(Discovery.render(odd)).getConfig("lakehouse.tables");
    assertFalse(config.hasPath("to_other_schema.quality"));
    assertEquals("Foreign key to_other_schema_tariff_code_fkey (tariff_code) refers to network.tariffs, which is not "
        + "discovered: no rule.", toOther.relationships().get(0).note());
    assertTrue(Discovery.render(odd).contains("# Foreign key to_other_schema_tariff_code_fkey (tariff_code) refers to"));
  }

  @Test
  void relationshipsRulesAreTheForeignKeysCompositeIncluded() {
    Set<String> expected = Set.of(
        "substations: [parent_code] -> substations [substation_code]",
        "feeders: [substation_code] -> substations [substation_code]",
        "meters: [substation_code, feeder_no] -> feeders [substation_code, feeder_no]",
        "meters: [tariff_code] -> tariffs [tariff_code]",
        "meter_readings: [meter_id] -> meters [meter_id]",
        "meter_readings: [substation_code] -> substations [substation_code]",
        "visits: [employee_no] -> technicians [employee_no]",
        "visits: [meter_id] -> meters [meter_id]",
        "meter_checks: [meter_id, reading_date, channel] -> meter_readings [meter_id, reading_date, channel]",
        "meter_checks: [visit_id] -> visits [visit_id]");
    assertEquals(expected, relationships(tables));
    // Single-column rules use column/to-column, composite ones columns/to-columns; all warn.
    for (String name : tables.root().keySet()) {
      if (!tables.hasPath(name + ".quality")) {
        continue;
      }
      for (Config rule : tables.getConfigList(name + ".quality")) {
        assertEquals("relationships", rule.getString("rule"));
        assertEquals("warn", rule.getString("action"));
        boolean composite = rule.hasPath("columns");
        assertEquals(composite ? Set.of("rule", "columns", "to", "to-columns", "action")
            : Set.of("rule", "column", "to", "to-column", "action"), rule.root().keySet(), rule.toString());
      }
    }
    assertEquals(Set.of(), cycles(tables));
    // The seed keeps its foreign keys, so the rules hold on it: a rule that failed here would be wrong.
    for (String rule : expected) {
      assertEquals(0, orphans(rule, tables), rule);
    }
  }

  @Test
  void aCycleOfForeignKeysIsEmittedWithTheClosingEdgeCommentedOut() {
    Plan loop = Discovery.plan(read(List.of("loop")));
    String hocon = Discovery.render(loop);
    Config config = ConfigFactory.parseString(hocon).getConfig("lakehouse.tables");
    // employees.dept_id is NOT NULL, departments.manager_id is not: the optional edge closes the cycle.
    // A self-reference (employees.mentor_id) is a rule: the engine skips it when ordering.
    assertEquals(Set.of(
        "employees: [dept_id] -> departments [dept_id]",
        "employees: [mentor_id] -> employees [emp_id]",
        "b: [a_id] -> a [id]",
        "c: [b_id] -> b [id]"), relationships(config));
    String indent = " ".repeat(8);
    assertTrue(hocon.contains("      quality = [\n"
        + indent + "# Left out: departments -> employees -> departments would be a cycle, and the engine applies\n"
        + indent + "# parents before children. Enable it only once the cycle is broken.\n"
        + indent + "# { rule = relationships, column = manager_id, to = employees, to-column = emp_id, action = warn }\n"
        + "      ]\n"), hocon);
    assertTrue(hocon.contains(
        "# { rule = relationships, column = c_id, to = c, to-column = id, action = warn }"), hocon);
    assertTrue(hocon.contains("Left out: a -> c -> b -> a would be a cycle"), hocon);
    assertEquals(Set.of(), cycles(config));
    Discovery.Table departments = loop.table("departments").orElseThrow();
    assertEquals(Discovery.Relationship.Status.CLOSES_CYCLE, departments.relationships().get(0).status());
    assertEquals(Discovery.Relationship.Status.SELF_REFERENCE,
        loop.table("employees").orElseThrow().relationships().stream()
            .filter(r -> r.columns().equals(List.of("mentor_id"))).findFirst().orElseThrow().status());
  }

  @Test
  void namesAreSafeUniqueIgnoringCaseAndNameTheSourceTableWhenTheyDiffer() {
    Plan odd = Discovery.plan(read(List.of("odd")));
    Config config = ConfigFactory.parseString(Discovery.render(odd)).getConfig("lakehouse.tables");
    Map<String, String> sourceByName = new HashMap<>();
    for (Config all : List.of(config, tables)) {
      Set<String> seen = new HashSet<>();
      for (String name : all.root().keySet()) {
        assertTrue(Discovery.SAFE_NAME.matcher(name).matches() && name.length() <= 100, name);
        assertTrue(seen.add(name.toLowerCase(Locale.ROOT)), name);
        String source = all.hasPath(name + ".source-table") ? all.getString(name + ".source-table") : name;
        if (all == config) {
          sourceByName.put(name, source);
        }
        assertEquals(!source.equals(name), all.hasPath(name + ".source-table"), name);
      }
    }
    assertEquals(Map.of(
        "line_items", "line_items",           // the exact name keeps it
        "line_items_2", "Line Items",
        "line_items_3", "LineItems",
        "t_2024_tariffs", "2024 Tariffs",
        "zahler", "Zähler",
        "keyless", "keyless",
        "nullable_unique", "nullable_unique",
        "to_other_schema", "to_other_schema",
        "say_hi", "say \"hi\""), sourceByName);
    // One schema: entries do not repeat it; source.schema holds it.
    assertFalse(config.hasPath("line_items.schema"));
    // Columns Spark/Delta cannot store, or Spark reads as a struct field (a dot), or Delta's MERGE cannot
    // parse (a back-quote), get silver names; key columns stay source names, quoted.
    assertEquals(Map.of("Line No", "line_no", "Unit Price", "unit_price", "qty;x", "qty_x", "Batch(1)", "batch_1",
            "ship.to", "ship_to", "x`y", "x_y", "_synced", "synced"),
        config.getConfig("line_items_2.silver.rename").root().unwrapped());
    assertTrue(String.join(" ", odd.table("line_items_2").orElseThrow().notes())
        .contains("Bronze keeps the column names \"ship.to\", \"x`y\", \"_synced\"; silver.rename gives each a plain name"),
        odd.table("line_items_2").orElseThrow().notes().toString());
    assertEquals(List.of("Line No"), config.getStringList("line_items_2.primary-key"));
    // Quotes and a line break in names survive quoting, in values, keys and comments alike.
    assertEquals("Updated At", config.getString("say_hi.cursor"));
    assertEquals(Map.of("multi\nline", "multi_line", "Updated At", "updated_at"),
        config.getConfig("say_hi.silver.rename").root().unwrapped());
    assertTrue(String.join(" ", odd.table("zahler").orElseThrow().notes())
        .contains("Columns \"Kind\" and kind differ only in case"), odd.table("zahler").orElseThrow().notes().toString());
    assertEquals("line_items", Discovery.snakeCase("LineItems"));
    assertEquals("http_server_log", Discovery.snakeCase("HTTPServerLog"));
    assertEquals("meter_readings", Discovery.snakeCase("MeterReadings"));
  }

  @Test
  void longPrefixedNamesAreCutToTheLimitAndStayUnique() {
    // PostgreSQL names have at most 63 bytes, so only a schema prefix can go past 100 characters.
    String schemaA = "a".repeat(63);
    String schemaB = "b".repeat(63);
    String table = "t".repeat(60);
    List<Relation> relations = List.of(bare(schemaA, table), bare(schemaB, table), bare(schemaA, "x"),
        bare(schemaA, "X"), bare(schemaB, "x_2"));
    Map<Relation, String> names = Discovery.lakehouseNames(relations);
    assertEquals(("a".repeat(63) + "_" + "t".repeat(60)).substring(0, 100), names.get(relations.get(0)));
    assertEquals(("b".repeat(63) + "_" + "t".repeat(60)).substring(0, 100), names.get(relations.get(1)));
    // x and X are one name ignoring case; x_2 is taken by a real table, so X gets x_3.
    assertEquals(List.of("x", "x_3", "x_2"), List.of(names.get(relations.get(2)), names.get(relations.get(3)),
        names.get(relations.get(4))));
  }

  /** {@code "Updated"} and {@code changed} name change times too (snake_case: updated, changed). */
  @Test
  void bareUpdatedAndChangedAreChangeTimes() {
    Relation patients = new Relation("care", "Patient", Kind.TABLE, List.of(new Column("id", "integer", true, 1),
        new Column("Updated", "timestamp without time zone", true, 2)), List.of("id"), List.of(),
        List.of("id", "Updated"), List.of(), ReplicaIdentity.DEFAULT, java.util.OptionalLong.empty(),
        java.util.Optional.empty(), 0);
    Relation doses = new Relation("care", "dose", Kind.TABLE, List.of(new Column("id", "uuid", true, 1),
        new Column("changed", "timestamp(0) with time zone", true, 2)), List.of("id"), List.of(),
        List.of("id", "changed"), List.of(), ReplicaIdentity.DEFAULT, java.util.OptionalLong.empty(),
        java.util.Optional.empty(), 0);
    Plan care = Discovery.plan(new SourceCatalog.Catalog("jdbc:postgresql://db/care", "care", "17.0", List.of("care"),
        java.time.Instant.parse("2026-12-07T00:00:00Z"), "America/New_York", List.of(patients, doses)));
    assertEquals(Mode.INCREMENTAL, care.table("patient").orElseThrow().mode());
    assertEquals("Updated", care.table("patient").orElseThrow().cursor().orElseThrow());
    assertEquals("changed", care.table("dose").orElseThrow().cursor().orElseThrow());
    // "Updated" is a wall-clock time, and the database writes New York's by default: so says the configuration.
    String text = Discovery.render(care);
    assertTrue(text.replace("\n  # ", " ").contains("The cursor of patient is a wall-clock time, read in"
        + " source.time-zone. This database's sessions write America/New_York by default (its TimeZone): set the"
        + " zone the application writes in, if it sets another.\n  source.time-zone = \"America/New_York\"\n"), text);
    assertEquals("America/New_York", ConfigFactory.parseString(text).getString("lakehouse.source.time-zone"));
  }

  /** The zone sessions write by default: the database's setting over the server's. */
  @Test
  void theCatalogReadsTheZoneTheDatabaseWritesWallClockTimesIn() {
    assertEquals("UTC", catalog.timeZone(), "the embedded server's");
    assertFalse(text.contains("time-zone"), "feeders' cursor is a wall-clock time, but the zone is UTC");
    String database = catalog.database();
    sourceExecute("ALTER DATABASE \"" + database + "\" SET timezone = 'Asia/Tokyo'");
    try {
      assertEquals("Asia/Tokyo", read(List.of("network")).timeZone());
      assertTrue(Discovery.render(Discovery.plan(read(List.of("network")))).contains(
          "  source.time-zone = \"Asia/Tokyo\"\n"), "feeders.last_update is a timestamp");
    } finally {
      sourceExecute("ALTER DATABASE \"" + database + "\" RESET timezone");
    }
  }

  private static Relation bare(String schema, String name) {
    return new Relation(schema, name, Kind.TABLE, List.of(new Column("id", "integer", true, 1)), List.of("id"),
        List.of(), List.of("id"), List.of(), ReplicaIdentity.DEFAULT, java.util.OptionalLong.empty(),
        java.util.Optional.empty(), 0);
  }

  @Test
  void aNameInTwoSchemasIsPrefixedWithItsSchema() {
    Plan both = Discovery.plan(read(List.of("network", "archive")));
    Config config = ConfigFactory.parseString(Discovery.render(both)).getConfig("lakehouse.tables");
    assertEquals("meters", config.getString("network_meters.source-table"));
    assertEquals("network", config.getString("network_meters.schema"));
    assertEquals("meters", config.getString("archive_meters.source-table"));
    assertEquals("archive", config.getString("archive_meters.schema"));
    // "Feeders" and feeders clash too (ignoring case); tables found in one schema keep their names.
    assertEquals("Feeders", config.getString("archive_feeders.source-table"));
    assertEquals("network", config.getString("network_feeders.schema"));
    assertTrue(config.hasPath("tariffs") && config.hasPath("substations") && !config.hasPath("meters"));
    // Rules follow the new names.
    assertTrue(relationships(config).contains("meter_readings: [meter_id] -> network_meters [meter_id]"));
  }

  @Test
  void everyTableAndColumnNamedExistsAndTheKeysAndCursorsHoldOnTheData() throws SQLException {
    String defaultSchema = ConfigFactory.parseString(text).getString("lakehouse.source.schema");
    try (Connection c = source(); Statement s = c.createStatement()) {
      for (String name : tables.root().keySet()) {
        Config t = tables.getConfig(name);
        String schema = t.hasPath("schema") ? t.getString("schema") : defaultSchema;
        String table = t.hasPath("source-table") ? t.getString("source-table") : name;
        Relation relation = catalog.relation(schema, table).orElseThrow(() -> new AssertionError(name));
        List<String> key = t.getStringList("primary-key");
        List<String> named = new ArrayList<>(key);
        if (t.hasPath("cursor")) {
          named.add(t.getString("cursor"));
          assertEquals("incremental", t.getString("mode"));
        }
        named.forEach(column -> assertTrue(relation.column(column).isPresent(), name + "." + column));
        String from = SourceDatabase.qualified(schema, table);
        String columns = named.stream().map(SourceDatabase::ident).collect(Collectors.joining(", "));
        if (!named.isEmpty()) {
          s.executeQuery("SELECT " + columns + " FROM " + from + " LIMIT 0").close();
        }
        if (!key.isEmpty()) {
          String keyColumns = key.stream().map(SourceDatabase::ident).collect(Collectors.joining(", "));
          assertEquals(0, sourceCount("SELECT count(*) FROM (SELECT 1 FROM " + from + " GROUP BY " + keyColumns
              + " HAVING count(*) > 1) d"), name + ": duplicate keys");
          assertEquals(0, sourceCount("SELECT count(*) FROM " + from + " WHERE " + key.stream()
              .map(k -> SourceDatabase.ident(k) + " IS NULL").collect(Collectors.joining(" OR "))), name);
        }
        if (t.hasPath("cursor")) {
          assertEquals(0, sourceCount("SELECT count(*) FROM " + from + " WHERE "
              + SourceDatabase.ident(t.getString("cursor")) + " IS NULL"), name);
        }
        if (t.hasPath("quality")) {
          for (Config rule : t.getConfigList("quality")) {
            List<String> ruleColumns = rule.hasPath("column") ? List.of(rule.getString("column"))
                : rule.getStringList("columns");
            List<String> toColumns = rule.hasPath("to-column") ? List.of(rule.getString("to-column"))
                : rule.getStringList("to-columns");
            Config parent = tables.getConfig(rule.getString("to"));
            Relation parentRelation = catalog.relation(parent.getString("schema"),
                parent.hasPath("source-table") ? parent.getString("source-table") : rule.getString("to")).orElseThrow();
            ruleColumns.forEach(col -> assertTrue(relation.column(col).isPresent(), name + "." + col));
            toColumns.forEach(col -> assertTrue(parentRelation.column(col).isPresent(), rule.getString("to") + "." + col));
          }
        }
      }
    }
  }

  @Test
  void theSameCatalogGivesTheSameTextAndAFreshReadOnlyItsTime() {
    assertEquals(text, Discovery.configuration(catalog));
    Catalog again = read(EXAMPLE_SCHEMAS);
    assertNotEquals(catalog.readAt(), again.readAt());
    assertEquals(text.replace(catalog.readAt().toString(), "T"),
        Discovery.configuration(again).replace(again.readAt().toString(), "T"));
  }

  @Test
  void onAConnectionInATransactionTheCatalogIsReadInThatTransactionAndLeftOpen() throws SQLException {
    try (Connection c = source()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE archive.uncommitted (id int PRIMARY KEY)");
      }
      assertTrue(SourceCatalog.read(c, List.of("archive")).relation("archive", "uncommitted").isPresent());
      c.rollback();   // still the caller's to end
      assertTrue(SourceCatalog.read(c, List.of("archive")).relation("archive", "uncommitted").isEmpty());
      assertFalse(c.getAutoCommit());
    }
    assertTrue(read(List.of("archive")).relation("archive", "uncommitted").isEmpty());
  }

  // ---------------------------------------------------------------------------------------------
  // The rest of the example: a day of changes, gold, and the expected answers

  @Test
  void theExamplesDayGoldAndExpectedQueriesFitTheSchema() throws SQLException {
    long readings = sourceCount("SELECT count(*) FROM network.\"MeterReadings\"");
    long activeBefore = sourceCount("SELECT count(*) FROM network.meters WHERE status = 'active'");
    long version = sourceCount("SELECT max(version) FROM field.visits");
    try (Connection c = source()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute(example("day.sql"));
        // EM0000017 and the new EM0000121 go live, EM0000008 goes faulty. Every active meter is read
        // today (the DEFAULT partition); one late February reading comes in, one reading is deleted.
        long active = count(s, "SELECT count(*) FROM network.meters WHERE status = 'active'");
        assertEquals(activeBefore + 1, active);
        assertEquals(readings + active + 1 - 1, count(s, "SELECT count(*) FROM network.\"MeterReadings\""));
        assertEquals(active, count(s, "SELECT count(*) FROM network.\"MeterReadings_later\""));
        assertEquals(1, count(s, "SELECT count(*) FROM network.\"MeterReadings_2025_02\" WHERE reading_date = "
            + "'2025-02-01' AND channel = 2"));
        assertEquals(0, count(s, "SELECT count(*) FROM network.\"MeterReadings\" WHERE meter_id = md5('meter:35')::uuid"
            + " AND reading_date = '2025-02-06' AND channel = 2"));
        assertTrue(count(s, "SELECT max(version) FROM field.visits") > version);
        assertEquals(0, count(s, "SELECT count(*) FROM field.meter_checks WHERE visit_id = 32"));
        assertEquals(1, count(s, "SELECT count(*) FROM network.meters WHERE \"SerialNo\" = 'EM0000008' "
            + "AND status = 'faulty' AND firmware = '4.2.0' AND updated_at > '2025-01-01'"));
        assertEquals(1, count(s, "SELECT count(*) FROM field.technicians WHERE employee_no = 'T-0004' AND email = ''"));
        assertEquals(1, count(s, "SELECT count(*) FROM network.substations WHERE substation_code = 'SS-006' "
            + "AND region = 'East' AND updated_on = current_date"));
        long facts = count(s, "SELECT count(*) FROM network.\"MeterReadings\"");
        assertEquals(facts, count(s, "SELECT count(*) FROM (" + withoutSemicolon(example("expected-fact.sql")) + ") f"));
        assertEquals(facts, count(s, "SELECT sum(readings) FROM (" + withoutSemicolon(example("expected-mart.sql"))
            + ") m"));
      } finally {
        c.rollback();
      }
    }
    // gold.conf speaks the lakehouse names discover gives, and the columns exist.
    Config gold = ConfigFactory.parseString(example("gold.conf")).getConfig("lakehouse.gold");
    for (String dimension : gold.getConfig("dimensions").root().keySet()) {
      Config d = gold.getConfig("dimensions." + dimension);
      Relation source = relationOf(d.getString("source"));
      for (String list : List.of("natural-key", "tracked", "overwrite")) {
        d.getStringList(list).forEach(column -> assertTrue(source.column(column).isPresent(), dimension + "." + column));
      }
    }
    Config fact = gold.getConfig("facts.fact_meter_readings");
    Matcher silver = Pattern.compile("silver\\.(\\w+)").matcher(fact.getString("query"));
    while (silver.find()) {
      relationOf(silver.group(1));
    }
    fact.getConfigList("touched-by").forEach(t -> relationOf(t.getString("table")));
    assertEquals(Set.of("mart_daily_net_kwh_by_region", "mart_net_kwh_by_region"), gold.getConfig("marts").root().keySet());
  }

  // ---------------------------------------------------------------------------------------------

  private static String example(String file) {
    try (InputStream in = DiscoveryTest.class.getResourceAsStream("/examples/metering/" + file)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String withoutSemicolon(String sql) {
    return sql.strip().replaceAll(";$", "");
  }

  private static Catalog read(List<String> schemas) {
    try (Connection c = source()) {
      return SourceCatalog.read(c, schemas);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Relation relation(String schema, String name) {
    return catalog.relation(schema, name).orElseThrow(() -> new AssertionError(schema + "." + name));
  }

  /** The source relation of a lakehouse name in the example's configuration. */
  private static Relation relationOf(String lakehouseName) {
    assertTrue(tables.hasPath(lakehouseName), lakehouseName + " is not discovered");
    Config t = tables.getConfig(lakehouseName);
    return relation(t.getString("schema"), t.hasPath("source-table") ? t.getString("source-table") : lakehouseName);
  }

  private static long count(Statement s, String sql) throws SQLException {
    try (var rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static String notes(String name) {
    return String.join(" ", plan.table(name).orElseThrow().notes());
  }

  private static void assertTable(String name, List<String> key, String mode, String cursor) {
    Config t = tables.getConfig(name);
    assertEquals(key, t.getStringList("primary-key"), name);
    assertEquals(mode, t.getString("mode"), name);
    assertEquals(cursor, t.hasPath("cursor") ? t.getString("cursor") : null, name);
    if (mode.equals("full")) {
      assertEquals("changed", t.getString("land"), name);
    } else {
      assertFalse(t.hasPath("land"), name);
    }
  }

  /** Every active relationships rule as "child: [columns] -> parent [columns]". */
  private static Set<String> relationships(Config config) {
    Set<String> rules = new TreeSet<>();
    for (String name : config.root().keySet()) {
      if (config.hasPath(name + ".quality")) {
        for (Config rule : config.getConfigList(name + ".quality")) {
          List<String> columns = rule.hasPath("column") ? List.of(rule.getString("column")) : rule.getStringList("columns");
          List<String> to = rule.hasPath("to-column") ? List.of(rule.getString("to-column")) : rule.getStringList("to-columns");
          rules.add(name + ": " + columns + " -> " + rule.getString("to") + " " + to);
        }
      }
    }
    return rules;
  }

  /** Tables on a cycle of active rules (self-references aside): none, or the engine could not order them. */
  private static Set<String> cycles(Config config) {
    Map<String, Set<String>> parents = new HashMap<>();
    for (String rule : relationships(config)) {
      String child = rule.substring(0, rule.indexOf(':'));
      String parent = rule.substring(rule.indexOf("-> ") + 3, rule.lastIndexOf(" ["));
      if (!child.equals(parent)) {
        parents.computeIfAbsent(child, k -> new HashSet<>()).add(parent);
      }
    }
    Set<String> onCycle = new TreeSet<>();
    for (String start : parents.keySet()) {
      List<String> stack = new ArrayList<>(parents.get(start));
      Set<String> seen = new HashSet<>();
      while (!stack.isEmpty()) {
        String at = stack.remove(stack.size() - 1);
        if (at.equals(start)) {
          onCycle.add(start);
          break;
        }
        if (seen.add(at)) {
          stack.addAll(parents.getOrDefault(at, Set.of()));
        }
      }
    }
    return onCycle;
  }

  /** Child rows whose (non-NULL) columns match no parent row, for a rule of {@link #relationships}. */
  private static long orphans(String rule, Config config) {
    Matcher m = Pattern.compile("(\\w+): \\[(.+)] -> (\\w+) \\[(.+)]").matcher(rule);
    assertTrue(m.matches(), rule);
    List<String> columns = List.of(m.group(2).split(", "));
    List<String> toColumns = List.of(m.group(4).split(", "));
    String child = from(config, m.group(1));
    String parent = from(config, m.group(3));
    List<String> join = new ArrayList<>();
    for (int i = 0; i < columns.size(); i++) {
      join.add("p." + SourceDatabase.ident(toColumns.get(i)) + " = c." + SourceDatabase.ident(columns.get(i)));
    }
    String notNull = columns.stream().map(col -> "c." + SourceDatabase.ident(col) + " IS NOT NULL")
        .collect(Collectors.joining(" AND "));
    return sourceCount("SELECT count(*) FROM " + child + " c WHERE " + notNull + " AND NOT EXISTS (SELECT 1 FROM "
        + parent + " p WHERE " + String.join(" AND ", join) + ")");
  }

  private static String from(Config config, String name) {
    Config t = config.getConfig(name);
    return SourceDatabase.qualified(t.getString("schema"), t.hasPath("source-table") ? t.getString("source-table") : name);
  }

  /** SQL the user is told to run names a table as PostgreSQL reads it: a keyword such as user quoted. */
  @Test
  void sqlNamesQuoteEveryKeywordThatCannotNameATable() throws SQLException {
    try (Connection c = source(); Statement s = c.createStatement();
         java.sql.ResultSet rs = s.executeQuery("SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')")) {
      int keywords = 0;
      while (rs.next()) {
        String word = rs.getString(1);
        assertEquals("\"" + word + "\"", SourceCatalog.sqlName(word));
        keywords++;
      }
      assertTrue(keywords > 80, keywords + " keywords");
    }
    assertEquals(List.of("users", "\"Desk\"", "\"user\"", "meter_checks"),
        List.of("users", "Desk", "user", "meter_checks").stream().map(SourceCatalog::sqlName).toList());
  }
}
