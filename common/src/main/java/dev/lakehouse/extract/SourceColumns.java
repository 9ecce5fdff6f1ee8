package dev.lakehouse.extract;

import static dev.lakehouse.source.SourceDatabase.ident;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceCatalog;
import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Reads a source table's columns from pg_catalog and decides how each one is extracted. */
public final class SourceColumns {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SourceColumns.class);
  /** Tables whose left-out generated columns were named already: once per process is enough. */
  private static final Set<String> WARNED = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Spark's widest decimal; an unconstrained numeric gets this many digits, 18 after the point. */
  private static final int MAX_PRECISION = 38;
  private static final int UNCONSTRAINED_SCALE = 18;
  /** PostgreSQL adds the varlena header size to a numeric's packed (precision, scale) typmod. */
  private static final int VARHDRSZ = 4;
  /** money holds int64 cents: at most 92233720368547758.07. */
  private static final int MONEY_PRECISION = 19;
  private static final int MONEY_SCALE = 2;

  private static final String RELATION = """
      SELECT c.oid FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""";

  /** %s: whether the column is generated (attgenerated exists from PostgreSQL 12 on). */
  private static final String COLUMNS = """
      SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypmod, a.attnotnull,
             t.typname, t.typtype, t.typbasetype, t.typtypmod, t.typelem, t.typlen, t.typcategory, %s,
             has_column_privilege(a.attrelid, a.attnum, 'SELECT'), current_user
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum""";

  private static final String TYPE = """
      SELECT typname, typtype, typbasetype, typtypmod, typelem, typlen, typcategory
      FROM pg_catalog.pg_type WHERE oid = ?""";

  private SourceColumns() {}

  /** The columns of {@code schema.table} in declaration order. */
  public static List<SourceColumn> discover(Connection connection, String schema, String table) {
    return discover(connection, schema, table, Set.of());
  }

  /** As {@link #discover(Connection, String, String, Set)}, for a table read as a query (every column). */
  public static List<SourceColumn> discover(Connection connection, String schema, String table, Set<String> asText) {
    return discover(connection, schema, table, asText, true);
  }

  /**
   * The columns of {@code schema.table} in declaration order; those named in {@code asText} are
   * read as PostgreSQL's text form of their values (a string column), whatever their type. Naming
   * a column the table does not have is an error.
   *
   * <p>Without {@code generated}, the table's generated columns are left out, with a warning: a
   * table read from the log lands only what the log carries, and pgoutput leaves generated
   * columns out of every change. Read from the initial copy and then missing from each change,
   * such a column would turn NULL in silver at a row's first update.
   */
  public static List<SourceColumn> discover(Connection connection, String schema, String table, Set<String> asText,
                                            boolean generated) {
    String where = schema + "." + table;
    try {
      long relationId = relationId(connection, schema, table);
      List<SourceColumn> columns = new ArrayList<>();
      List<String> leftOut = new ArrayList<>();
      List<String> unreadable = new ArrayList<>();
      String user = null;
      String isGenerated = connection.getMetaData().getDatabaseMajorVersion() >= 12 ? "a.attgenerated <> ''" : "false";
      try (PreparedStatement s = connection.prepareStatement(COLUMNS.formatted(isGenerated));
           PreparedStatement types = connection.prepareStatement(TYPE)) {
        s.setLong(1, relationId);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            String name = rs.getString(1);
            if (!generated && rs.getBoolean(12)) {
              leftOut.add(name);
              continue;
            }
            user = rs.getString(14);
            if (!rs.getBoolean(13)) {
              unreadable.add(name);
            }
            String sqlType = rs.getString(2);
            int typmod = rs.getInt(3);
            boolean notNull = rs.getBoolean(4);
            // A domain travels in its base type's binary format, so map the base type.
            PgType type = "d".equals(rs.getString(6))
                ? resolve(types, rs.getLong(7), typmod >= 0 ? typmod : rs.getInt(8))
                : new PgType(rs.getString(5), typmod, rs.getLong(9), isArray(rs.getLong(9), rs.getInt(10),
                    rs.getString(11)));
            if (asText.contains(name)) {
              columns.add(asText(where, name, sqlType, !notNull, type.name()));
              continue;
            }
            if (type.isArray()) {
              // An array column's typmod is its elements' (numeric(10,2)[]).
              PgType element = resolve(types, type.element(), type.typmod());
              columns.add(arrayColumn(where, name, type.name(), sqlType, element, !notNull));
            } else {
              columns.add(column(where, name, type.name(), sqlType, type.typmod(), !notNull));
            }
          }
        }
      }
      if (!leftOut.isEmpty() && WARNED.add(where + leftOut)) {
        LOG.warn("{}: generated {} {} left out: PostgreSQL's log does not carry generated columns (compute {}"
            + " in a gold query instead)", where, leftOut.size() == 1 ? "column" : "columns", String.join(", ", leftOut),
            leftOut.size() == 1 ? "it" : "them");
      }
      if (columns.isEmpty()) {
        throw new LakehouseException("Source table " + where + " has no columns");
      }
      if (!unreadable.isEmpty()) {
        // Said here, before any read: COPY would fail later with only "permission denied".
        String grant = "GRANT SELECT ON " + SourceCatalog.sqlName(schema) + "." + SourceCatalog.sqlName(table) + " TO "
            + SourceCatalog.sqlName(user);
        throw new LakehouseException(unreadable.size() == columns.size()
            ? "user '" + user + "' may not read " + where + "; " + grant
            : "user '" + user + "' may not read the columns " + String.join(", ", unreadable) + " of " + where
                + "; " + grant + " (or SELECT on those columns)");
      }
      Set<String> unknown = new TreeSet<>(asText);
      columns.forEach(c -> unknown.remove(c.name()));
      if (!unknown.isEmpty()) {
        throw new LakehouseException("as-text names " + (unknown.size() == 1 ? "a column" : "columns") + " that "
            + where + " does not have: " + String.join(", ", unknown) + "; its columns are "
            + columns.stream().map(SourceColumn::name).toList());
      }
      return columns;
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read the columns of " + where, e);
    }
  }

  /**
   * A column known by its type alone, as a log relation message describes one (name, type OID,
   * typmod): mapped as {@link #discover} maps a catalog column of that type. For a column the
   * catalog no longer has under that name (renamed or dropped since), while the log still holds
   * changes written before.
   */
  public static SourceColumn ofType(Connection connection, String where, String name, long typeOid, int typmod,
                                    boolean asText) {
    try (PreparedStatement format = connection.prepareStatement("SELECT format_type(?::oid, ?::int)");
         PreparedStatement types = connection.prepareStatement(TYPE)) {
      format.setLong(1, typeOid);
      format.setInt(2, typmod);
      String sqlType;
      try (ResultSet rs = format.executeQuery()) {
        rs.next();
        sqlType = rs.getString(1);
      }
      PgType type = resolve(types, typeOid, typmod);
      if (asText) {
        return asText(where, name, sqlType, true, type.name());
      }
      return type.isArray() ? arrayColumn(where, name, type.name(), sqlType, resolve(types, type.element(), type.typmod()),
          true) : column(where, name, type.name(), sqlType, type.typmod(), true);
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read the type of " + where + "." + name, e);
    }
  }

  /** The COPY query's select list, in column order. */
  public static String selectList(List<SourceColumn> columns) {
    return columns.stream().map(SourceColumn::selectExpression).collect(Collectors.joining(", "));
  }

  /** The Spark schema the columns extract into. */
  public static StructType schema(List<SourceColumn> columns) {
    return new StructType(columns.stream()
        .map(c -> new StructField(c.name(), c.dataType(), c.nullable(), Metadata.empty()))
        .toArray(StructField[]::new));
  }

  private static long relationId(Connection connection, String schema, String table) throws SQLException {
    try (PreparedStatement s = connection.prepareStatement(RELATION)) {
      s.setString(1, schema);
      s.setString(2, table);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          throw new LakehouseException("Source table " + schema + "." + table + " does not exist");
        }
        return rs.getLong(1);
      }
    }
  }

  /** A type with its domains peeled off: the name, typmod and array element of the first non-domain. */
  private record PgType(String name, int typmod, long element, boolean isArray) {}

  private static PgType resolve(PreparedStatement types, long typeId, int typmod) throws SQLException {
    // Domains can be layered; walk down to the first type that is not a domain. The outermost
    // explicit typmod wins (a column's own, then each domain's).
    while (true) {
      types.setLong(1, typeId);
      try (ResultSet rs = types.executeQuery()) {
        if (!rs.next()) {
          throw new LakehouseException("Type " + typeId + " is not in pg_type");
        }
        if (!"d".equals(rs.getString(2))) {
          return new PgType(rs.getString(1), typmod, rs.getLong(5), isArray(rs.getLong(5), rs.getInt(6),
              rs.getString(7)));
        }
        typeId = rs.getLong(3);
        typmod = typmod >= 0 ? typmod : rs.getInt(4);
      }
    }
  }

  /** A true array type (as format_type tells them): variable length, an element type, category A. */
  private static boolean isArray(long element, int typlen, String category) {
    return element != 0 && typlen == -1 && "A".equals(category);
  }

  static SourceColumn column(String where, String name, String typname, String sqlType, int typmod,
      boolean nullable) {
    String quoted = ident(name);
    if (typname.equals("money")) {
      // money's binary form is a bare int64 of cents; through numeric it arrives exact.
      return new SourceColumn(name, typname, sqlType, DataTypes.createDecimalType(MONEY_PRECISION, MONEY_SCALE),
          nullable, quoted + "::numeric AS " + quoted, WireType.NUMERIC, null, where);
    }
    Native n = nativeType(where, name, typname, sqlType, typmod, false);
    if (n == null) {
      // Everything else (json, enums, intervals, inet, ranges, ...) as PostgreSQL's own text form.
      return new SourceColumn(name, typname, sqlType, DataTypes.StringType, nullable,
          quoted + "::text AS " + quoted, WireType.TEXT, null, where);
    }
    return new SourceColumn(name, typname, sqlType, n.type(), nullable, quoted, n.wire(), null, where);
  }

  private static SourceColumn arrayColumn(String where, String name, String arrayTypname, String sqlType,
      PgType element, boolean nullable) {
    String quoted = ident(name);
    Native n = nativeType(where, name, element.name(), sqlType, element.typmod(), true);
    if (n == null) {
      // enum[], json[], inet[], interval[], unconstrained numeric[], ...: each element's text form.
      return new SourceColumn(name, arrayTypname, sqlType, DataTypes.createArrayType(DataTypes.StringType, true),
          nullable, quoted + "::text[] AS " + quoted, WireType.ARRAY, WireType.TEXT, where);
    }
    return new SourceColumn(name, arrayTypname, sqlType, DataTypes.createArrayType(n.type(), true), nullable,
        quoted, WireType.ARRAY, n.wire(), where);
  }

  private static SourceColumn asText(String where, String name, String sqlType, boolean nullable, String typname) {
    String quoted = ident(name);
    return new SourceColumn(name, typname, sqlType, DataTypes.StringType, nullable, quoted + "::text AS " + quoted,
        WireType.TEXT, null, where);
  }

  private record Native(WireType wire, DataType type) {}

  /**
   * The types decoded from their binary form, or null for a type that travels as text. Arrays
   * take a numeric element only with a declared precision: an unconstrained one would hold
   * elements of any scale.
   */
  private static Native nativeType(String where, String name, String typname, String sqlType, int typmod,
      boolean element) {
    return switch (typname) {
      case "int2" -> new Native(WireType.INT2, DataTypes.ShortType);
      case "int4" -> new Native(WireType.INT4, DataTypes.IntegerType);
      case "int8" -> new Native(WireType.INT8, DataTypes.LongType);
      case "float4" -> new Native(WireType.FLOAT4, DataTypes.FloatType);
      case "float8" -> new Native(WireType.FLOAT8, DataTypes.DoubleType);
      case "numeric" -> element && typmod < VARHDRSZ ? null
          : new Native(WireType.NUMERIC, decimalType(where, name, sqlType, typmod));
      case "bool" -> new Native(WireType.BOOL, DataTypes.BooleanType);
      case "text", "varchar", "name", "citext" -> new Native(WireType.TEXT, DataTypes.StringType);
      case "bpchar" -> new Native(WireType.BPCHAR, DataTypes.StringType);
      case "uuid" -> new Native(WireType.UUID, DataTypes.StringType);
      case "date" -> new Native(WireType.DATE, DataTypes.DateType);
      case "timestamptz" -> new Native(WireType.TIMESTAMP, DataTypes.TimestampType);
      case "timestamp" -> new Native(WireType.TIMESTAMP, DataTypes.TimestampNTZType);
      case "bytea" -> new Native(WireType.BYTEA, DataTypes.BinaryType);
      default -> null;
    };
  }

  private static DataType decimalType(String where, String name, String sqlType, int typmod) {
    if (typmod < VARHDRSZ) {
      return DataTypes.createDecimalType(MAX_PRECISION, UNCONSTRAINED_SCALE);
    }
    int precision = ((typmod - VARHDRSZ) >> 16) & 0xFFFF;
    // The scale is an 11-bit signed field: PostgreSQL 15+ allows scale < 0 and scale > precision.
    int scale = (((typmod - VARHDRSZ) & 0x7FF) ^ 1024) - 1024;
    int sparkPrecision = precision;
    int sparkScale = scale;
    if (scale < 0) {
      // numeric(3,-2) holds integers like 12300: Spark needs the trailing zeros as digits.
      sparkPrecision = precision - scale;
      sparkScale = 0;
    } else if (scale > precision) {
      // numeric(3,5) holds values like 0.00123: Spark counts the leading zeros as digits.
      sparkPrecision = scale;
    }
    if (sparkPrecision > MAX_PRECISION) {
      throw new LakehouseException("Column " + where + "." + name + " is " + sqlType
          + ", which does not fit a Spark decimal (at most 38 digits); list it in as-text");
    }
    return DataTypes.createDecimalType(sparkPrecision, sparkScale);
  }
}
