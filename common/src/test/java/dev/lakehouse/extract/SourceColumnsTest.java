package dev.lakehouse.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.testing.LakehouseTestBase;
import java.sql.Connection;
import java.util.List;
import java.util.Optional;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SourceColumnsTest extends LakehouseTestBase {

  @BeforeAll
  static void createTables() {
    sourceExecute(
        "CREATE SCHEMA operations",
        "CREATE EXTENSION citext",
        "CREATE TYPE operations.mood AS ENUM ('sad', 'happy')",
        "CREATE DOMAIN operations.money2 AS numeric(10,2) CHECK (VALUE >= 0)",
        "CREATE DOMAIN operations.short_name AS varchar(10)",
        """
        CREATE TABLE operations.everything (
          c_int2 int2 NOT NULL, c_int4 int4, c_int8 int8, c_float4 float4, c_float8 float8,
          c_num12 numeric(12,2), c_num38 numeric(38,10), c_num numeric, c_bool boolean,
          c_text text NOT NULL, c_varchar varchar(20), c_char char(5), c_name name, c_citext citext,
          c_date date, c_tstz timestamptz, c_ts timestamp, c_bytea bytea,
          c_uuid uuid, c_jsonb jsonb, c_json json, c_ints int4[], c_mood operations.mood,
          c_interval interval, c_time time, c_money operations.money2, c_short operations.short_name,
          gone int4, c_last int8)""",
        "ALTER TABLE operations.everything DROP COLUMN gone",
        "CREATE TABLE operations.scales (neg numeric(5,-2), tiny numeric(3,5))",
        "CREATE TABLE operations.wide (id int4, amount numeric(40,2))",
        "CREATE TABLE operations.\"Odd Name\" (\"Mixed Case \"\"q\"\"\" int4, plain text)",
        "INSERT INTO operations.\"Odd Name\" VALUES (7, 'seven')");
  }

  private static List<SourceColumn> discover(String schema, String table) throws Exception {
    try (Connection c = source()) {
      return SourceColumns.discover(c, schema, table);
    }
  }

  private static void assertColumn(SourceColumn column, String name, String pgType, DataType type,
      WireType wire, boolean nullable, String select) {
    assertEquals(name, column.name());
    assertEquals(pgType, column.pgType(), name);
    assertEquals(type, column.dataType(), name);
    assertEquals(wire, column.wireType(), name);
    assertEquals(nullable, column.nullable(), name);
    assertEquals(select, column.selectExpression(), name);
  }

  @Test
  void mapsEveryTypeInDeclarationOrderSkippingDroppedColumns() throws Exception {
    List<SourceColumn> c = discover("operations", "everything");
    assertEquals(28, c.size());
    assertColumn(c.get(0), "c_int2", "int2", DataTypes.ShortType, WireType.INT2, false, "\"c_int2\"");
    assertColumn(c.get(1), "c_int4", "int4", DataTypes.IntegerType, WireType.INT4, true, "\"c_int4\"");
    assertColumn(c.get(2), "c_int8", "int8", DataTypes.LongType, WireType.INT8, true, "\"c_int8\"");
    assertColumn(c.get(3), "c_float4", "float4", DataTypes.FloatType, WireType.FLOAT4, true, "\"c_float4\"");
    assertColumn(c.get(4), "c_float8", "float8", DataTypes.DoubleType, WireType.FLOAT8, true, "\"c_float8\"");
    assertColumn(c.get(5), "c_num12", "numeric", DataTypes.createDecimalType(12, 2), WireType.NUMERIC, true, "\"c_num12\"");
    assertEquals("numeric(12,2)", c.get(5).sqlType());
    assertColumn(c.get(6), "c_num38", "numeric", DataTypes.createDecimalType(38, 10), WireType.NUMERIC, true, "\"c_num38\"");
    assertColumn(c.get(7), "c_num", "numeric", DataTypes.createDecimalType(38, 18), WireType.NUMERIC, true, "\"c_num\"");
    assertColumn(c.get(8), "c_bool", "bool", DataTypes.BooleanType, WireType.BOOL, true, "\"c_bool\"");
    assertColumn(c.get(9), "c_text", "text", DataTypes.StringType, WireType.TEXT, false, "\"c_text\"");
    assertColumn(c.get(10), "c_varchar", "varchar", DataTypes.StringType, WireType.TEXT, true, "\"c_varchar\"");
    // character(n) lands without its padding, as ::text shows it: decoded as BPCHAR, which strips it.
    assertColumn(c.get(11), "c_char", "bpchar", DataTypes.StringType, WireType.BPCHAR, true, "\"c_char\"");
    assertColumn(c.get(12), "c_name", "name", DataTypes.StringType, WireType.TEXT, true, "\"c_name\"");
    assertColumn(c.get(13), "c_citext", "citext", DataTypes.StringType, WireType.TEXT, true, "\"c_citext\"");
    assertColumn(c.get(14), "c_date", "date", DataTypes.DateType, WireType.DATE, true, "\"c_date\"");
    assertColumn(c.get(15), "c_tstz", "timestamptz", DataTypes.TimestampType, WireType.TIMESTAMP, true, "\"c_tstz\"");
    assertColumn(c.get(16), "c_ts", "timestamp", DataTypes.TimestampNTZType, WireType.TIMESTAMP, true, "\"c_ts\"");
    assertColumn(c.get(17), "c_bytea", "bytea", DataTypes.BinaryType, WireType.BYTEA, true, "\"c_bytea\"");
    // uuid is decoded from its 16 bytes into the canonical text; types without a faithful Spark
    // counterpart travel as PostgreSQL's own text form.
    assertColumn(c.get(18), "c_uuid", "uuid", DataTypes.StringType, WireType.UUID, true, "\"c_uuid\"");
    assertColumn(c.get(19), "c_jsonb", "jsonb", DataTypes.StringType, WireType.TEXT, true, "\"c_jsonb\"::text AS \"c_jsonb\"");
    assertColumn(c.get(20), "c_json", "json", DataTypes.StringType, WireType.TEXT, true, "\"c_json\"::text AS \"c_json\"");
    assertColumn(c.get(21), "c_ints", "_int4", DataTypes.createArrayType(DataTypes.IntegerType, true), WireType.ARRAY,
        true, "\"c_ints\"");
    assertEquals(WireType.INT4, c.get(21).elementWireType());
    assertColumn(c.get(22), "c_mood", "mood", DataTypes.StringType, WireType.TEXT, true, "\"c_mood\"::text AS \"c_mood\"");
    assertColumn(c.get(23), "c_interval", "interval", DataTypes.StringType, WireType.TEXT, true,
        "\"c_interval\"::text AS \"c_interval\"");
    assertColumn(c.get(24), "c_time", "time", DataTypes.StringType, WireType.TEXT, true, "\"c_time\"::text AS \"c_time\"");
    // A domain arrives in its base type's binary form and keeps the base type's precision.
    assertColumn(c.get(25), "c_money", "numeric", DataTypes.createDecimalType(10, 2), WireType.NUMERIC, true, "\"c_money\"");
    assertEquals("operations.money2", c.get(25).sqlType());
    assertColumn(c.get(26), "c_short", "varchar", DataTypes.StringType, WireType.TEXT, true, "\"c_short\"");
    assertColumn(c.get(27), "c_last", "int8", DataTypes.LongType, WireType.INT8, true, "\"c_last\"");
  }

  @Test
  void numericScalesOutsideZeroToPrecisionGetAWideEnoughDecimal() throws Exception {
    List<SourceColumn> c = discover("operations", "scales");
    assertEquals(DataTypes.createDecimalType(7, 0), c.get(0).dataType(), "numeric(5,-2) holds up to 9999900");
    assertEquals(DataTypes.createDecimalType(5, 5), c.get(1).dataType(), "numeric(3,5) holds up to 0.00999");
  }

  @Test
  void missingTableIsOneLineNamingIt() {
    LakehouseException e = assertThrows(LakehouseException.class, () -> discover("operations", "foo"));
    assertEquals("Source table operations.foo does not exist", e.getMessage());
  }

  @Test
  void numericWiderThanSparkDecimalNamesTheColumn() {
    LakehouseException e = assertThrows(LakehouseException.class, () -> discover("operations", "wide"));
    assertEquals("Column operations.wide.amount is numeric(40,2), which does not fit a Spark decimal (at most 38 digits);"
        + " list it in as-text",
        e.getMessage());
  }

  @Test
  void oddIdentifiersAreQuotedAndExtract() throws Exception {
    List<SourceColumn> c = discover("operations", "Odd Name");
    assertEquals("Mixed Case \"q\"", c.get(0).name());
    assertEquals("\"Mixed Case \"\"q\"\"\", \"plain\"", SourceColumns.selectList(c));
    String select = "SELECT " + SourceColumns.selectList(c) + " FROM operations.\"Odd Name\"";
    List<Row> rows = CopyExtraction.read(spark, config.spec().source(), c, List.of(select), Optional.empty()).collectAsList();
    assertEquals(1, rows.size());
    assertEquals(7, rows.get(0).getInt(0));
    assertEquals("seven", rows.get(0).getString(1));
  }
}
