package dev.lakehouse.source;

import com.typesafe.config.ConfigUtil;
import dev.lakehouse.source.SourceCatalog.Catalog;
import dev.lakehouse.source.SourceCatalog.Column;
import dev.lakehouse.source.SourceCatalog.ForeignKey;
import dev.lakehouse.source.SourceCatalog.Kind;
import dev.lakehouse.source.SourceCatalog.Relation;
import dev.lakehouse.source.SourceCatalog.ReplicaIdentity;
import dev.lakehouse.source.SourceCatalog.UniqueIndex;
import dev.lakehouse.spec.Identifiers;
import java.text.Normalizer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
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
import java.util.regex.Pattern;

/**
 * Turns a {@link Catalog} into a starting configuration: every table with its key, a mode (incremental
 * on a change-time column when there is a good one, else full), lakehouse names that are safe
 * identifiers, and foreign keys as {@code relationships} rules. {@link #plan} holds the decisions,
 * {@link #configuration} writes them as HOCON (the same catalog always gives the same text).
 */
public final class Discovery {

  private Discovery() {}

  /** Names of change-time columns, best first; compared with a column's snake_case form. */
  public static final List<String> CHANGE_TIME_NAMES = List.of(
      "updated_at", "updated_on", "update_time", "last_update", "last_updated", "last_modified",
      "modified_at", "modified", "modified_on", "changed_at", "change_time", "updated", "changed", "changed_on",
      "last_changed", "updated_time", "modified_time");

  /** Integer columns whose name suggests a change counter: noted, never chosen (per-row counters are common). */
  static final Set<String> COUNTER_NAMES = Set.of(
      "version", "row_version", "revision", "change_seq", "change_no", "change_number", "change_id");

  public static final int MAX_NAME_LENGTH = 100;

  /** A lakehouse table name. */
  public static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");

  private static final Pattern TIME_TYPE = Pattern.compile("timestamp(\\(\\d\\))? with(out)? time zone|date");
  /** The change-time types read as a wall clock in source.time-zone. */
  private static final Pattern WALL_CLOCK_TYPE = Pattern.compile("timestamp(\\(\\d\\))? without time zone|date");
  private static final Pattern COUNTER_TYPE = Pattern.compile("integer|bigint");
  private static final Pattern BARE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Set<String> HOCON_WORDS = Set.of("true", "false", "null", "include", "yes", "no", "on", "off");
  private static final int WIDTH = 100;

  public enum Mode { INCREMENTAL, FULL }

  /** Where a table's key comes from. */
  public enum KeySource { PRIMARY_KEY, UNIQUE_INDEX, NONE }

  /**
   * A foreign key of a discovered table, as a relationships rule. Column names are silver's (after
   * {@link Table#renames}). {@code to} is the parent's lakehouse name, empty when the parent is not
   * discovered.
   */
  public record Relationship(String constraint, List<String> columns, String toSchema, String toTable,
                             Optional<String> to, List<String> toColumns, Status status, String note) {

    public enum Status {
      /** Emitted as a rule. */
      ACTIVE,
      /** Emitted as a rule; it refers to its own table (parent_id), which the engine skips when ordering. */
      SELF_REFERENCE,
      /** Emitted commented out: with it, the relationships would form a cycle. */
      CLOSES_CYCLE,
      /** Only a comment: the parent is in a schema that was not discovered. */
      NOT_DISCOVERED
    }

    public Relationship {
      columns = List.copyOf(columns);
      toColumns = List.copyOf(toColumns);
    }

    public boolean active() {
      return status == Status.ACTIVE || status == Status.SELF_REFERENCE;
    }
  }

  /**
   * The decisions for one relation.
   *
   * @param name the lakehouse name (the key under {@code tables})
   * @param primaryKey source column names in key order; empty: no key (full, compared whole)
   * @param keyIndex the unique index the key comes from, when {@code keySource} is UNIQUE_INDEX
   * @param renames source column -> silver name, for columns Spark and Delta cannot store as named
   * @param notes what a person should know, one sentence each
   */
  public record Table(String name, Relation relation, List<String> primaryKey, KeySource keySource,
                      Optional<String> keyIndex, Mode mode, Optional<String> cursor, Map<String, String> renames,
                      List<Relationship> relationships, List<String> notes) {

    public Table {
      primaryKey = List.copyOf(primaryKey);
      renames = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(renames));
      relationships = List.copyOf(relationships);
      notes = List.copyOf(notes);
    }

    /** The source relation's name differs from the lakehouse name: the entry needs {@code source-table}. */
    public boolean needsSourceTable() {
      return !relation.name().equals(name);
    }
  }

  public record Summary(int tables, int incremental, int full, int keyless) {
    @Override
    public String toString() {
      return tables + (tables == 1 ? " table" : " tables") + " (" + incremental + " incremental, " + full + " full, "
          + keyless + " keyless)";
    }
  }

  /**
   * Every decision, tables by lakehouse name. {@code schemaOnEveryTable}: more than one schema was
   * discovered, so every entry names its schema.
   */
  public record Plan(Catalog catalog, boolean schemaOnEveryTable, List<Table> tables) {

    public Plan {
      tables = List.copyOf(tables);
    }

    public Optional<Table> table(String name) {
      return tables.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    public Summary summary() {
      int incremental = (int) tables.stream().filter(t -> t.mode() == Mode.INCREMENTAL).count();
      int keyless = (int) tables.stream().filter(t -> t.keySource() == KeySource.NONE).count();
      return new Summary(tables.size(), incremental, tables.size() - incremental, keyless);
    }
  }

  /** The starting configuration for {@code catalog}, as HOCON. */
  public static String configuration(Catalog catalog) {
    return render(plan(catalog));
  }

  public static Plan plan(Catalog catalog) {
    Map<Relation, String> names = lakehouseNames(catalog.relations());
    Map<Relation, Table> tables = new LinkedHashMap<>();
    for (Relation relation : catalog.relations()) {
      tables.put(relation, decide(relation, names.get(relation)));
    }
    Map<Relation, List<Relationship>> relationships = relationships(tables);
    List<Table> result = new ArrayList<>();
    tables.forEach((relation, t) -> result.add(new Table(t.name(), relation, t.primaryKey(), t.keySource(),
        t.keyIndex(), t.mode(), t.cursor(), t.renames(), relationships.getOrDefault(relation, List.of()), t.notes())));
    result.sort(Comparator.comparing(Table::name));
    return new Plan(catalog, catalog.schemas().size() > 1, result);
  }

  // ---------------------------------------------------------------------------------------------
  // Keys, modes and cursors

  private static Table decide(Relation relation, String name) {
    List<String> notes = new ArrayList<>();
    describe(relation, notes);

    List<String> key = List.of();
    KeySource keySource = KeySource.NONE;
    Optional<String> keyIndex = Optional.empty();
    Optional<UniqueIndex> unique = relation.uniqueIndexes().stream()
        .filter(u -> u.columnsNotNull() || relation.kind() == Kind.MATERIALIZED_VIEW)
        .min(Comparator.comparing((UniqueIndex u) -> !u.columnsNotNull())
            .thenComparing(u -> u.columns().size()).thenComparing(UniqueIndex::name));
    if (!relation.primaryKey().isEmpty()) {
      key = relation.primaryKey();
      keySource = KeySource.PRIMARY_KEY;
    } else if (unique.isPresent()) {
      key = unique.get().columns();
      keySource = KeySource.UNIQUE_INDEX;
      keyIndex = Optional.of(unique.get().name());
      notes.add("Key: the unique index " + display(unique.get().name()) + " (no primary key)"
          + (unique.get().columnsNotNull() ? "." : "; a materialized view's columns cannot be declared NOT NULL, "
              + "so a NULL in " + String.join(", ", unique.get().columns().stream().map(Discovery::display).toList())
              + " would stop the table."));
    } else {
      String why = switch (relation.kind()) {
        case VIEW -> "a view has none";
        case MATERIALIZED_VIEW -> "the materialized view has no unique index";
        default -> "no primary key and no unique index whose columns are all NOT NULL";
      };
      notes.add("No key: " + why + ". Rows are compared whole; only full mode reads it.");
    }

    Mode mode = Mode.FULL;
    Optional<String> cursor = Optional.empty();
    if (relation.kind().isView()) {
      notes.add("Full: a " + relation.kind().label() + " is read whole every run; land = changed keeps only "
          + "the rows that changed.");
    } else {
      CursorChoice choice = chooseCursor(relation);
      if (choice.cursor().isPresent() && keySource != KeySource.NONE) {
        mode = Mode.INCREMENTAL;
        cursor = choice.cursor().map(Column::name);
        Column c = choice.cursor().get();
        notes.add("Incremental on " + display(c.name()) + " (" + c.type() + ", NOT NULL, leads an index).");
      } else if (choice.cursor().isPresent()) {
        notes.add("Full: " + display(choice.cursor().get().name()) + " would do as a cursor, but a table without "
            + "a key can only be full.");
      } else if (!choice.nearMisses().isEmpty()) {
        notes.add("Full: " + String.join(" ", choice.nearMisses()));
      } else {
        notes.add("Full: no change-time column. Each run reads a snapshot; land = changed keeps only the rows "
            + "that changed, and deletes.");
      }
      if (mode == Mode.FULL) {
        counterHint(relation).ifPresent(notes::add);
      }
      if (relation.replicaIdentity() == ReplicaIdentity.NOTHING
          || relation.replicaIdentity() == ReplicaIdentity.DEFAULT && relation.primaryKey().isEmpty()) {
        notes.add("Replica identity: none, so mode = log could not tell which row an update or delete touched.");
      }
    }
    Map<String, String> renames = renames(relation, notes);
    List<String> unbounded = unboundedNumerics(relation);
    if (!unbounded.isEmpty()) {
      notes.add(String.join(", ", unbounded.stream().map(Discovery::display).toList())
          + (unbounded.size() == 1 ? " is numeric" : " are numeric") + " without a precision, landed as decimal(38,18):"
          + " a value with more than 18 decimals (a division's result often has 20) or 20 digits before the point"
          + " stops the table. If the values may not fit, list " + (unbounded.size() == 1 ? "it" : "them")
          + " in as-text (the line below) before the first run, since as-text sets a column's type only when its"
          + " table first lands; or give the column a precision in the source.");
    }
    return new Table(name, relation, key, keySource, keyIndex, mode, cursor, renames, List.of(), notes);
  }

  /** Columns (or arrays) of {@code numeric} without a precision: their values may not fit decimal(38,18). */
  static List<String> unboundedNumerics(Relation relation) {
    return relation.columns().stream()
        .filter(c -> c.type().equals("numeric") || c.type().equals("numeric[]"))
        .map(Column::name).toList();
  }

  private static void describe(Relation relation, List<String> notes) {
    StringBuilder what = new StringBuilder(display(relation.schema()) + "." + display(relation.name()) + ": "
        + relation.kind().label());
    relation.partitionKey().ifPresent(key -> what.append(" by ").append(key).append(", ")
        .append(relation.partitions()).append(relation.partitions() == 1 ? " partition" : " partitions")
        .append(" (read through the parent)"));
    relation.estimatedRows().ifPresentOrElse(
        rows -> what.append(String.format(Locale.ROOT, ", about %,d rows", rows)),
        () -> what.append(relation.kind() == Kind.VIEW ? "" : ", row count unknown (never analyzed)"));
    notes.add(what + ".");
  }

  private record CursorChoice(Optional<Column> cursor, List<String> nearMisses) {}

  /** The best-named change-time column that is NOT NULL, a timestamp or date, and leads an index. */
  static CursorChoice chooseCursor(Relation relation) {
    List<Column> candidates = relation.columns().stream()
        .filter(c -> CHANGE_TIME_NAMES.contains(snakeCase(c.name())))
        .sorted(Comparator.comparing((Column c) -> CHANGE_TIME_NAMES.indexOf(snakeCase(c.name())))
            .thenComparing(c -> !c.name().equals(snakeCase(c.name())))
            .thenComparing(Column::position))
        .toList();
    List<String> nearMisses = new ArrayList<>();
    for (Column c : candidates) {
      List<String> problems = new ArrayList<>();
      if (!TIME_TYPE.matcher(c.type()).matches()) {
        problems.add("it is " + c.type() + ", not a timestamp or date");
      }
      if (!c.notNull()) {
        problems.add("it may be NULL");
      }
      if (!relation.leadsAnIndex(c.name())) {
        problems.add("no index leads with it (CREATE INDEX ON " + relation.qualifiedName() + " ("
            + SourceCatalog.sqlName(c.name()) + ") would answer an incremental window)");
      }
      if (problems.isEmpty()) {
        return new CursorChoice(Optional.of(c), List.of());
      }
      nearMisses.add(display(c.name()) + " looks like a change time, but " + String.join("; ", problems) + ".");
    }
    return new CursorChoice(Optional.empty(), nearMisses);
  }

  private static Optional<String> counterHint(Relation relation) {
    return relation.columns().stream()
        .filter(c -> COUNTER_NAMES.contains(snakeCase(c.name())) && COUNTER_TYPE.matcher(c.type()).matches()
            && c.notNull() && relation.leadsAnIndex(c.name()))
        .findFirst()
        .map(c -> display(c.name()) + " (" + c.type() + ", NOT NULL, leads an index) may be a change counter. If "
            + "every insert and update takes it from one sequence, so that it grows across the whole table (a "
            + "per-row version + 1 does not), the table can be incremental: mode = incremental, cursor = "
            + hocon(c.name()) + ", lookback = a number of versions.");
  }

  /** Columns silver cannot name as the source does get a silver name; columns equal ignoring case are noted. */
  private static Map<String, String> renames(Relation relation, List<String> notes) {
    Map<String, String> renames = new LinkedHashMap<>();
    Set<String> taken = new HashSet<>();
    relation.columns().stream().filter(c -> Identifiers.plainSilverName(c.name()))
        .forEach(c -> taken.add(c.name().toLowerCase(Locale.ROOT)));
    for (Column c : relation.columns()) {
      if (!Identifiers.plainSilverName(c.name())) {
        String base = snakeCase(c.name());
        base = base.isEmpty() ? "column_" + c.position() : Character.isLetter(base.charAt(0)) ? base : "c_" + base;
        String target = unique(truncate(base, MAX_NAME_LENGTH), taken);
        taken.add(target);
        renames.put(c.name(), target);
      }
    }
    List<String> mapped = renames.keySet().stream().filter(n -> !Identifiers.storable(n)).toList();
    List<String> plain = renames.keySet().stream().filter(Identifiers::storable).toList();
    if (!mapped.isEmpty()) {
      notes.add("Delta holds the column names " + String.join(", ", mapped.stream().map(ConfigUtil::quoteString).toList())
          + " only with column mapping (they have spaces or ,;{}()=, tabs or newlines): bronze keeps them so,"
          + " and silver.rename gives each a plain name for silver and gold.");
    }
    if (!plain.isEmpty()) {
      List<String> why = new ArrayList<>();
      if (plain.stream().anyMatch(n -> n.contains("."))) {
        why.add("Spark would read a dot as a struct field");
      }
      if (plain.stream().anyMatch(n -> n.contains("`"))) {
        why.add("Delta's MERGE cannot parse a back-quote");
      }
      if (plain.stream().anyMatch(n -> n.startsWith("_"))) {
        why.add("a leading _ marks the lakehouse's own columns");
      }
      notes.add("Bronze keeps the column names " + String.join(", ", plain.stream().map(ConfigUtil::quoteString).toList())
          + "; silver.rename gives each a plain name for silver and gold, where "
          + (why.size() == 1 ? why.get(0) : String.join(", ", why.subList(0, why.size() - 1)) + " and " + why.get(why.size() - 1))
          + ".");
    }
    relation.columns().stream().map(c -> Identifiers.sourceColumnProblem(c.name())).filter(java.util.Objects::nonNull)
        .forEach(problem -> notes.add("Bronze stops on this table: " + problem + " (source-table = the view)."));
    Map<String, List<String>> byLowerCase = new TreeMap<>();
    relation.columns().forEach(c -> byLowerCase.computeIfAbsent(c.name().toLowerCase(Locale.ROOT),
        k -> new ArrayList<>()).add(c.name()));
    byLowerCase.values().stream().filter(names -> names.size() > 1).forEach(names -> notes.add(
        "Columns " + String.join(" and ", names.stream().map(Discovery::display).toList()) + " differ only in case:"
            + " Spark compares column names ignoring case, so one of them needs another name in the source."));
    return renames;
  }

  // ---------------------------------------------------------------------------------------------
  // Names

  /** OrderLines -> order_lines, "Line Items" -> line_items, HTTPServer -> http_server; accents dropped. */
  public static String snakeCase(String name) {
    String s = Normalizer.normalize(name, Normalizer.Form.NFKD).replaceAll("\\p{M}+", "");
    s = s.replaceAll("([a-z0-9])([A-Z])", "$1_$2").replaceAll("([A-Z]+)([A-Z][a-z])", "$1_$2");
    return s.replaceAll("[^A-Za-z0-9]+", "_").toLowerCase(Locale.ROOT).replaceAll("^_+|_+$", "");
  }

  /**
   * Lakehouse names for relations: snake_case, prefixed with the schema when the same name is found in
   * more than one schema, numbered (_2, _3) when still equal ignoring case. Unique and deterministic.
   */
  static Map<Relation, String> lakehouseNames(List<Relation> relations) {
    Map<String, Set<String>> schemasByBase = new HashMap<>();
    relations.forEach(r -> schemasByBase.computeIfAbsent(tableName(r.name()), k -> new HashSet<>()).add(r.schema()));
    Map<Relation, String> candidates = new LinkedHashMap<>();
    for (Relation r : relations) {
      String base = tableName(r.name());
      String schema = snakeCase(r.schema());
      candidates.put(r, schemasByBase.get(base).size() > 1
          ? tableName((schema.isEmpty() ? "s" : schema) + "_" + base) : base);
    }
    List<Relation> order = new ArrayList<>(relations);
    order.sort(Comparator.comparing((Relation r) -> candidates.get(r))
        .thenComparing(r -> !r.name().equals(candidates.get(r)))
        .thenComparing(Relation::schema).thenComparing(Relation::name));
    Map<Relation, String> names = new LinkedHashMap<>();
    Set<String> taken = new HashSet<>();
    for (Relation r : order) {
      if (taken.add(candidates.get(r))) {
        names.put(r, candidates.get(r));
      }
    }
    for (Relation r : order) {
      if (!names.containsKey(r)) {
        String name = unique(candidates.get(r), taken);
        taken.add(name);
        names.put(r, name);
      }
    }
    return names;
  }

  private static String tableName(String sourceName) {
    String s = snakeCase(sourceName);
    if (s.isEmpty()) {
      s = "table";
    } else if (!Character.isLetter(s.charAt(0))) {
      s = "t_" + s;
    }
    return truncate(s, MAX_NAME_LENGTH);
  }

  /** {@code base}, or base_2, base_3, ... (kept within the length limit), whichever is not taken (lower case). */
  private static String unique(String base, Set<String> taken) {
    if (!taken.contains(base.toLowerCase(Locale.ROOT))) {
      return base;
    }
    for (int n = 2; ; n++) {
      String suffix = "_" + n;
      String name = truncate(base, MAX_NAME_LENGTH - suffix.length()) + suffix;
      if (!taken.contains(name.toLowerCase(Locale.ROOT))) {
        return name;
      }
    }
  }

  private static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max).replaceAll("_+$", "");
  }

  // ---------------------------------------------------------------------------------------------
  // Relationships

  private static Map<Relation, List<Relationship>> relationships(Map<Relation, Table> tables) {
    record Edge(Table child, ForeignKey fk, Table parent, boolean nullable) {}
    Map<String, Table> bySourceName = new HashMap<>();
    tables.forEach((relation, table) -> bySourceName.put(relation.schema() + '\u0000' + relation.name(), table));
    Map<Relation, List<Relationship>> result = new HashMap<>();
    List<Edge> edges = new ArrayList<>();
    Map<Edge, Relationship.Status> status = new HashMap<>();
    Map<Edge, String> notes = new HashMap<>();
    for (Table child : tables.values()) {
      for (ForeignKey fk : child.relation().foreignKeys()) {
        Table parent = bySourceName.get(fk.toSchema() + '\u0000' + fk.toTable());
        boolean nullable = fk.columns().stream()
            .anyMatch(c -> child.relation().column(c).map(col -> !col.notNull()).orElse(true));
        Edge edge = new Edge(child, fk, parent, nullable);
        edges.add(edge);
        if (parent == null) {
          status.put(edge, Relationship.Status.NOT_DISCOVERED);
          notes.put(edge, "Foreign key " + display(fk.name()) + " (" + String.join(", ", fk.columns().stream()
              .map(Discovery::display).toList()) + ") refers to " + display(fk.toSchema()) + "."
              + display(fk.toTable()) + ", which is not discovered: no rule.");
        } else if (parent == child) {
          status.put(edge, Relationship.Status.SELF_REFERENCE);
          notes.put(edge, "Refers to its own table; the engine does not order a table after itself.");
        }
      }
    }
    // Parents must be applied before their children, so the active rules must not form a cycle. Edges
    // are added mandatory (NOT NULL) ones first, then by child and constraint name; an edge whose parent
    // already reaches the child would close a cycle and is left commented out.
    Map<String, Set<String>> parentsOf = new HashMap<>();
    edges.stream().filter(e -> !status.containsKey(e))
        .sorted(Comparator.comparing(Edge::nullable).thenComparing(e -> e.child().name())
            .thenComparing(e -> e.fk().name()))
        .forEach(e -> {
          List<String> path = path(parentsOf, e.parent().name(), e.child().name());
          if (path.isEmpty()) {
            parentsOf.computeIfAbsent(e.child().name(), k -> new LinkedHashSet<>()).add(e.parent().name());
            status.put(e, Relationship.Status.ACTIVE);
          } else {
            status.put(e, Relationship.Status.CLOSES_CYCLE);
            notes.put(e, "Left out: " + e.child().name() + " -> " + String.join(" -> ", path) + " would be a cycle,"
                + " and the engine applies parents before children. Enable it only once the cycle is broken.");
          }
        });
    for (Edge e : edges) {
      Map<String, String> childRenames = e.child().renames();
      Map<String, String> parentRenames = e.parent() == null ? Map.of() : e.parent().renames();
      result.computeIfAbsent(e.child().relation(), k -> new ArrayList<>()).add(new Relationship(
          e.fk().name(),
          e.fk().columns().stream().map(c -> childRenames.getOrDefault(c, c)).toList(),
          e.fk().toSchema(), e.fk().toTable(),
          Optional.ofNullable(e.parent()).map(Table::name),
          e.fk().toColumns().stream().map(c -> parentRenames.getOrDefault(c, c)).toList(),
          status.get(e), notes.getOrDefault(e, "")));
    }
    return result;
  }

  /** The path from {@code from} to {@code to} along child -> parent edges (both ends included), or empty. */
  private static List<String> path(Map<String, Set<String>> parentsOf, String from, String to) {
    Map<String, String> previous = new HashMap<>();
    Deque<String> queue = new ArrayDeque<>(List.of(from));
    previous.put(from, from);
    while (!queue.isEmpty()) {
      String at = queue.removeFirst();
      if (at.equals(to)) {
        List<String> path = new ArrayList<>();
        for (String step = to; ; step = previous.get(step)) {
          path.add(0, step);
          if (step.equals(from)) {
            return path;
          }
        }
      }
      for (String next : parentsOf.getOrDefault(at, Set.of())) {
        if (previous.putIfAbsent(next, at) == null) {
          queue.addLast(next);
        }
      }
    }
    return List.of();
  }

  // ---------------------------------------------------------------------------------------------
  // HOCON

  /**
   * source.time-zone, when a chosen cursor is a wall-clock time (timestamp without time zone, date)
   * and the database's sessions write another zone than UTC by default: what PostgreSQL's own
   * defaults (localtimestamp, now() into such a column) write, unless the application sets its own.
   */
  private static void renderTimeZone(StringBuilder out, Plan plan) {
    List<String> wallClock = plan.tables().stream()
        .filter(t -> t.cursor().flatMap(c -> t.relation().column(c))
            .map(c -> WALL_CLOCK_TYPE.matcher(c.type()).matches()).orElse(false))
        .map(Table::name).toList();
    String zone = plan.catalog().timeZone();
    if (wallClock.isEmpty() || zone == null) {
      return;
    }
    String cursors = wallClock.size() == 1 ? "The cursor of " + wallClock.get(0) + " is a wall-clock time,"
        : "The cursors of " + String.join(", ", wallClock) + " are wall-clock times,";
    java.time.ZoneId id;
    try {
      id = java.time.ZoneId.of(zone);
    } catch (java.time.DateTimeException e) {
      comment(out, "  ", cursors + " read in source.time-zone (default UTC). This database's sessions write "
          + zone + " by default, which is not a zone name Java knows: set source.time-zone to the zone the"
          + " application writes in, as Region/City.");
      return;
    }
    if (java.time.ZoneOffset.UTC.equals(id.normalized())) {
      return;
    }
    comment(out, "  ", cursors + " read in source.time-zone. This database's sessions write " + zone
        + " by default (its TimeZone): set the zone the application writes in, if it sets another.");
    out.append("  source.time-zone = ").append(hocon(zone)).append('\n');
  }

  public static String render(Plan plan) {
    Catalog catalog = plan.catalog();
    StringBuilder out = new StringBuilder();
    Summary summary = plan.summary();
    out.append("# A starting configuration, written by `lakehouse discover`.\n");
    out.append("#   source:  ").append(oneLine(catalog.url())).append(" (database ").append(oneLine(catalog.database()))
        .append(", PostgreSQL ").append(oneLine(catalog.serverVersion())).append(")\n");
    out.append("#   schemas: ").append(String.join(", ", catalog.schemas().stream().map(Discovery::display).toList()))
        .append('\n');
    out.append("#   read at: ").append(catalog.readAt()).append('\n');
    out.append("#   found:   ").append(summary.tables()).append(" tables: ").append(summary.incremental())
        .append(" incremental, ").append(summary.full()).append(" full (").append(summary.keyless())
        .append(" of them without a key)\n");
    out.append("#\n");
    comment(out, "", "Review before the first run:");
    List<String> review = new ArrayList<>(List.of(
        "Keys: each primary-key must identify a row. `primary-key = []` means none was found: rows are"
            + " compared whole, and only full mode is possible.",
        "Incremental tables: the cursor must move forward on every insert and update (the application or a"
            + " trigger sets it); if it does not, make the table full. lookback (default"
            + " lakehouse.extract.lookback) covers transactions that commit late.",
        "Full tables read a snapshot every run and land only what changed (land = changed). A large one with a"
            + " reliable change column is worth making incremental; the notes say what was missing.",
        "Quality: the relationships rules come from foreign keys, at action = warn. Raise them to quarantine"
            + " where orphans must not reach silver, and add not_null, accepted_values, range, pattern and"
            + " freshness rules where the data needs them.",
        "partitions, method and fetch-size come from lakehouse.extract; the row estimates in the notes help"
            + " size partitions for large tables.",
        "Not written here: the connection (url and user in conf/<env>.conf, the password only from"
            + " LAKEHOUSE_SOURCE_PASSWORD), and gold. Add lakehouse.gold { dimensions, facts, marts } yourself."));
    if (plan.schemaOnEveryTable()) {
      review.add("Several schemas: every table names its schema, and a name found in more than one schema is"
          + " prefixed with it. source.schema is the first one only as a default for tables you add.");
    }
    review.forEach(line -> comment(out, "", "- " + line, "  "));
    out.append("lakehouse {\n");
    out.append("  source.schema = ").append(hocon(catalog.schemas().get(0))).append('\n');
    renderTimeZone(out, plan);
    out.append("\n  tables {\n");
    boolean first = true;
    for (Table table : plan.tables()) {
      if (!first) {
        out.append('\n');
      }
      first = false;
      renderTable(out, plan, table);
    }
    out.append("  }\n}\n");
    return out.toString();
  }

  private static void renderTable(StringBuilder out, Plan plan, Table table) {
    String in = "    ";
    String body = in + "  ";
    table.notes().forEach(note -> comment(out, in, note));
    out.append(in).append(table.name()).append(" {\n");
    if (plan.schemaOnEveryTable()) {
      out.append(body).append("schema = ").append(hocon(table.relation().schema())).append('\n');
    }
    if (table.needsSourceTable()) {
      out.append(body).append("source-table = ").append(ConfigUtil.quoteString(table.relation().name())).append('\n');
    }
    out.append(body).append("primary-key = ").append(list(table.primaryKey())).append('\n');
    if (table.mode() == Mode.INCREMENTAL) {
      out.append(body).append("mode = incremental\n");
      out.append(body).append("cursor = ").append(hocon(table.cursor().orElseThrow())).append('\n');
    } else {
      out.append(body).append("mode = full\n");
      out.append(body).append("land = changed\n");
    }
    List<String> unbounded = unboundedNumerics(table.relation());
    if (!unbounded.isEmpty()) {
      out.append(body).append("# as-text = ").append(list(unbounded)).append('\n');
    }
    if (!table.renames().isEmpty()) {
      out.append(body).append("silver.rename {\n");
      table.renames().forEach((from, to) ->
          out.append(body).append("  ").append(ConfigUtil.quoteString(from)).append(" = ").append(hocon(to)).append('\n'));
      out.append(body).append("}\n");
    }
    List<Relationship> rules = table.relationships();
    List<Relationship> onlyNotes = rules.stream().filter(r -> r.status() == Relationship.Status.NOT_DISCOVERED).toList();
    List<Relationship> asRules = rules.stream().filter(r -> r.status() != Relationship.Status.NOT_DISCOVERED).toList();
    onlyNotes.forEach(r -> comment(out, body, r.note()));
    if (!asRules.isEmpty()) {
      out.append(body).append("quality = [\n");
      for (Relationship r : asRules) {
        String rule = rule(r);
        if (!r.note().isEmpty()) {
          comment(out, body + "  ", r.note());
        }
        out.append(body).append("  ").append(r.active() ? "" : "# ").append(rule).append('\n');
      }
      out.append(body).append("]\n");
    }
    out.append(in).append("}\n");
  }

  private static String rule(Relationship r) {
    String to = hocon(r.to().orElseThrow());
    if (r.columns().size() == 1) {
      return "{ rule = relationships, column = " + hocon(r.columns().get(0)) + ", to = " + to + ", to-column = "
          + hocon(r.toColumns().get(0)) + ", action = warn }";
    }
    return "{ rule = relationships, columns = " + list(r.columns()) + ", to = " + to + ", to-columns = "
        + list(r.toColumns()) + ", action = warn }";
  }

  private static String list(List<String> values) {
    return "[" + String.join(", ", values.stream().map(Discovery::hocon).toList()) + "]";
  }

  /** A HOCON key or value: bare when it is a plain identifier, else a quoted string. */
  public static String hocon(String value) {
    return BARE.matcher(value).matches() && !HOCON_WORDS.contains(value.toLowerCase(Locale.ROOT))
        ? value : ConfigUtil.quoteString(value);
  }

  /** A source name in a comment: bare when plain lower case, else quoted (so it never breaks the line). */
  static String display(String name) {
    return name.matches("[a-z_][a-z0-9_]*") ? name : ConfigUtil.quoteString(name);
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\p{Cntrl}", " ");
  }

  private static void comment(StringBuilder out, String indent, String text) {
    comment(out, indent, text, "");
  }

  /** {@code text} as # lines of at most WIDTH characters (a longer word stays whole). */
  private static void comment(StringBuilder out, String indent, String text, String continuation) {
    String prefix = indent + "# ";
    StringBuilder line = new StringBuilder(prefix);
    boolean empty = true;
    for (String word : oneLine(text).split(" +")) {
      if (!empty && line.length() + 1 + word.length() > WIDTH) {
        out.append(line).append('\n');
        line = new StringBuilder(prefix + continuation);
        empty = true;
      }
      line.append(empty ? "" : " ").append(word);
      empty = false;
    }
    out.append(line).append('\n');
  }
}
