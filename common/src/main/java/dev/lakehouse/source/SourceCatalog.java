package dev.lakehouse.source;

import dev.lakehouse.LakehouseException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;

/**
 * What PostgreSQL's catalog says about the relations of one or more schemas: tables, partitioned
 * tables (their partitions are left out: they are read through the parent), views and materialized
 * views, with their columns, keys, indexes and foreign keys.
 *
 * <p>Five queries whatever the number of tables (relations, columns, primary keys, indexes, foreign
 * keys), in one read-only repeatable-read transaction, so they all see the same catalog.
 */
public final class SourceCatalog {

  private SourceCatalog() {}

  /** The kinds of relation read, with their {@code pg_class.relkind}. */
  public enum Kind {
    TABLE('r', "table"),
    PARTITIONED_TABLE('p', "partitioned table"),
    VIEW('v', "view"),
    MATERIALIZED_VIEW('m', "materialized view");

    private final char relkind;
    private final String label;

    Kind(char relkind, String label) {
      this.relkind = relkind;
      this.label = label;
    }

    public String label() {
      return label;
    }

    /** A view or a materialized view: read as a whole, never incrementally. */
    public boolean isView() {
      return this == VIEW || this == MATERIALIZED_VIEW;
    }

    static Kind of(char relkind) {
      for (Kind kind : values()) {
        if (kind.relkind == relkind) {
          return kind;
        }
      }
      throw new IllegalArgumentException("relkind " + relkind);
    }
  }

  /** {@code pg_class.relreplident}: what a logical decoding of an update or delete carries of the old row. */
  public enum ReplicaIdentity {
    /** The primary key (nothing when there is none). */
    DEFAULT,
    NOTHING,
    /** The whole old row. */
    FULL,
    /** The columns of a chosen unique index. */
    INDEX;

    static ReplicaIdentity of(char relreplident) {
      return switch (relreplident) {
        case 'd' -> DEFAULT;
        case 'f' -> FULL;
        case 'i' -> INDEX;
        default -> NOTHING;
      };
    }
  }

  /**
   * A column. {@code type} is PostgreSQL's {@code format_type} (e.g. {@code timestamp with time zone},
   * {@code numeric(12,2)}, {@code text[]}, a domain or enum by its name). {@code position} counts the
   * relation's live columns from 1 (dropped columns leave no gap).
   */
  public record Column(String name, String type, boolean notNull, int position) {}

  /**
   * A unique index usable as a key: plain columns (no expression), not partial, valid, not the
   * primary key's. {@code columnsNotNull}: every column is declared NOT NULL (a materialized view's
   * columns never are).
   */
  public record UniqueIndex(String name, List<String> columns, boolean columnsNotNull) {
    public UniqueIndex {
      columns = List.copyOf(columns);
    }
  }

  /** A foreign key, column for column in constraint order (composite keys included). */
  public record ForeignKey(String name, List<String> columns, String toSchema, String toTable, List<String> toColumns) {
    public ForeignKey {
      columns = List.copyOf(columns);
      toColumns = List.copyOf(toColumns);
    }
  }

  /**
   * One relation.
   *
   * @param primaryKey columns in key order; empty when there is no primary key
   * @param uniqueIndexes see {@link UniqueIndex}, by name
   * @param leadingIndexColumns columns that are the first key column of a valid, non-partial btree
   *     index (so a range condition on them is answered by an index), in column order
   * @param foreignKeys by constraint name; for a partitioned table, the parent's constraints only
   * @param estimatedRows {@code pg_class.reltuples} (summed over the partitions of a partitioned
   *     table); empty when never analyzed, and for views
   * @param partitionKey {@code pg_get_partkeydef} of a partitioned table, e.g. {@code RANGE (day)}
   * @param partitions leaf partitions of a partitioned table, 0 otherwise
   */
  public record Relation(
      String schema, String name, Kind kind, List<Column> columns, List<String> primaryKey,
      List<UniqueIndex> uniqueIndexes, List<String> leadingIndexColumns, List<ForeignKey> foreignKeys,
      ReplicaIdentity replicaIdentity, OptionalLong estimatedRows, Optional<String> partitionKey, int partitions) {

    public Relation {
      columns = List.copyOf(columns);
      primaryKey = List.copyOf(primaryKey);
      uniqueIndexes = List.copyOf(uniqueIndexes);
      leadingIndexColumns = List.copyOf(leadingIndexColumns);
      foreignKeys = List.copyOf(foreignKeys);
    }

    public Optional<Column> column(String columnName) {
      return columns.stream().filter(c -> c.name().equals(columnName)).findFirst();
    }

    public boolean leadsAnIndex(String columnName) {
      return leadingIndexColumns.contains(columnName);
    }

    /** {@code schema.name} for messages, a part quoted when it is not plain lower case. */
    public String qualifiedName() {
      return sqlName(schema) + "." + sqlName(name);
    }
  }

  /**
   * The catalog of the schemas asked for.
   *
   * @param url the JDBC URL read from, without its password
   * @param readAt the server's clock when the catalog was read
   * @param timeZone the zone this database's sessions of this user write wall-clock times in by
   *     default, as PostgreSQL names it: the {@code TimeZone} set for the role or database, else the
   *     server's (its {@code log_timezone}, which the server sets alike and no client overrides)
   * @param relations by schema, then name
   */
  public record Catalog(String url, String database, String serverVersion, List<String> schemas, Instant readAt,
                        String timeZone, List<Relation> relations) {

    public Catalog {
      schemas = List.copyOf(schemas);
      relations = List.copyOf(relations);
    }

    public Optional<Relation> relation(String schema, String name) {
      return relations.stream().filter(r -> r.schema().equals(schema) && r.name().equals(name)).findFirst();
    }
  }

  /**
   * The session's own TimeZone is the driver's (it sends the JVM's zone) and the lakehouse's (UTC),
   * so the default is read where PostgreSQL keeps it: a role's setting in this database, the role's,
   * the database's (that order wins), else the server's log_timezone, set with timezone by initdb.
   */
  private static final String DEFAULT_TIME_ZONE = """
      COALESCE((SELECT substr(c, length('timezone=') + 1) FROM pg_db_role_setting s CROSS JOIN unnest(s.setconfig) c
                WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
                  AND s.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = current_user))
                  AND lower(c) LIKE 'timezone=%'
                ORDER BY (s.setdatabase <> 0 AND s.setrole <> 0) DESC, (s.setrole <> 0) DESC LIMIT 1),
               current_setting('log_timezone'))""";

  private static final String RELATIONS = """
      SELECT c.oid, n.nspname, c.relname, c.relkind, c.relreplident,
             CASE WHEN c.relkind = 'p'
                  THEN (SELECT CASE WHEN count(*) = 0 OR bool_and(l.reltuples < 0) THEN -1
                                    ELSE sum(greatest(l.reltuples, 0)) END
                        FROM pg_partition_tree(c.oid) t JOIN pg_class l ON l.oid = t.relid
                        WHERE t.isleaf)
                  WHEN c.relkind IN ('v') THEN -1
                  ELSE c.reltuples END::float8 AS estimated_rows,
             CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
             CASE WHEN c.relkind = 'p'
                  THEN (SELECT count(*) FROM pg_partition_tree(c.oid) t WHERE t.isleaf)
                  ELSE 0 END AS partitions
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY(?) AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
      ORDER BY n.nspname, c.relname""";

  /** The relations' filter, for the queries that join pg_class as c and pg_namespace as n. */
  private static final String SAME_RELATIONS =
      "n.nspname = ANY(?) AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition";

  private static final String COLUMNS = """
      SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE %s AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum""".formatted(SAME_RELATIONS);

  private static final String PRIMARY_KEYS = """
      SELECT con.conrelid, a.attname
      FROM pg_constraint con
      JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
      WHERE %s AND con.contype = 'p'
      ORDER BY con.conrelid, k.ord""".formatted(SAME_RELATIONS);

  // Only key columns (not INCLUDE ones); an expression has attnum 0, so no attname.
  private static final String INDEXES = """
      SELECT i.indrelid, ic.relname, i.indisunique, i.indisprimary, am.amname = 'btree',
             i.indpred IS NOT NULL, k.ord, a.attname, a.attnotnull
      FROM pg_index i
      JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
      JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
      LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
      WHERE %s AND i.indisvalid AND i.indislive AND k.ord <= i.indnkeyatts
      ORDER BY i.indrelid, ic.relname, k.ord""".formatted(SAME_RELATIONS);

  // conparentid = 0: a foreign key on a partitioned table, or to one, has clones per partition.
  private static final String FOREIGN_KEYS = """
      SELECT con.conrelid, con.conname, a.attname, fn.nspname, fc.relname, fa.attname
      FROM pg_constraint con
      JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_class fc ON fc.oid = con.confrelid JOIN pg_namespace fn ON fn.oid = fc.relnamespace
      CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, ord)
      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
      JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.fattnum
      WHERE %s AND con.contype = 'f' AND con.conparentid = 0
      ORDER BY con.conrelid, con.conname, k.ord""".formatted(SAME_RELATIONS);

  /**
   * Reads the catalog of {@code schemas} (in the order given, duplicates dropped). On a connection in
   * auto-commit, in a read-only repeatable-read transaction of its own; otherwise in the caller's.
   *
   * @throws LakehouseException when a schema does not exist (naming the ones that do) or a query fails
   */
  public static Catalog read(Connection connection, List<String> schemas) {
    List<String> wanted = List.copyOf(new LinkedHashSet<>(schemas));
    if (wanted.isEmpty()) {
      throw new IllegalArgumentException("No schema to discover");
    }
    try {
      if (!connection.getAutoCommit()) {
        return readInTransaction(connection, wanted);   // the caller's transaction: theirs to end
      }
      int isolation = connection.getTransactionIsolation();
      boolean readOnly = connection.isReadOnly();
      try {
        connection.setAutoCommit(false);
        connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        connection.setReadOnly(true);
        Catalog catalog = readInTransaction(connection, wanted);
        connection.commit();
        return catalog;
      } catch (SQLException | RuntimeException e) {
        connection.rollback();
        throw e;
      } finally {
        connection.setAutoCommit(true);
        connection.setReadOnly(readOnly);
        connection.setTransactionIsolation(isolation);
      }
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read the catalog of schemas " + String.join(", ", wanted), e);
    }
  }

  private static Catalog readInTransaction(Connection connection, List<String> schemas) throws SQLException {
    String url = withoutCredentials(connection.getMetaData().getURL());
    String database;
    String version;
    Instant readAt;
    String timeZone;
    List<String> existing = new ArrayList<>();
    try (PreparedStatement s = connection.prepareStatement(
        "SELECT current_database(), current_setting('server_version'), now(), "
            + "ARRAY(SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' "
            + "ORDER BY nspname), " + DEFAULT_TIME_ZONE);
         ResultSet rs = s.executeQuery()) {
      rs.next();
      database = rs.getString(1);
      version = rs.getString(2);
      readAt = rs.getObject(3, java.time.OffsetDateTime.class).toInstant();
      for (Object name : (Object[]) rs.getArray(4).getArray()) {
        existing.add((String) name);
      }
      timeZone = rs.getString(5);
    }
    List<String> missing = schemas.stream().filter(s -> !existing.contains(s)).toList();
    if (!missing.isEmpty()) {
      throw new LakehouseException((missing.size() == 1 ? "Schema " : "Schemas ")
          + String.join(", ", missing.stream().map(m -> "'" + m + "'").toList())
          + (missing.size() == 1 ? " does" : " do") + " not exist in " + url
          + "; its schemas are: " + String.join(", ", existing));
    }

    Array names = connection.createArrayOf("text", schemas.toArray());
    Map<Long, RelationBuilder> byOid = new LinkedHashMap<>();
    query(connection, RELATIONS, names, rs -> {
      RelationBuilder r = new RelationBuilder(rs.getString(2), rs.getString(3), Kind.of(rs.getString(4).charAt(0)),
          ReplicaIdentity.of(rs.getString(5).charAt(0)), rs.getDouble(6), rs.getString(7), rs.getInt(8));
      byOid.put(rs.getLong(1), r);
    });
    query(connection, COLUMNS, names, rs -> {
      RelationBuilder r = byOid.get(rs.getLong(1));
      r.columns.add(new Column(rs.getString(2), rs.getString(3), rs.getBoolean(4), r.columns.size() + 1));
    });
    query(connection, PRIMARY_KEYS, names, rs -> byOid.get(rs.getLong(1)).primaryKey.add(rs.getString(2)));
    Map<Long, Map<String, IndexBuilder>> indexes = new HashMap<>();
    query(connection, INDEXES, names, rs -> {
      IndexBuilder index = indexes.computeIfAbsent(rs.getLong(1), k -> new LinkedHashMap<>())
          .computeIfAbsent(rs.getString(2), IndexBuilder::new);
      index.unique = rs.getBoolean(3);
      index.primary = rs.getBoolean(4);
      index.btree = rs.getBoolean(5);
      index.partial = rs.getBoolean(6);
      index.columns.add(rs.getString(8));
      index.notNull &= rs.getBoolean(9);
    });
    Map<Long, Map<String, ForeignKeyBuilder>> foreignKeys = new HashMap<>();
    query(connection, FOREIGN_KEYS, names, rs -> {
      ForeignKeyBuilder fk = foreignKeys.computeIfAbsent(rs.getLong(1), k -> new LinkedHashMap<>())
          .computeIfAbsent(rs.getString(2), ForeignKeyBuilder::new);
      fk.columns.add(rs.getString(3));
      fk.toSchema = rs.getString(4);
      fk.toTable = rs.getString(5);
      fk.toColumns.add(rs.getString(6));
    });

    List<Relation> relations = new ArrayList<>();
    byOid.forEach((oid, r) -> relations.add(r.build(
        indexes.getOrDefault(oid, Map.of()).values(), foreignKeys.getOrDefault(oid, Map.of()).values())));
    relations.sort(Comparator.comparing(Relation::schema).thenComparing(Relation::name));
    return new Catalog(url, database, version, schemas, readAt, timeZone, relations);
  }

  private interface RowReader {
    void read(ResultSet rs) throws SQLException;
  }

  private static void query(Connection connection, String sql, Array schemas, RowReader reader) throws SQLException {
    try (PreparedStatement s = connection.prepareStatement(sql)) {
      s.setArray(1, schemas);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          reader.read(rs);
        }
      }
    }
  }

  private static final class RelationBuilder {
    final String schema;
    final String name;
    final Kind kind;
    final ReplicaIdentity replicaIdentity;
    final double estimatedRows;
    final String partitionKey;
    final int partitions;
    final List<Column> columns = new ArrayList<>();
    final List<String> primaryKey = new ArrayList<>();

    RelationBuilder(String schema, String name, Kind kind, ReplicaIdentity replicaIdentity, double estimatedRows,
                    String partitionKey, int partitions) {
      this.schema = schema;
      this.name = name;
      this.kind = kind;
      this.replicaIdentity = replicaIdentity;
      this.estimatedRows = estimatedRows;
      this.partitionKey = partitionKey;
      this.partitions = partitions;
    }

    Relation build(Iterable<IndexBuilder> indexes, Iterable<ForeignKeyBuilder> foreignKeys) {
      Map<String, Integer> position = new HashMap<>();
      columns.forEach(c -> position.put(c.name(), c.position()));
      List<UniqueIndex> unique = new ArrayList<>();
      LinkedHashSet<String> leading = new LinkedHashSet<>();
      for (IndexBuilder index : indexes) {
        boolean plain = !index.columns.contains(null);
        if (index.btree && !index.partial && index.columns.get(0) != null) {
          leading.add(index.columns.get(0));
        }
        if (index.unique && !index.primary && !index.partial && plain) {
          unique.add(new UniqueIndex(index.name, index.columns, index.notNull));
        }
      }
      List<String> leadingInOrder = leading.stream()
          .sorted(Comparator.comparing((Function<String, Integer>) position::get)).toList();
      List<ForeignKey> fks = new ArrayList<>();
      foreignKeys.forEach(fk -> fks.add(new ForeignKey(fk.name, fk.columns, fk.toSchema, fk.toTable, fk.toColumns)));
      return new Relation(schema, name, kind, columns, primaryKey, unique, leadingInOrder, fks, replicaIdentity,
          estimatedRows < 0 ? OptionalLong.empty() : OptionalLong.of(Math.round(estimatedRows)),
          Optional.ofNullable(partitionKey), partitions);
    }
  }

  private static final class IndexBuilder {
    final String name;
    final List<String> columns = new ArrayList<>();
    boolean unique;
    boolean primary;
    boolean btree;
    boolean partial;
    boolean notNull = true;

    IndexBuilder(String name) {
      this.name = name;
    }
  }

  private static final class ForeignKeyBuilder {
    final String name;
    final List<String> columns = new ArrayList<>();
    final List<String> toColumns = new ArrayList<>();
    String toSchema;
    String toTable;

    ForeignKeyBuilder(String name) {
      this.name = name;
    }
  }

  /** A JDBC URL without its password: no {@code password} parameter, no {@code :password} before {@code @}. */
  static String withoutCredentials(String url) {
    if (url == null) {
      return "(unknown URL)";
    }
    int query = url.indexOf('?');
    String base = (query < 0 ? url : url.substring(0, query)).replaceFirst("//([^/@:]*):[^/@]*@", "//$1@");
    if (query < 0) {
      return base;
    }
    List<String> kept = new ArrayList<>();
    for (String parameter : url.substring(query + 1).split("&")) {
      if (!parameter.isEmpty() && !parameter.toLowerCase(java.util.Locale.ROOT).startsWith("password=")) {
        kept.add(parameter);
      }
    }
    return kept.isEmpty() ? base : base + "?" + String.join("&", kept);
  }

  /** A PostgreSQL identifier for messages: bare when it is lower-case letters, digits and _, else quoted. */
  public static String sqlName(String name) {
    return name.matches("[a-z_][a-z0-9_$]*") && !RESERVED.contains(name) ? name : SourceDatabase.ident(name);
  }

  /**
   * PostgreSQL's keywords that cannot name a table or column unquoted (pg_get_keywords() catcode
   * R and T, PostgreSQL 17): a table called user is written "user" in SQL the user is told to run.
   */
  private static final java.util.Set<String> RESERVED = java.util.Set.of(("all analyse analyze and any array as asc"
      + " asymmetric authorization binary both case cast check collate collation column concurrently constraint create"
      + " cross current_catalog current_date current_role current_schema current_time current_timestamp current_user"
      + " default deferrable desc distinct do else end except false fetch for foreign freeze from full grant group"
      + " having ilike in initially inner intersect into is isnull join lateral leading left like limit localtime"
      + " localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references"
      + " returning right select session_user similar some symmetric system_user table tablesample then to trailing"
      + " true union unique user using variadic verbose when where window with").split(" "));
}
