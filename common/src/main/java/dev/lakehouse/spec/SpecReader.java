package dev.lakehouse.spec;

import com.typesafe.config.Config;
import dev.lakehouse.quality.Action;
import dev.lakehouse.quality.Rule;
import java.nio.file.Paths;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.types.DataType;

/**
 * Reads the merged configuration once into a {@link LakehouseSpec}: every value typed, every
 * reference checked (a table a rule or dimension names, a dimension a fact names, the tables a
 * query reads, cycles in relationships), unknown keys reported with the closest known one. All
 * problems are collected and thrown together as one {@link SpecException}, before anything runs.
 * What can only be checked against the live source (that columns exist, with which types) is
 * {@code dev.lakehouse.source.SourceCheck}'s job.
 */
public final class SpecReader {

  private static final Set<String> LAKEHOUSE_KEYS = Set.of(
      "env", "root", "source", "spark", "extract", "s3", "lock", "silver", "tables", "gold", "maintain", "log", "parallelism");
  private static final Set<String> SOURCE_KEYS = Set.of(
      "name", "url", "user", "password", "schema", "time-zone", "connect-timeout", "embedded");
  private static final Set<String> EXTRACT_KEYS = Set.of("method", "partitions", "fetch-size", "lookback", "infinity");
  private static final Set<String> TABLE_KEYS = Set.of(
      "schema", "source-table", "primary-key", "mode", "cursor", "lookback", "land", "partitions",
      "partition-column", "method", "fetch-size", "as-text", "infinity", "silver", "quality");
  private static final Set<String> CONFORM_KEYS = Set.of("rename", "cast", "trim", "lowercase", "uppercase",
      "on-cast-error");
  private static final Map<String, Set<String>> RULE_KEYS = Map.of(
      "not_null", Set.of("rule", "action", "column", "columns"),
      "unique", Set.of("rule", "action", "column", "columns"),
      "accepted_values", Set.of("rule", "action", "column", "values"),
      "range", Set.of("rule", "action", "column", "min", "max"),
      "pattern", Set.of("rule", "action", "column", "regex"),
      "relationships", Set.of("rule", "action", "column", "columns", "to", "to-column", "to-columns"),
      "freshness", Set.of("rule", "action", "max-age"));
  private static final Set<String> GOLD_KEYS = Set.of("dimensions", "facts", "marts");
  private static final Set<String> DIMENSION_KEYS = Set.of("source", "natural-key", "tracked", "overwrite", "surrogate-key");
  private static final Set<String> FACT_KEYS = Set.of("grain", "query", "dimensions", "dates", "touched-by");
  /** Column names the SCD2 engine uses itself. */
  private static final Set<String> SCD2_RESERVED = Set.of(
      "valid_from", "valid_to", "is_current", "is_deleted", "is_inferred", "row_hash", "_change_time", "_is_deleted");

  private final List<String> problems = new ArrayList<>();
  /**
   * Every table name declared under lakehouse.tables, including tables with problems of their
   * own: references to them are not reported again (one mistyped mode is one problem, not one per
   * rule, fact and mart that reads the table).
   */
  private final Set<String> declaredTables = new LinkedHashSet<>();

  private SpecReader() {}

  /** The typed specification, or a {@link SpecException} listing every problem found. */
  public static LakehouseSpec read(Config merged) {
    SpecReader reader = new SpecReader();
    LakehouseSpec spec = reader.lakehouse(new ConfigNode(merged, "", reader.problems).child("lakehouse"));
    if (!reader.problems.isEmpty()) {
      throw new SpecException(reader.problems);
    }
    return spec;
  }

  private LakehouseSpec lakehouse(ConfigNode lakehouse) {
    lakehouse.allowOnly(LAKEHOUSE_KEYS);
    String root = root(lakehouse);
    SourceSettings source = source(lakehouse.child("source"));
    SparkSettings spark = spark(lakehouse.child("spark"), lakehouse.child("s3"));
    ConfigNode lock = lakehouse.child("lock");
    lock.allowOnly(Set.of("lease"));
    ConfigNode silver = lakehouse.child("silver");
    silver.allowOnly(Set.of("reconcile-on-run"));
    List<TableSpec> tables = tables(lakehouse.child("tables"), lakehouse.child("extract"));
    GoldSpec gold = gold(lakehouse.child("gold"), tables);
    return new LakehouseSpec(lakehouse.string("env", "local"), root, source, spark,
        lock.duration("lease", Duration.ofSeconds(60)), silver.bool("reconcile-on-run", true), tables, gold,
        maintain(lakehouse.child("maintain")), log(lakehouse.child("log")), parallelism(lakehouse));
  }

  private static LogSettings log(ConfigNode log) {
    log.allowOnly(Set.of("publication", "slot", "trigger", "gold-trigger", "heartbeat", "buffer-rows"));
    LogSettings d = LogSettings.DEFAULTS;
    String publication = log.string("publication", d.publication());
    String slot = log.string("slot", d.slot());
    for (String[] name : new String[][] {{"publication", publication}, {"slot", slot}}) {
      if (!name[1].matches("[a-z_][a-z0-9_]{0,62}")) {
        log.problem(name[0], "'" + name[1] + "' must be lower case letters, digits and underscores (a PostgreSQL name)");
      }
    }
    Duration trigger = log.duration("trigger", d.trigger());
    Duration goldTrigger = log.duration("gold-trigger", d.goldTrigger());
    if (trigger.isZero() || trigger.isNegative() || goldTrigger.compareTo(trigger) < 0) {
      log.problem("trigger", "must be positive, and gold-trigger at least as long");
    }
    int bufferRows = log.integer("buffer-rows", d.bufferRows());
    if (bufferRows < 100) {
      log.problem("buffer-rows", "must be at least 100");
    }
    return new LogSettings(publication, slot, trigger, goldTrigger, log.duration("heartbeat", d.heartbeat()), bufferRows);
  }

  private static int parallelism(ConfigNode lakehouse) {
    int parallelism = lakehouse.integer("parallelism", 2);
    if (parallelism < 1) {
      lakehouse.problem("parallelism", "must be at least 1");
    }
    return parallelism;
  }

  private static MaintainSettings maintain(ConfigNode maintain) {
    maintain.allowOnly(Set.of("max-files", "retention", "every-runs", "after-run"));
    MaintainSettings d = MaintainSettings.DEFAULTS;
    int maxFiles = maintain.integer("max-files", d.maxFiles());
    if (maxFiles < 2) {
      maintain.problem("max-files", "must be at least 2");
    }
    Duration retention = maintain.duration("retention", d.retention());
    if (retention.compareTo(Duration.ofHours(1)) < 0) {
      maintain.problem("retention", "must be at least 1h: a shorter one would remove files a reader in flight still uses");
    }
    int everyRuns = maintain.integer("every-runs", d.everyRuns());
    if (everyRuns < 0) {
      maintain.problem("every-runs", "must be 0 (off) or more");
    }
    return new MaintainSettings(maxFiles, retention, everyRuns, maintain.bool("after-run", d.afterRun()));
  }

  private static String root(ConfigNode lakehouse) {
    String root = lakehouse.string("root", "").trim();
    if (root.isEmpty()) {
      lakehouse.problem("root", "must name the lakehouse's directory or URI (e.g. s3a://bucket/prefix)");
      return "";
    }
    if (root.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
      return root.replaceAll("/+$", "");
    }
    if (root.startsWith("file:")) {
      root = root.substring("file:".length());
    }
    return Paths.get(root).toAbsolutePath().normalize().toString();
  }

  private static SourceSettings source(ConfigNode source) {
    source.allowOnly(SOURCE_KEYS);
    ConfigNode embedded = source.child("embedded");
    embedded.allowOnly(Set.of("data-dir"));
    ZoneId zone = ZoneId.of("UTC");
    String zoneName = source.string("time-zone", "UTC");
    try {
      zone = ZoneId.of(zoneName);
    } catch (DateTimeException e) {
      source.problem("time-zone", "'" + zoneName + "' is not a time zone (e.g. UTC, Europe/Paris)");
    }
    return new SourceSettings(
        source.string("name", ""),
        source.string("url", "").trim(),
        source.string("user", "postgres"),
        source.string("password", ""),
        source.optionalString("schema"),
        zone,
        source.duration("connect-timeout", Duration.ofSeconds(10)),
        embedded.string("data-dir", "target/lakehouse-source"));
  }

  private static SparkSettings spark(ConfigNode spark, ConfigNode s3) {
    spark.allowOnly(Set.of("app-name", "master", "conf", "codegen-min-rows"));
    s3.allowOnly(Set.of("endpoint", "region", "path-style-access", "ssl"));
    Map<String, String> conf = new LinkedHashMap<>();
    ConfigNode confNode = spark.child("conf");
    for (String key : confNode.keys()) {
      String value = confNode.string(key, null);
      if (value != null) {
        conf.put(key, value);
      }
    }
    int codegenMinRows = spark.integer("codegen-min-rows", 1_000_000);
    if (codegenMinRows < 0) {
      spark.problem("codegen-min-rows", "must be 0 (always compile) or more, not " + codegenMinRows);
    }
    return new SparkSettings(spark.string("app-name", "lakehouse"), spark.string("master", ""), conf,
        new SparkSettings.S3(s3.string("endpoint", "").trim(), s3.string("region", "us-east-1").trim(),
            s3.bool("path-style-access", false), s3.bool("ssl", true)), Math.max(0, codegenMinRows));
  }

  // ---------------------------------------------------------------- tables

  private List<TableSpec> tables(ConfigNode tables, ConfigNode defaults) {
    defaults.allowOnly(EXTRACT_KEYS);
    Map<String, String> seen = new HashMap<>();
    List<TableSpec> specs = new ArrayList<>();
    for (Map.Entry<String, ConfigNode> entry : tables.children().entrySet()) {
      String name = entry.getKey();
      String nameProblem = Identifiers.nameProblem(name);
      if (nameProblem != null) {
        tables.problem(null, "table " + nameProblem + " (the name becomes a directory and a catalog table;"
            + " set source-table for the source's own name)");
        continue;
      }
      String previous = seen.put(name.toLowerCase(Locale.ROOT), name);
      if (previous != null) {
        tables.problem(name, "differs from table " + previous + " only in case; names must differ ignoring case");
        continue;
      }
      declaredTables.add(name);
      TableSpec table = table(name, entry.getValue(), defaults);
      if (table != null) {
        specs.add(table);
      }
    }
    checkRelationships(tables, specs);
    return untrimmedReferences(specs);
  }

  /**
   * A column that a relationships rule points at an untrimmed column (another table's key, or a
   * column of a table with trim = false) is left untrimmed too: trimmed, {@code 'a1 '} would no
   * longer find its key {@code 'a1 '}, neither in the rule's check nor in a fact's join.
   */
  private static List<TableSpec> untrimmedReferences(List<TableSpec> specs) {
    Map<String, TableSpec> byName = new LinkedHashMap<>();
    specs.forEach(t -> byName.put(t.name(), t));
    // Until nothing changes: a reference to a reference that is itself left untrimmed counts too.
    for (boolean changed = true; changed; ) {
      changed = false;
      for (TableSpec table : List.copyOf(byName.values())) {
        List<String> references = new ArrayList<>(table.conform().foreignKeys());
        for (Rule rule : table.quality()) {
          if (rule instanceof Rule.Relationship r && byName.containsKey(r.toTable())) {
            ConformSpec target = byName.get(r.toTable()).conform();
            for (int i = 0; i < r.columns().size() && i < r.toColumns().size(); i++) {
              if (!target.trims(r.toColumns().get(i)) && !references.contains(r.columns().get(i))) {
                references.add(r.columns().get(i));
              }
            }
          }
        }
        if (references.size() > table.conform().foreignKeys().size()) {
          changed = true;
          byName.put(table.name(), table.withConform(table.conform().withForeignKeys(references)));
        }
      }
    }
    return new ArrayList<>(byName.values());
  }

  private TableSpec table(String name, ConfigNode t, ConfigNode defaults) {
    t.allowOnly(TABLE_KEYS);
    int before = problems.size();
    TableSpec.Mode mode = t.choice("mode", TableSpec.Mode.class, TableSpec.Mode.FULL);
    if (!t.has("primary-key")) {
      t.problem("primary-key", "is required: the source's key columns, or [] to compare a full table's rows whole");
    }
    List<String> key = t.strings("primary-key");
    checkColumns(t, "primary-key", key);
    if (key.isEmpty() && t.has("primary-key") && mode != TableSpec.Mode.FULL) {
      t.problem("primary-key", "is empty, which only a full table can be (rows compared whole); mode is "
          + mode.name().toLowerCase());
    }
    Optional<String> cursor = t.optionalString("cursor");
    if (mode == TableSpec.Mode.INCREMENTAL && cursor.isEmpty()) {
      t.problem("cursor", "is required for mode = incremental: the change-time (or increasing number) column");
    }
    Lookback lookback = t.has("lookback") ? lookback(t, "lookback", "lakehouse.tables." + name + ".lookback")
        : lookback(defaults, "lookback", "lakehouse.extract.lookback");
    if (t.has("land") && mode != TableSpec.Mode.FULL) {
      t.problem("land", "applies to full tables only; mode is " + mode.name().toLowerCase());
    }
    int partitions = t.integer("partitions", defaults.integer("partitions", 2));
    if (partitions < 1) {
      t.problem("partitions", "must be at least 1");
    }
    int fetchSize = t.integer("fetch-size", defaults.integer("fetch-size", 10000));
    if (fetchSize < 1) {
      t.problem("fetch-size", "must be at least 1");
    }
    TableSpec.ExtractMethod method = t.has("method")
        ? t.choice("method", TableSpec.ExtractMethod.class, TableSpec.ExtractMethod.COPY)
        : defaults.choice("method", TableSpec.ExtractMethod.class, TableSpec.ExtractMethod.COPY);
    TableSpec.Infinity infinity = t.has("infinity")
        ? t.choice("infinity", TableSpec.Infinity.class, TableSpec.Infinity.FAIL)
        : defaults.choice("infinity", TableSpec.Infinity.class, TableSpec.Infinity.FAIL);
    String sourceTable = t.optionalString("source-table").orElse(name);
    ConformSpec conform = conform(t.child("silver"), key);
    List<Rule> quality = quality(t, name);
    // Bronze keeps any source name; silver needs one Delta can hold (other columns: checked against the source).
    List<String> named = new ArrayList<>(key);
    cursor.ifPresent(named::add);
    for (String column : named) {
      String problem = Identifiers.silverNameProblem(column, conform.silverName(column));
      if (problem != null) {
        t.problem(key.contains(column) ? "primary-key" : "cursor", problem);
      }
    }
    if (problems.size() > before) {
      return null;
    }
    return new TableSpec(name, t.optionalString("schema"), sourceTable, key, mode, cursor, lookback,
        t.choice("land", TableSpec.Land.class, TableSpec.Land.CHANGED), partitions, t.optionalString("partition-column"),
        method, fetchSize, new LinkedHashSet<>(t.strings("as-text")), conform, quality, infinity);
  }

  private static Lookback lookback(ConfigNode node, String key, String setting) {
    if (node.isNumber(key)) {
      int units = node.integer(key, 0);
      if (units < 0) {
        node.problem(key, "must not be negative");
      }
      return Lookback.units(units, setting);
    }
    Duration duration = node.duration(key, Duration.ofMinutes(10));
    if (duration.isNegative()) {
      node.problem(key, "must not be negative");
    }
    return Lookback.of(duration, setting);
  }

  private static void checkColumns(ConfigNode node, String key, List<String> columns) {
    Set<String> seen = new HashSet<>();
    for (String column : columns) {
      if (column.isEmpty()) {
        node.problem(key, "a column name is required");
      } else if (!seen.add(column)) {
        node.problem(key, "lists " + column + " twice");
      }
    }
  }

  private static ConformSpec conform(ConfigNode silver, List<String> key) {
    silver.allowOnly(CONFORM_KEYS);
    Map<String, String> renames = silver.stringMap("rename");
    renames.forEach((from, to) -> {
      String problem = Identifiers.columnProblem(to);
      if (problem != null) {
        silver.problem("rename", problem);
      }
      if (to.startsWith("_")) {
        silver.problem("rename", "silver column names starting with _ are reserved for the lakehouse: " + to);
      }
    });
    Map<String, String> casts = silver.stringMap("cast");
    casts.forEach((column, type) -> {
      try {
        DataType.fromDDL(type);
      } catch (RuntimeException e) {
        silver.problem("cast", column + ": '" + type + "' is not a Spark SQL type (e.g. decimal(12,2), int, date)");
      }
    });
    Action onCastError = silver.choice("on-cast-error", Action.class, Action.FAIL);
    if (onCastError == Action.WARN) {
      silver.problem("on-cast-error", "must be fail or quarantine: a value that does not convert cannot go on");
    }
    List<String> keys = key.stream().map(k -> renames.getOrDefault(k, k)).toList();
    for (String cased : List.of("lowercase", "uppercase")) {
      for (String column : silver.strings(cased)) {
        if (keys.contains(column)) {
          silver.problem(cased, column + " is in the primary key, which silver keeps as the source holds it: keys that"
              + " differ only in case would become one row");
        }
      }
    }
    return new ConformSpec(renames, casts, silver.bool("trim", true), silver.strings("lowercase"),
        silver.strings("uppercase"), onCastError, keys, List.of());
  }

  private static List<Rule> quality(ConfigNode table, String tableName) {
    List<Rule> rules = new ArrayList<>();
    for (ConfigNode r : table.objects("quality")) {
      String kind = r.requiredString("rule");
      if (kind == null) {
        continue;
      }
      Set<String> keys = RULE_KEYS.get(kind);
      if (keys == null) {
        r.problem("rule", "unknown rule '" + kind + "'; rules are " + new java.util.TreeSet<>(RULE_KEYS.keySet()));
        continue;
      }
      r.allowOnly(keys);
      Action action = r.choice("action", Action.class, Action.WARN);
      switch (kind) {
        case "not_null" -> columns(r).forEach(c -> rules.add(new Rule.NotNull(c, action)));
        case "unique" -> rules.add(new Rule.Unique(columns(r), action));
        case "accepted_values" -> {
          String column = r.requiredString("column");
          List<String> values = r.strings("values");
          if (values.isEmpty()) {
            r.problem("values", "is required: the accepted values");
          }
          if (column != null) {
            rules.add(new Rule.AcceptedValues(column, values, action));
          }
        }
        case "range" -> {
          String column = r.requiredString("column");
          Double min = r.number("min");
          Double max = r.number("max");
          if (min == null && max == null) {
            r.problem(null, "range needs min, max or both");
          }
          if (column != null) {
            rules.add(new Rule.Range(column, min, max, action));
          }
        }
        case "pattern" -> {
          String column = r.requiredString("column");
          String regex = r.requiredString("regex");
          if (regex != null) {
            try {
              java.util.regex.Pattern.compile(regex);
            } catch (java.util.regex.PatternSyntaxException e) {
              r.problem("regex", "is not a regular expression: " + e.getDescription());
            }
          }
          if (column != null && regex != null) {
            rules.add(new Rule.Pattern(column, regex, action));
          }
        }
        case "relationships" -> {
          List<String> columns = columns(r);
          String to = r.requiredString("to");
          List<String> toColumns = r.has("to-columns") ? r.strings("to-columns")
              : r.has("to-column") ? List.of(r.string("to-column", "")) : columns;
          if (toColumns.size() != columns.size()) {
            r.problem("to-columns", "names " + toColumns.size() + " columns for " + columns.size() + " in columns");
          }
          if (to != null && !columns.isEmpty()) {
            rules.add(new Rule.Relationship(columns, to, toColumns, action));
          }
        }
        case "freshness" -> {
          if (action == Action.QUARANTINE) {
            r.problem("action", "freshness is about the whole table: use warn or fail");
          }
          if (!r.has("max-age")) {
            r.problem("max-age", "is required, e.g. max-age = 2d");
          }
          rules.add(new Rule.Freshness(r.duration("max-age", Duration.ofDays(1)), action));
        }
        default -> throw new IllegalStateException(kind);
      }
    }
    return rules;
  }

  private static List<String> columns(ConfigNode rule) {
    List<String> columns = rule.has("columns") ? rule.strings("columns")
        : rule.has("column") ? List.of(rule.string("column", "")) : List.of();
    if (columns.isEmpty()) {
      rule.problem(null, "'column' or 'columns' is required");
    }
    return columns;
  }

  /** Relationship rules must point at declared tables, and parents must not form a cycle. */
  private void checkRelationships(ConfigNode tables, List<TableSpec> specs) {
    Map<String, TableSpec> byName = new LinkedHashMap<>();
    declaredTables.forEach(t -> byName.put(t, null));
    specs.forEach(t -> byName.put(t.name(), t));
    for (TableSpec table : specs) {
      for (int i = 0; i < table.quality().size(); i++) {
        if (table.quality().get(i) instanceof Rule.Relationship r && !byName.containsKey(r.toTable())) {
          problems.add(tables.path(table.name()) + ".quality[" + i + "].to: no table '" + r.toTable()
              + "' in lakehouse.tables; declared: " + byName.keySet());
        }
      }
    }
    List<String> cycle = TableGraph.cycle(specs);
    if (!cycle.isEmpty()) {
      problems.add(tables.path() + ": relationships rules form a cycle: " + String.join(" -> ", cycle)
          + "; a parent is applied before its children, so one of these rules must go (or point elsewhere)");
    }
  }

  // ---------------------------------------------------------------- gold

  private GoldSpec gold(ConfigNode gold, List<TableSpec> tables) {
    gold.allowOnly(GOLD_KEYS);
    Map<String, TableSpec> byName = new LinkedHashMap<>();
    declaredTables.forEach(t -> byName.put(t, null));
    tables.forEach(t -> byName.put(t.name(), t));
    Map<String, DimensionSpec> dimensions = new TreeMap<>();
    for (Map.Entry<String, ConfigNode> entry : gold.child("dimensions").children().entrySet()) {
      DimensionSpec dimension = dimension(entry.getKey(), entry.getValue(), byName);
      if (dimension != null) {
        dimensions.put(dimension.name(), dimension);
      }
    }
    Map<String, FactSpec> facts = new TreeMap<>();
    for (Map.Entry<String, ConfigNode> entry : gold.child("facts").children().entrySet()) {
      FactSpec fact = fact(entry.getKey(), entry.getValue(), byName, dimensions);
      if (fact != null) {
        facts.put(fact.name(), fact);
      }
    }
    Map<String, MartSpec> marts = marts(gold, byName.keySet(), facts);
    return new GoldSpec(dimensions, facts, marts);
  }

  private DimensionSpec dimension(String name, ConfigNode d, Map<String, TableSpec> tables) {
    d.allowOnly(DIMENSION_KEYS);
    int before = problems.size();
    if (Identifiers.nameProblem(name) != null) {
      d.problem(null, "dimension " + Identifiers.nameProblem(name));
    }
    String source = d.requiredString("source");
    if (source != null && !tables.containsKey(source)) {
      d.problem("source", "no table '" + source + "' in lakehouse.tables; declared: " + tables.keySet());
    }
    List<String> naturalKey = d.strings("natural-key");
    if (naturalKey.isEmpty()) {
      d.problem("natural-key", "is required: the silver columns identifying a member");
    }
    String surrogateKey = d.string("surrogate-key", name + "_sk");
    List<String> tracked = d.strings("tracked");
    List<String> overwrite = d.strings("overwrite");
    Set<String> seen = new HashSet<>();
    List<String> all = new ArrayList<>(List.of(surrogateKey));
    all.addAll(naturalKey);
    all.addAll(tracked);
    all.addAll(overwrite);
    for (String column : all) {
      if (!seen.add(column.toLowerCase(Locale.ROOT))) {
        d.problem(null, "column '" + column + "' is listed twice");
      }
      if (SCD2_RESERVED.contains(column.toLowerCase(Locale.ROOT))) {
        d.problem(null, "column '" + column + "' is reserved by the SCD2 engine");
      }
    }
    return problems.size() > before ? null
        : new DimensionSpec(name, source, naturalKey, tracked, overwrite, surrogateKey);
  }

  private FactSpec fact(String name, ConfigNode f, Map<String, TableSpec> tables, Map<String, DimensionSpec> dimensions) {
    f.allowOnly(FACT_KEYS);
    int before = problems.size();
    String nameProblem = Identifiers.nameProblem(name);
    if (nameProblem != null) {
      f.problem(null, "fact " + nameProblem);
    } else if (name.startsWith("dim_")) {
      f.problem(null, "fact names must not start with dim_ (gold.dim_* are dimensions)");
    }
    List<String> grain = f.strings("grain");
    if (grain.isEmpty()) {
      f.problem("grain", "is required: the query's columns that identify a fact row");
    }
    String query = f.requiredString("query");
    Set<String> inputs = new LinkedHashSet<>();
    if (query != null) {
      try {
        for (List<String> relation : SqlRelations.of(query)) {
          String input = silverTable(relation, tables.keySet());
          if (input == null) {
            f.problem("query", "reads " + String.join(".", relation) + "; a fact query reads silver.<table> of"
                + " lakehouse.tables only (declared: " + tables.keySet() + ")");
          } else {
            inputs.add(input);
          }
        }
        if (inputs.isEmpty() && problems.size() == before) {
          f.problem("query", "reads no silver table");
        }
      } catch (SqlRelations.Unparsable e) {
        f.problem("query", "does not parse: " + e.getMessage());
      }
    }
    List<FactSpec.DimensionRef> refs = new ArrayList<>();
    Set<String> refColumns = new HashSet<>();
    for (ConfigNode r : f.objects("dimensions")) {
      r.allowOnly(Set.of("dimension", "key", "as-of", "as"));
      String dimensionName = r.requiredString("dimension");
      DimensionSpec dimension = dimensionName == null ? null : dimensions.get(dimensionName);
      if (dimensionName != null && dimension == null) {
        r.problem("dimension", "no dimension '" + dimensionName + "' in lakehouse.gold.dimensions; declared: "
            + dimensions.keySet());
      }
      List<String> key = r.strings("key");
      if (key.isEmpty()) {
        r.problem("key", "is required: the query columns holding the dimension's natural key");
      } else if (dimension != null && key.size() != dimension.naturalKey().size()) {
        r.problem("key", "names " + key.size() + " columns; dimension " + dimensionName + "'s natural key has "
            + dimension.naturalKey().size() + " " + dimension.naturalKey());
      }
      String asOf = r.requiredString("as-of");
      String column = r.string("as", dimension == null ? "" : dimension.surrogateKey());
      if (!refColumns.add(column)) {
        r.problem("as", "two dimension references would both make column " + column + "; name one with as = ...");
      }
      if (dimension != null && asOf != null) {
        refs.add(new FactSpec.DimensionRef(dimensionName, key, asOf, column));
      }
    }
    List<String> dates = f.strings("dates");
    List<FactSpec.TouchedBy> touchedBy = new ArrayList<>();
    Set<String> touchedTables = new HashSet<>();
    for (ConfigNode t : f.objects("touched-by")) {
      t.allowOnly(Set.of("table", "column", "source-column"));
      String table = t.requiredString("table");
      String column = t.requiredString("column");
      if (table != null && !inputs.contains(table)) {
        t.problem("table", "the query does not read silver." + table + " (it reads " + inputs + ")");
      }
      if (table != null && column != null) {
        touchedBy.add(new FactSpec.TouchedBy(table, column, t.string("source-column", column)));
        touchedTables.add(table);
      }
    }
    for (String input : inputs) {
      if (!touchedTables.contains(input)) {
        f.problem("touched-by", "says nothing about silver." + input + ", which the query reads: add"
            + " { table = " + input + ", column = <fact column equal to a column of " + input + "> }");
      }
    }
    return problems.size() > before ? null : new FactSpec(name, grain, query, refs, dates, touchedBy, inputs);
  }

  private static String silverTable(List<String> relation, Set<String> tables) {
    if (relation.size() == 2 && relation.get(0).equalsIgnoreCase(LakehousePaths.SILVER) && tables.contains(relation.get(1))) {
      return relation.get(1);
    }
    return null;
  }

  /** Marts in dependency order: a mart reading another mart comes after it. */
  private Map<String, MartSpec> marts(ConfigNode gold, Set<String> tables, Map<String, FactSpec> facts) {
    ConfigNode node = gold.child("marts");
    Map<String, MartSpec> declared = new TreeMap<>();
    for (String name : node.keys()) {
      String nameProblem = Identifiers.nameProblem(name);
      if (nameProblem != null) {
        node.problem(name, "mart " + nameProblem);
        continue;
      }
      String query = node.isObject(name) ? node.child(name).requiredString("query") : node.string(name, null);
      if (query == null || query.isBlank()) {
        node.problem(name, "must be a query, e.g. " + name + " = \"SELECT ... FROM gold.fact_x\"");
        continue;
      }
      Set<String> inputs = new LinkedHashSet<>();
      try {
        for (List<String> relation : SqlRelations.of(query)) {
          inputs.add(String.join(".", relation).toLowerCase(Locale.ROOT));
        }
      } catch (SqlRelations.Unparsable e) {
        node.problem(name, "does not parse: " + e.getMessage());
        continue;
      }
      declared.put(name, new MartSpec(name, query, inputs));
    }
    Set<String> known = new HashSet<>();
    tables.forEach(t -> known.add("silver." + t.toLowerCase(Locale.ROOT)));
    // Every configured dimension and fact, also one with problems of its own: those are reported
    // there, and a mart reading it would only repeat them as "not declared".
    gold.child("dimensions").keys().forEach(d -> known.add("gold." + DimensionSpec.tableOf(d).toLowerCase(Locale.ROOT)));
    gold.child("facts").keys().forEach(f -> known.add("gold." + f.toLowerCase(Locale.ROOT)));
    if (facts.values().stream().anyMatch(f -> !f.dates().isEmpty())) {
      known.add("gold.dim_date");
    }
    declared.keySet().forEach(m -> known.add("gold." + m.toLowerCase(Locale.ROOT)));
    for (MartSpec mart : declared.values()) {
      for (String input : mart.inputs()) {
        if (!known.contains(input)) {
          node.problem(mart.name(), "reads " + input + ", which is not a lakehouse table this specification"
              + " declares (marts read gold.* and silver.*)");
        }
      }
    }
    Map<String, MartSpec> ordered = new LinkedHashMap<>();
    Set<String> visiting = new LinkedHashSet<>();
    for (MartSpec mart : declared.values()) {
      orderMart(mart, declared, ordered, visiting, node);
    }
    return ordered;
  }

  private void orderMart(MartSpec mart, Map<String, MartSpec> declared, Map<String, MartSpec> ordered,
                         Set<String> visiting, ConfigNode node) {
    if (ordered.containsKey(mart.name())) {
      return;
    }
    if (!visiting.add(mart.name())) {
      node.problem(mart.name(), "marts read each other in a cycle: " + visiting);
      return;
    }
    for (String input : mart.inputs()) {
      MartSpec other = input.startsWith("gold.") ? declared.get(input.substring(5)) : null;
      if (other != null && !other.name().equals(mart.name())) {
        orderMart(other, declared, ordered, visiting, node);
      }
    }
    visiting.remove(mart.name());
    ordered.put(mart.name(), mart);
  }
}
