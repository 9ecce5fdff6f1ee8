package dev.lakehouse.extract;

import static dev.lakehouse.source.SourceDatabase.ident;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Reads a source table's columns from pg_catalog and decides how each one is extracted. */
public final class SourceColumns {

  /** Spark's widest decimal; an unconstrained numeric gets this many digits, 18 after the point. */
  private static final int MAX_PRECISION = 38;
  private static final int UNCONSTRAINED_SCALE = 18;
  /** PostgreSQL adds the varlena header size to a numeric's packed (precision, scale) typmod. */
  private static final int VARHDRSZ = 4;

  private static final String RELATION = """
      SELECT c.oid FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""";

  private static final String COLUMNS = """
      SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypmod, a.attnotnull,
             t.typname, t.typtype, t.typbasetype, t.typtypmod
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum""";

  private static final String TYPE =
      "SELECT typname, typtype, typbasetype, typtypmod FROM pg_catalog.pg_type WHERE oid = ?";

  private SourceColumns() {}

  /** The columns of {@code schema.table} in declaration order. */
  public static List<SourceColumn> discover(Connection connection, String schema, String table) {
    String where = schema + "." + table;
    try {
      long relationId = relationId(connection, schema, table);
      List<SourceColumn> columns = new ArrayList<>();
      try (PreparedStatement s = connection.prepareStatement(COLUMNS)) {
        s.setLong(1, relationId);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            String name = rs.getString(1);
            String sqlType = rs.getString(2);
            int typmod = rs.getInt(3);
            boolean notNull = rs.getBoolean(4);
            String typname = rs.getString(5);
            // A domain travels in its base type's binary format, so map the base type.
            if ("d".equals(rs.getString(6))) {
              BaseType base = baseType(connection, rs.getLong(7), rs.getInt(8));
              typname = base.name();
              typmod = typmod >= 0 ? typmod : base.typmod();
            }
            columns.add(column(where, name, typname, sqlType, typmod, !notNull));
          }
        }
      }
      if (columns.isEmpty()) {
        throw new LakehouseException("Source table " + where + " has no columns");
      }
      return columns;
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read the columns of " + where, e);
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

  private record BaseType(String name, int typmod) {}

  private static BaseType baseType(Connection connection, long typeId, int typmod) throws SQLException {
    try (PreparedStatement s = connection.prepareStatement(TYPE)) {
      // Domains can be layered; walk down to the first type that is not a domain.
      while (true) {
        s.setLong(1, typeId);
        try (ResultSet rs = s.executeQuery()) {
          rs.next();
          if (!"d".equals(rs.getString(2))) {
            return new BaseType(rs.getString(1), typmod);
          }
          typeId = rs.getLong(3);
          typmod = typmod >= 0 ? typmod : rs.getInt(4);
        }
      }
    }
  }

  static SourceColumn column(String where, String name, String typname, String sqlType, int typmod,
      boolean nullable) {
    String quoted = ident(name);
    WireType wire;
    DataType type;
    switch (typname) {
      case "int2" -> { wire = WireType.INT2; type = DataTypes.ShortType; }
      case "int4" -> { wire = WireType.INT4; type = DataTypes.IntegerType; }
      case "int8" -> { wire = WireType.INT8; type = DataTypes.LongType; }
      case "float4" -> { wire = WireType.FLOAT4; type = DataTypes.FloatType; }
      case "float8" -> { wire = WireType.FLOAT8; type = DataTypes.DoubleType; }
      case "numeric" -> { wire = WireType.NUMERIC; type = decimalType(where, name, sqlType, typmod); }
      case "bool" -> { wire = WireType.BOOL; type = DataTypes.BooleanType; }
      case "text", "varchar", "bpchar", "name", "citext" -> { wire = WireType.TEXT; type = DataTypes.StringType; }
      case "date" -> { wire = WireType.DATE; type = DataTypes.DateType; }
      case "timestamptz" -> { wire = WireType.TIMESTAMP; type = DataTypes.TimestampType; }
      case "timestamp" -> { wire = WireType.TIMESTAMP; type = DataTypes.TimestampNTZType; }
      case "bytea" -> { wire = WireType.BYTEA; type = DataTypes.BinaryType; }
      default -> {
        // Everything else (uuid, json, arrays, enums, intervals, ...) as PostgreSQL's own text form.
        return new SourceColumn(name, typname, sqlType, DataTypes.StringType, nullable,
            quoted + "::text AS " + quoted, WireType.TEXT, null, where);
      }
    }
    return new SourceColumn(name, typname, sqlType, type, nullable, quoted, wire, null, where);
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
          + ", which does not fit a Spark decimal (at most 38 digits)");
    }
    return DataTypes.createDecimalType(sparkPrecision, sparkScale);
  }
}
