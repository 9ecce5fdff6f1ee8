package dev.lakehouse.extract;

import static dev.lakehouse.source.SourceDatabase.ident;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.LakehouseTestBase;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DecimalType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every PostgreSQL type, through both read paths (binary COPY and JDBC), against PostgreSQL's own
 * text of each value: what lands in Spark is formatted back into PostgreSQL's text form by a
 * formatter of this test's own (array literals with PostgreSQL's quoting, decimals, timestamps in
 * UTC, bytea as hex...), so the comparison does not depend on the decoder under test.
 */
class SourceTypesTest extends LakehouseTestBase {

  private static final int FETCH_SIZE = 1000;

  @BeforeAll
  static void createTables() {
    sourceExecute(
        "CREATE EXTENSION citext",
        "CREATE TYPE mood AS ENUM ('sad', 'happy', 'it''s \"complicated\"')",
        "CREATE DOMAIN amount AS numeric(12,3)",
        "CREATE DOMAIN small_amount AS amount CHECK (VALUE > -1000000)",
        "CREATE DOMAIN code AS int4",
        "CREATE DOMAIN int_list AS int4[]",
        """
        CREATE TABLE everything (
          id int4 PRIMARY KEY,
          c_int2 int2, c_int4 int4, c_int8 int8, c_float4 float4, c_float8 float8,
          c_num numeric(12,3), c_num_free numeric, c_bool boolean,
          c_text text, c_varchar varchar(10), c_name name, c_citext citext, c_char char(5),
          c_date date, c_ts timestamp, c_tstz timestamptz, c_uuid uuid, c_bytea bytea,
          c_json json, c_jsonb jsonb, c_mood mood, c_layered small_amount, c_code code,
          c_inet inet, c_cidr cidr, c_interval interval, c_tsvector tsvector, c_time time, c_timetz timetz,
          c_macaddr macaddr, c_bit bit(4), c_varbit varbit, c_xml xml, c_int4range int4range,
          c_tstzrange tstzrange, c_point point, c_box box, c_money money,
          a_int2 int2[], a_int4 int4[], a_int8 int8[], a_float4 float4[], a_float8 float8[],
          a_num numeric(10,2)[], a_bool bool[], a_text text[], a_varchar varchar(5)[], a_name name[],
          a_citext citext[], a_char char(3)[], a_date date[], a_ts timestamp[], a_tstz timestamptz[],
          a_uuid uuid[], a_bytea bytea[], a_num_free numeric[], a_mood mood[], a_json json[], a_jsonb jsonb[],
          a_inet inet[], a_interval interval[], a_domain int_list, a_money money[])""",
        // Typical values.
        """
        INSERT INTO everything VALUES (1,
          12, 123456, 1234567890123, 1.5, 2.25, 1234.567, 42, true,
          'plain', 'varchar', 'a_name', 'MiXeD', 'ab',
          '2024-02-29', '2024-06-01 12:34:56.123456', '2024-06-01 12:34:56.123456+02',
          'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '\\x00ff10',
          '{"b": [1, 2], "a": "x"}', '{"b": [1, 2], "a": "x"}', 'happy', 12.5, 7,
          '192.168.0.1/24', '10.0.0.0/8', '1 year 2 mons 3 days 04:05:06.789', 'a fat cat sat', '12:34:56.789',
          '12:34:56+05:30', '08:00:2b:01:02:03', B'1010', B'10101', '<a>x</a>', '[1,10)',
          '[2024-01-01 00:00:00+00,2024-02-01 00:00:00+00)', '(1.5,2)', '((0,0),(1,1))', 1234.56,
          '{1,2,3}', '{1,-2,NULL}', '{9223372036854775807}', '{1.5,NaN}', '{1e308,-Infinity,0.1}',
          '{1.25,NULL,-3.5}', '{t,f,NULL}', '{a,"b,c",NULL,"NULL",""}', '{"x y",z}', '{n1}',
          '{MiXeD}', '{ab,NULL,"a  "}', '{2024-01-01,NULL}', '{"2024-01-01 10:00:00.5"}',
          '{"2024-01-01 10:00:00+02"}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', ARRAY['\\x0102'::bytea, NULL],
          '{1.50,2,NULL}', '{happy,sad}', ARRAY['{"a":1}'::json], ARRAY['{"b": 2}'::jsonb], '{10.0.0.1}',
          '{"1 day",NULL}', '{1,2}', '{1.00,2.50}')""",
        // Smallest values, empty strings, empty arrays.
        """
        INSERT INTO everything VALUES (2,
          -32768, -2147483648, -9223372036854775808, -3.4e38, '-Infinity', -999999999.999,
          -99999999999999999999.999999999999999999, false,
          '', '', '', '', '',
          '4713-01-01 BC', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC',
          '00000000-0000-0000-0000-000000000000', '\\x',
          '""', '{}', 'sad', -999999.999, -1,
          '::1', '::/0', '-1 mons -00:00:00.000001', '', '00:00:00', '00:00:00+00', '00:00:00:00:00:00',
          B'0000', B'', '', 'empty', 'empty', '(0,0)', '((0,0),(0,0))', -92233720368547758.08,
          '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',
          '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')""",
        "INSERT INTO everything (id) VALUES (3)",
        // Unicode, quoting, NULL elements, the PostgreSQL epoch's edges, zero and negative zero.
        """
        INSERT INTO everything VALUES (4,
          0, 0, 0, '-0', 'NaN', 0.001, 1.50000000000000000000, true,
          E'Grüße, 日本語, emoji 🌍, quote '' tab \\t "dq" and \\\\ backslash', 'ünïcödé', 'Ωmega', 'ß', 'é  x',
          '1999-12-31', '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00+00',
          'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\xdeadbeef',
          '[1, 2.50, "three"]', '{"k": null, "ü": "🌍"}', 'it''s "complicated"', 0, 0,
          '2001:db8::ff00:42:8329', '2001:db8::/32', '00:00:00.000001', '''quote'':1 ''back\\\\slash'':2',
          '23:59:59.999999', '23:59:59.999999-14:59', '0a:0b:0c:0d:0e:0f', B'1111', B'1', '<b a="1">&amp;</b>',
          '(,)', '(,"2024-01-01 00:00:00+00"]', '(-1e+20,1e-05)', '((1,2),(3,4))', 0,
          '{0,NULL,0}', '{NULL}', '{-1}', '{-0,Infinity}', '{NaN,-0}', '{0.00}', '{NULL,NULL}',
          ARRAY['Grüße', 'with "quote"', 'back\\slash', '{brace}', '  spaced  ', NULL, 'NULL', 'null', ',', '',
                E'tab\\there', E'new\\nline'],
          ARRAY['🌍', 'é'], ARRAY['Ω'::name], ARRAY['ẞ'::citext, 'ß'::citext], ARRAY['x', ' ', 'é', NULL]::char(3)[],
          ARRAY['0001-01-01'::date, '1582-10-04', '1582-10-15', '1969-12-31'],
          ARRAY['1969-12-31 23:59:59.999999'::timestamp, '2000-01-01 00:00:00'],
          ARRAY['1900-01-01 00:00:00+00'::timestamptz, NULL, '1965-05-05 12:34:56.789012-05'],
          ARRAY[NULL::uuid], ARRAY['\\x'::bytea, '\\x00', '\\x5c22'],
          '{0.1234567890123456789012345,NaN,-Infinity,NULL}', ARRAY['it''s "complicated"'::mood, NULL],
          ARRAY['[1, "a,b"]'::json, NULL, 'null'], ARRAY['{"x": "{}"}'::jsonb], '{::1,NULL}',
          '{"-1 days +00:00:01"}', '{NULL}', ARRAY[NULL::money, '-1'])""",
        // Largest values and extreme dates.
        """
        INSERT INTO everything (id, c_int2, c_int4, c_int8, c_float4, c_float8, c_num, c_num_free,
          c_text, c_char, c_date, c_ts, c_tstz, c_money, c_layered, c_code,
          a_int8, a_float4, a_float8, a_num, a_date, a_ts, a_tstz, a_char)
        VALUES (5, 32767, 2147483647, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308, 999999999.999,
          99999999999999999999.999999999999999999, repeat('long ', 2000), 'abcde',
          '5874897-12-31', '294247-01-01 00:00:00', '294247-01-01 00:00:00+00', 92233720368547758.07,
          999999.999, 2147483647,
          '{-9223372036854775808,9223372036854775807}', '{1e-45,3.4028235e38,123456.7,1e6}',
          '{4.9e-324,1e-5,123456789012345,1234567890123456}', '{99999999.99,-99999999.99}',
          ARRAY['5874897-12-31'::date, '4713-01-01 BC'],
          ARRAY['294247-01-01 00:00:00'::timestamp, '4713-01-01 00:00:00 BC'],
          ARRAY['294247-01-01 00:00:00+00'::timestamptz, '4713-01-01 00:00:00+00 BC'],
          '{"a b",abc}')""",
        // Arrays whose lower bounds are not 1: the elements land, the bounds do not.
        """
        INSERT INTO everything (id, a_int4, a_text, a_domain, a_mood, a_date)
        VALUES (6, '[0:2]={1,2,3}', '[-5:-4]={a,NULL}', '[2:3]={4,5}', '[0:0]={sad}', '[3:3]={2020-02-02}')""",

        "CREATE TABLE bad_values (id int4, n numeric, d date, ts timestamp, tstz timestamptz, nums int4[],"
            + " moods mood[], ds date[], amounts numeric(5,2)[])",
        """
        INSERT INTO bad_values (id, n, d, ts, tstz, nums, moods, ds, amounts) VALUES
          (1, 0.1234567890123456789, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (2, 123456789012345678901, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (3, 'NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (4, '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (5, NULL, 'infinity', NULL, NULL, NULL, NULL, NULL, NULL),
          (6, NULL, NULL, '-infinity', NULL, NULL, NULL, NULL, NULL),
          (7, NULL, NULL, NULL, 'infinity', NULL, NULL, NULL, NULL),
          (8, NULL, NULL, NULL, NULL, '{{1,2},{3,4}}', NULL, NULL, NULL),
          (9, NULL, NULL, NULL, NULL, NULL, '{{sad},{happy}}', NULL, NULL),
          (10, NULL, NULL, NULL, NULL, NULL, NULL, '{2020-01-01,-infinity}', NULL),
          (11, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{1.50,NaN}'),
          (12, 1.500000000000000000000000, NULL, NULL, NULL, '{}', '{}', '{}', '{}')""",

        """
        CREATE TABLE "OrderLines" (
          "LineNo" int4 PRIMARY KEY, "select" text NOT NULL, "with space" numeric(8,2), "Tags" text[],
          "Placed At" timestamptz NOT NULL, "Mixed ""Quote""\" char(4))""",
        """
        INSERT INTO "OrderLines" VALUES
          (1, 'one', 1.50, '{a,b}', '2024-01-01 00:00:00+00', 'x'),
          (2, '', NULL, '{}', '2024-01-02 00:00:00+00', NULL),
          (3, 'three', -2.25, '{NULL,"c d"}', '1999-12-31 23:59:59.999999+00', 'abcd')""",
        "CREATE VIEW order_line_view AS SELECT \"LineNo\", upper(\"select\") AS \"Upper\","
            + " \"with space\" * 2 AS doubled, \"Tags\" || 'z'::text AS tags FROM \"OrderLines\"",
        """
        CREATE TABLE measurements (id int4 NOT NULL, region text NOT NULL, taken date, v float8, tags varchar(5)[])
        PARTITION BY LIST (region)""",
        "CREATE TABLE measurements_eu PARTITION OF measurements FOR VALUES IN ('eu')",
        "CREATE TABLE measurements_us PARTITION OF measurements FOR VALUES IN ('us')",
        """
        INSERT INTO measurements VALUES
          (1, 'eu', '2024-01-01', 1.5, '{a}'), (2, 'us', '2024-01-02', NULL, NULL),
          (3, 'eu', NULL, -0.25, '{}'), (4, 'us', '1900-02-28', 1e-10, '{NULL,bb}')""",
        """
        CREATE MATERIALIZED VIEW measurement_totals AS
        SELECT region, count(*) AS n, sum(v) AS total, array_agg(id ORDER BY id) AS ids,
               array_agg(taken ORDER BY id) AS days
        FROM measurements GROUP BY region""");
  }

  // ---- the type mapping ----

  @Test
  void everyTypeMapsToItsSparkType() {
    Map<String, DataType> expected = Map.ofEntries(
        Map.entry("c_int2", DataTypes.ShortType), Map.entry("c_float4", DataTypes.FloatType),
        Map.entry("c_num", DataTypes.createDecimalType(12, 3)),
        Map.entry("c_num_free", DataTypes.createDecimalType(38, 18)),
        Map.entry("c_char", DataTypes.StringType), Map.entry("c_uuid", DataTypes.StringType),
        Map.entry("c_ts", DataTypes.TimestampNTZType), Map.entry("c_tstz", DataTypes.TimestampType),
        Map.entry("c_mood", DataTypes.StringType), Map.entry("c_layered", DataTypes.createDecimalType(12, 3)),
        Map.entry("c_code", DataTypes.IntegerType), Map.entry("c_inet", DataTypes.StringType),
        Map.entry("c_money", DataTypes.createDecimalType(19, 2)),
        Map.entry("a_int4", array(DataTypes.IntegerType)), Map.entry("a_float4", array(DataTypes.FloatType)),
        Map.entry("a_num", array(DataTypes.createDecimalType(10, 2))),
        Map.entry("a_char", array(DataTypes.StringType)), Map.entry("a_ts", array(DataTypes.TimestampNTZType)),
        Map.entry("a_tstz", array(DataTypes.TimestampType)), Map.entry("a_bytea", array(DataTypes.BinaryType)),
        Map.entry("a_uuid", array(DataTypes.StringType)), Map.entry("a_num_free", array(DataTypes.StringType)),
        Map.entry("a_mood", array(DataTypes.StringType)), Map.entry("a_domain", array(DataTypes.IntegerType)),
        Map.entry("a_money", array(DataTypes.StringType)));
    List<SourceColumn> columns = columns("everything", Set.of());
    for (SourceColumn c : columns) {
      if (expected.containsKey(c.name())) {
        assertEquals(expected.get(c.name()), c.dataType(), c.name());
      }
    }
    SourceColumn moods = find(columns, "a_mood");
    assertEquals("\"a_mood\"::text[] AS \"a_mood\"", moods.selectExpression(), "non-native elements as text[]");
    assertEquals(WireType.TEXT, moods.elementWireType());
    assertEquals(WireType.BPCHAR, find(columns, "a_char").elementWireType());
    assertEquals("\"c_money\"::numeric AS \"c_money\"", find(columns, "c_money").selectExpression());
    assertEquals("public.everything", find(columns, "c_int2").relation());
    // What a logical-replication reader can hand to PgBinaryDecoder as it arrives.
    for (String name : List.of("c_int2", "c_num", "c_num_free", "c_char", "c_uuid", "c_tstz", "c_layered", "c_code",
        "a_int4", "a_char", "a_bytea", "a_domain")) {
      assertTrue(find(columns, name).selectedAsIs(), name);
    }
    for (String name : List.of("c_json", "c_mood", "c_interval", "c_money", "a_mood", "a_num_free", "a_money")) {
      assertFalse(find(columns, name).selectedAsIs(), name);
    }
  }

  // ---- every value, both paths ----

  @Test
  void everyValueOfEveryTypeLandsAsPostgresqlShowsItThroughCopy() {
    List<SourceColumn> columns = columns("everything", Set.of());
    Dataset<Row> copy = copy(columns, "public.everything", List.of("id <= 3", "id > 3"));
    assertEquals(SourceColumns.schema(columns), copy.schema());
    assertLandsAsPostgresShowsIt("public.everything", columns, copy, 6);
  }

  @Test
  void everyValueOfEveryTypeLandsAsPostgresqlShowsItThroughJdbc() {
    List<SourceColumn> columns = columns("everything", Set.of());
    Dataset<Row> jdbc = JdbcExtraction.read(spark, config.spec().source(), columns, "public.everything",
        List.of("id % 2 = 0", "id % 2 = 1"), FETCH_SIZE);
    assertEquals(SourceColumns.schema(columns).json(), jdbc.schema().json());
    assertEquals(SourceColumns.schema(columns), jdbc.schema());
    assertEquals(2, jdbc.rdd().getNumPartitions());
    assertLandsAsPostgresShowsIt("public.everything", columns, jdbc, 6);
  }

  @Test
  void bothPathsLandEqualRows() {
    List<SourceColumn> columns = columns("everything", Set.of());
    List<Row> copy = sorted(copy(columns, "public.everything", List.of("TRUE")), "id");
    List<Row> jdbc = sorted(JdbcExtraction.read(spark, config.spec().source(), columns, "public.everything",
        List.of(), FETCH_SIZE), "id");
    assertEquals(copy.size(), jdbc.size());
    for (int r = 0; r < copy.size(); r++) {
      assertEquals(comparable(copy.get(r)), comparable(jdbc.get(r)), "row " + r);
    }
  }

  @Test
  void spotChecksAgainstKnownValues() {
    List<SourceColumn> columns = columns("everything", Set.of());
    List<Row> rows = java8(() -> sorted(copy(columns, "public.everything", List.of("TRUE")), "id"));
    Row first = rows.get(0);
    assertEquals("ab", first.getAs("c_char"), "char(5) without its padding");
    assertEquals("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", first.getAs("c_uuid"), "canonical lower case");
    assertEquals(new BigDecimal("1234.56"), first.getAs("c_money"));
    assertEquals(Instant.parse("2024-06-01T10:34:56.123456Z"), first.getAs("c_tstz"));
    assertEquals(LocalDateTime.parse("2024-06-01T12:34:56.123456"), first.getAs("c_ts"));
    assertEquals(java.util.Arrays.asList("a", "b,c", null, "NULL", ""), first.getList(first.fieldIndex("a_text")));
    assertEquals(java.util.Arrays.asList("ab", null, "a"), first.getList(first.fieldIndex("a_char")));
    Row second = rows.get(1);
    assertEquals("", second.getAs("c_text"), "empty string stays empty, not NULL");
    assertEquals("", second.getAs("c_char"), "char(5) of '' is ''");
    assertEquals(0, ((byte[]) second.getAs("c_bytea")).length, "empty bytea stays empty");
    assertEquals(List.of(), second.getList(second.fieldIndex("a_int4")), "empty array stays empty, not NULL");
    assertEquals(LocalDate.of(-4712, 1, 1), second.getAs("c_date"), "4713 BC, proleptic Gregorian");
    assertEquals(new BigDecimal("-99999999999999999999.999999999999999999"), second.getAs("c_num_free"));
    Row nulls = rows.get(2);
    for (int c = 1; c < nulls.length(); c++) {
      assertTrue(nulls.isNullAt(c), "column " + nulls.schema().fields()[c].name() + " of the NULL row");
    }
    Row fifth = rows.get(4);
    assertEquals(LocalDate.of(5874897, 12, 31), fifth.getAs("c_date"));
    assertEquals(new BigDecimal("92233720368547758.07"), fifth.getAs("c_money"));
    Row sixth = rows.get(5);
    assertEquals(List.of(1, 2, 3), sixth.getList(sixth.fieldIndex("a_int4")), "lower bound 0: elements kept");
    assertEquals(List.of(4, 5), sixth.getList(sixth.fieldIndex("a_domain")));
  }

  // ---- values Spark cannot hold: one line naming table, column, value and fix ----

  @Test
  void valuesThatDoNotFitFailWithOneLineNamingTableColumnValueAndFix() {
    String asText = "; list the column in as-text (on a table already landed that changes the column's type: read the"
        + " table through a view that maps such values instead)";
    String numericFix = "; declare the column numeric(p,s), or" + asText.substring(1);
    String clampFix = "; set infinity = clamp on its table to land it as 9999-12-31 or 0001-01-01 (not for a key or"
        + " cursor column), or" + asText.substring(1);
    Map<Integer, String> expected = Map.ofEntries(
        Map.entry(1, "column n of public.bad_values holds 0.1234567890123456789, which does not fit decimal(38,18)"
            + " exactly" + numericFix),
        Map.entry(2, "column n of public.bad_values holds 123456789012345678901, which does not fit decimal(38,18)"
            + " exactly" + numericFix),
        Map.entry(3, "column n of public.bad_values holds NaN, which a Spark decimal cannot represent" + asText),
        Map.entry(4, "column n of public.bad_values holds -Infinity, which a Spark decimal cannot represent" + asText),
        Map.entry(5, "column d of public.bad_values holds infinity, which a Spark date cannot represent" + clampFix),
        Map.entry(6, "column ts of public.bad_values holds -infinity, which a Spark timestamp cannot represent"
            + clampFix),
        Map.entry(7, "column tstz of public.bad_values holds infinity, which a Spark timestamp cannot represent"
            + clampFix),
        Map.entry(8, "column nums of public.bad_values holds a 2-dimensional array, which lands only as a"
            + " one-dimensional Spark array" + asText),
        Map.entry(9, "column moods of public.bad_values holds a 2-dimensional array, which lands only as a"
            + " one-dimensional Spark array" + asText),
        Map.entry(10, "column ds of public.bad_values holds -infinity, which a Spark date cannot represent" + asText),
        Map.entry(11, "column amounts of public.bad_values holds NaN, which a Spark decimal cannot represent"
            + asText));
    List<SourceColumn> columns = columns("bad_values", Set.of());
    for (var e : expected.entrySet()) {
      String where = "id = " + e.getKey();
      LakehouseException copy = failureOf(() -> copy(columns, "public.bad_values", List.of(where)).collectAsList());
      assertEquals("COPY partition 0 (row 1): " + e.getValue(), copy.getMessage(), where);
      LakehouseException jdbc = failureOf(() -> JdbcExtraction.read(spark, config.spec().source(), columns,
          "public.bad_values", List.of(where), FETCH_SIZE).collectAsList());
      assertEquals(e.getValue(), jdbc.getMessage(), where);
    }
    // Trailing zeros beyond the 18th place are not digits lost: that value fits exactly.
    for (Dataset<Row> df : List.of(copy(columns, "public.bad_values", List.of("id = 12")),
        JdbcExtraction.read(spark, config.spec().source(), columns, "public.bad_values", List.of("id = 12"), FETCH_SIZE))) {
      Row row = df.collectAsList().get(0);
      assertEquals(new BigDecimal("1.500000000000000000"), row.getDecimal(1));
      assertEquals(List.of(), row.getList(5));
    }
  }

  /** Clamped columns arrive as ordinary values, by COPY, by JDBC and from the log's text alike. */
  @Test
  void infiniteDatesAndTimestampsLandClampedWhenAsked() {
    List<SourceColumn> columns = InfiniteValues.clamped(columns("bad_values", Set.of()).stream()
        .filter(c -> List.of("id", "d", "ts", "tstz").contains(c.name())).toList(), name -> !name.equals("id"));
    String where = "id IN (5, 6, 7)";
    for (Dataset<Row> df : List.of(copy(columns, "public.bad_values", List.of(where)),
        JdbcExtraction.read(spark, config.spec().source(), columns, "public.bad_values", List.of(where), FETCH_SIZE))) {
      assertEquals(List.of("5|9999-12-31|-|-", "6|-|0001-01-01 00:00:00|-", "7|-|-|9999-12-31 23:59:59.999999"),
          df.selectExpr("concat_ws('|', id, coalesce(CAST(d AS string), '-'), coalesce(CAST(ts AS string), '-'),"
              + " coalesce(CAST(tstz AS string), '-'))").orderBy("id").as(org.apache.spark.sql.Encoders.STRING())
              .collectAsList());
    }
    SourceColumn d = find(columns, "d");
    SourceColumn tstz = find(columns, "tstz");
    assertEquals(LocalDate.of(9999, 12, 31), TextValues.parse(InfiniteValues.text("infinity", d), d, 2));
    assertEquals(Instant.parse("0001-01-01T00:00:00Z"), TextValues.parse(InfiniteValues.text("-infinity", tstz), tstz, 2));
    assertEquals(Instant.parse("9999-12-31T23:59:59.999999Z"),
        TextValues.parse(InfiniteValues.text("infinity", tstz), tstz, 2));
    assertEquals("2020-01-01", InfiniteValues.text("2020-01-01", d), "other values pass unchanged");
  }

  @Test
  void asTextReadsChosenColumnsAsPostgresqlText() {
    List<SourceColumn> columns = columns("bad_values", Set.of("n", "nums", "ds", "tstz"));
    for (String name : List.of("n", "nums", "ds", "tstz")) {
      SourceColumn c = find(columns, name);
      assertEquals(DataTypes.StringType, c.dataType(), name);
      assertEquals(ident(name) + "::text AS " + ident(name), c.selectExpression(), name);
    }
    assertEquals(array(DataTypes.StringType), find(columns, "moods").dataType(), "not listed: unchanged");
    List<SourceColumn> readable = columns.stream().filter(c -> !c.name().equals("moods")
        && !c.name().equals("d") && !c.name().equals("ts") && !c.name().equals("amounts")).toList();
    String where = "id IN (1, 2, 3, 4, 7, 8, 10, 12)";
    assertLandsAsPostgresShowsIt("public.bad_values", where, readable,
        copy(readable, "public.bad_values", List.of(where)), 8);
    assertLandsAsPostgresShowsIt("public.bad_values", where, readable, JdbcExtraction.read(spark, config.spec().source(),
        readable, "public.bad_values", List.of(where), FETCH_SIZE), 8);
    List<Row> rows = sorted(copy(readable, "public.bad_values", List.of(where)), "id");
    assertEquals("0.1234567890123456789", rows.get(0).getAs("n"));
    assertEquals("NaN", rows.get(2).getAs("n"));
    assertEquals("infinity", rows.get(4).getAs("tstz"));
    assertEquals("{{1,2},{3,4}}", rows.get(5).getAs("nums"));
  }

  @Test
  void asTextNamingUnknownColumnsIsOneLineNamingThem() {
    LakehouseException e = assertThrows(LakehouseException.class,
        () -> columns("bad_values", Set.of("n", "nope", "Also Missing")));
    assertEquals("as-text names columns that public.bad_values does not have: Also Missing, nope; its columns are"
        + " [id, n, d, ts, tstz, nums, moods, ds, amounts]", e.getMessage());
  }

  // ---- relations and identifiers ----

  @Test
  void partitionedTableViewMaterializedViewAndQuotedIdentifiersReadThroughBothPaths() {
    record Case(String relation, String qualified, String key, int rows, List<String> predicates) {}
    List<Case> cases = List.of(
        new Case("OrderLines", "public.\"OrderLines\"", "LineNo", 3,
            List.of("\"LineNo\" < 2", "\"LineNo\" >= 2")),
        new Case("order_line_view", "public.order_line_view", "LineNo", 3, List.of()),
        new Case("measurements", "public.measurements", "id", 4, List.of("region = 'eu'", "region = 'us'")),
        new Case("measurement_totals", "public.measurement_totals", "region", 2, List.of()));
    for (Case c : cases) {
      List<SourceColumn> columns = columns(c.relation(), Set.of());
      Dataset<Row> copy = copy(columns, c.qualified(),
          c.predicates().isEmpty() ? List.of("TRUE") : c.predicates());
      Dataset<Row> jdbc = JdbcExtraction.read(spark, config.spec().source(), columns, c.qualified(), c.predicates(),
          FETCH_SIZE);
      assertEquals(SourceColumns.schema(columns), copy.schema(), c.relation());
      assertEquals(SourceColumns.schema(columns), jdbc.schema(), c.relation());
      assertLandsAsPostgresShowsIt(c.qualified(), columns, copy, c.rows());
      assertLandsAsPostgresShowsIt(c.qualified(), columns, jdbc, c.rows());
    }
    List<SourceColumn> lines = columns("OrderLines", Set.of());
    assertEquals(List.of("LineNo", "select", "with space", "Tags", "Placed At", "Mixed \"Quote\""),
        lines.stream().map(SourceColumn::name).toList());
    assertFalse(find(lines, "select").nullable());
    assertFalse(JdbcExtraction.read(spark, config.spec().source(), lines, "public.\"OrderLines\"", List.of(), FETCH_SIZE)
        .schema().apply("Placed At").nullable(), "NOT NULL stays NOT NULL through JDBC");
    assertEquals(array(DataTypes.IntegerType), find(columns("measurement_totals", Set.of()), "ids").dataType());
  }

  @Test
  void textFormsDoNotFollowTheSourcesOwnSessionDefaults() {
    // A database whose defaults write intervals, dates and floats otherwise than PostgreSQL does
    // out of the box. The log writes them in PostgreSQL's defaults, so both read paths must too.
    String db = cloneDatabase("template1");
    executeIn(db, "ALTER DATABASE " + db + " SET IntervalStyle = 'iso_8601'",
        "ALTER DATABASE " + db + " SET DateStyle = 'SQL, DMY'",
        "ALTER DATABASE " + db + " SET extra_float_digits = 0",
        "CREATE TABLE forms (id int PRIMARY KEY, span interval, during tstzrange, spot point, since tsrange)",
        "INSERT INTO forms VALUES (1, '1 year 2 mons 3 days 04:05:06.5',"
            + " '[2026-01-02 03:04:05+00,2026-02-01 00:00:00+00)', point(0.12345678901234568, 2), '[2026-01-02 03:04:05,)')");
    List<String> expected = List.of("1", "1 year 2 mons 3 days 04:05:06.5",
        "[\"2026-01-02 03:04:05+00\",\"2026-02-01 00:00:00+00\")", "(0.12345678901234568,2)", "[\"2026-01-02 03:04:05\",)");
    LakehouseSpec spec = testConfig(Map.of("lakehouse.source.url", urlOf(db))).spec();
    List<SourceColumn> columns;
    try (Connection c = java.sql.DriverManager.getConnection(urlOf(db), "postgres", "")) {
      columns = SourceColumns.discover(c, "public", "forms", Set.of());
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    String select = "SELECT " + SourceColumns.selectList(columns) + " FROM public.forms";
    Row copy = CopyExtraction.read(spark, spec.source(), columns, List.of(select), Optional.empty()).first();
    Row jdbc = JdbcExtraction.read(spark, spec.source(), columns, "public.forms", List.of(), FETCH_SIZE).first();
    for (Row row : List.of(copy, jdbc)) {
      assertEquals(expected, java.util.stream.IntStream.range(0, row.length()).mapToObj(i -> String.valueOf(row.get(i)))
          .toList());
    }
  }

  @Test
  void jdbcPartitionsReadTheExportedSnapshot() {
    sourceExecute("CREATE TABLE snap (id int4 PRIMARY KEY, v text NOT NULL)",
        "INSERT INTO snap SELECT i, 'before' FROM generate_series(1, 100) i");
    List<SourceColumn> columns = columns("snap", Set.of());
    try (ExportedSnapshot snapshot = ExportedSnapshot.export(config.spec().source())) {
      sourceExecute("INSERT INTO snap SELECT i, 'after' FROM generate_series(101, 150) i",
          "UPDATE snap SET v = 'changed' WHERE id <= 10");
      Dataset<Row> then = JdbcExtraction.read(spark, config.spec().source(), columns, "public.snap",
          List.of("id % 2 = 0", "id % 2 = 1"), FETCH_SIZE, Optional.of(snapshot.id()));
      then.createOrReplaceTempView("snap_then");
      assertEquals(List.of(List.of(100L, 0L)), sql("SELECT count(*), count_if(v <> 'before') FROM snap_then"));
      Dataset<Row> now = JdbcExtraction.read(spark, config.spec().source(), columns, "public.snap",
          List.of("id % 2 = 0", "id % 2 = 1"), FETCH_SIZE);
      now.createOrReplaceTempView("snap_now");
      assertEquals(List.of(List.of(150L, 60L)), sql("SELECT count(*), count_if(v <> 'before') FROM snap_now"));
    }
  }

  // ---- helpers ----

  /** A row's values with byte arrays as hex and arrays as lists, so equals compares contents. */
  private static Object comparable(Object value) {
    if (value instanceof Row row) {
      List<Object> values = new ArrayList<>();
      for (int i = 0; i < row.length(); i++) {
        values.add(comparable(row.get(i)));
      }
      return values;
    }
    if (value instanceof byte[] b) {
      return "\\x" + HexFormat.of().formatHex(b);
    }
    if (value instanceof scala.collection.Seq<?> seq) {
      return scala.jdk.javaapi.CollectionConverters.asJava(seq).stream().map(SourceTypesTest::comparable).toList();
    }
    return value;
  }

  private static ArrayType array(DataType element) {
    return DataTypes.createArrayType(element, true);
  }

  private static List<SourceColumn> columns(String table, Set<String> asText) {
    try (Connection c = source()) {
      return SourceColumns.discover(c, "public", table, asText);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static SourceColumn find(List<SourceColumn> columns, String name) {
    return columns.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
  }

  private static Dataset<Row> copy(List<SourceColumn> columns, String qualified, List<String> wheres) {
    String select = "SELECT " + SourceColumns.selectList(columns) + " FROM " + qualified;
    return CopyExtraction.read(spark, config.spec().source(), columns,
        wheres.stream().map(w -> select + " WHERE " + w).toList(), Optional.empty());
  }

  private static LakehouseException failureOf(Runnable action) {
    Throwable thrown = assertThrows(Throwable.class, action::run);
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      if (t instanceof LakehouseException e) {
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
      }
    }
    fail("No LakehouseException in the cause chain", thrown);
    return null;
  }

  /** Collects with java.time values (LocalDate, Instant, LocalDateTime), which keep BC dates exact. */
  private static <T> T java8(Supplier<T> action) {
    String key = "spark.sql.datetime.java8API.enabled";
    String before = spark.conf().get(key);
    spark.conf().set(key, "true");
    try {
      return action.get();
    } finally {
      spark.conf().set(key, before);
    }
  }

  private static List<Row> sorted(Dataset<Row> df, String key) {
    return java8(() -> df.toDF().orderBy(df.col("`" + key.replace("`", "``") + "`")).collectAsList());
  }

  /**
   * Every row and column of {@code df} formatted as PostgreSQL text equals PostgreSQL's own text
   * of the value, rows matched by the first column.
   */
  private static void assertLandsAsPostgresShowsIt(String qualified, List<SourceColumn> columns, Dataset<Row> df,
      int expectedRows) {
    assertLandsAsPostgresShowsIt(qualified, "TRUE", columns, df, expectedRows);
  }

  private static void assertLandsAsPostgresShowsIt(String qualified, String where, List<SourceColumn> columns,
      Dataset<Row> df, int expectedRows) {
    List<String> expressions = columns.stream().map(SourceTypesTest::postgresText).toList();
    String query = "SELECT " + String.join(", ", expressions) + " FROM " + qualified + " WHERE " + where;
    List<List<String>> pg = new ArrayList<>();
    try (Connection c = source(); Statement s = c.createStatement()) {
      s.execute("SET TIME ZONE 'UTC'");
      try (ResultSet rs = s.executeQuery(query)) {
        while (rs.next()) {
          List<String> row = new ArrayList<>();
          for (int i = 1; i <= columns.size(); i++) {
            row.add(rs.getString(i));
          }
          pg.add(row);
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException(query, e);
    }
    // Rows matched by the text of their first column.
    List<Row> rows = new ArrayList<>(java8(() -> df.toDF().collectAsList()));
    List<List<String>> spark = new ArrayList<>();
    for (Row row : rows) {
      List<String> texts = new ArrayList<>();
      for (int i = 0; i < columns.size(); i++) {
        texts.add(sparkText(row.isNullAt(i) ? null : row.get(i), columns.get(i)));
      }
      spark.add(texts);
    }
    List<List<String>> pgSorted = new ArrayList<>(pg);
    java.util.Comparator<List<String>> byFirst = java.util.Comparator.comparing(r -> r.get(0));
    pgSorted.sort(byFirst);
    spark.sort(byFirst);
    assertEquals(expectedRows, pgSorted.size(), qualified + ": rows in PostgreSQL");
    assertEquals(pgSorted.size(), spark.size(), qualified + ": rows landed");
    for (int r = 0; r < pgSorted.size(); r++) {
      for (int i = 0; i < columns.size(); i++) {
        assertEquals(pgSorted.get(r).get(i), spark.get(r).get(i),
            qualified + " row " + pgSorted.get(r).get(0) + " column " + columns.get(i).name());
      }
    }
  }

  /** PostgreSQL's text of a column, as the decisions say it lands. */
  private static String postgresText(SourceColumn c) {
    String q = ident(c.name());
    if (c.wireType() == WireType.ARRAY) {
      // Elements of types without a native mapping (and character(n) ones, without their padding)
      // land as each element's ::text; lower bounds are not kept.
      String value = c.elementWireType() == WireType.BPCHAR || c.elementWireType() == WireType.TEXT
          ? q + "::text[]" : q;
      return "regexp_replace((" + value + ")::text, '^\\[[^=]*\\]=', '')";
    }
    if (c.pgType().equals("money") && c.dataType() instanceof DecimalType) {
      return q + "::numeric::text";
    }
    if (unconstrained(c)) {
      // The decimal has 18 places whatever PostgreSQL's display scale was.
      return "trim_scale(" + q + ")::text";
    }
    return q + "::text";
  }

  private static boolean unconstrained(SourceColumn c) {
    return c.dataType() instanceof DecimalType && c.sqlType().equals("numeric");
  }

  // ---- Spark values formatted as PostgreSQL text ----

  private static String sparkText(Object value, SourceColumn c) {
    if (value == null) {
      return null;
    }
    DataType type = c.dataType();
    if (type instanceof ArrayType) {
      List<?> elements = value instanceof List<?> l ? l
          : scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<?>) value);
      StringBuilder out = new StringBuilder("{");
      for (int k = 0; k < elements.size(); k++) {
        Object e = elements.get(k);
        out.append(k == 0 ? "" : ",").append(e == null ? "NULL" : quoteElement(text(e, true, false)));
      }
      return out.append('}').toString();
    }
    return text(value, false, unconstrained(c));
  }

  private static String text(Object value, boolean element, boolean stripZeros) {
    if (value instanceof Boolean b) {
      return element ? (b ? "t" : "f") : b.toString();
    }
    if (value instanceof Float f) {
      return floatText(f, true);
    }
    if (value instanceof Double d) {
      return floatText(d, false);
    }
    if (value instanceof BigDecimal d) {
      if (stripZeros) {
        BigDecimal s = d.stripTrailingZeros();
        return (s.scale() < 0 ? s.setScale(0) : s).toPlainString();
      }
      return d.toPlainString();
    }
    if (value instanceof LocalDate d) {
      return dateText(d.getYear(), d.getMonthValue(), d.getDayOfMonth(), "", "");
    }
    if (value instanceof LocalDateTime t) {
      return dateTimeText(t, "");
    }
    if (value instanceof Instant i) {
      return dateTimeText(LocalDateTime.ofInstant(i, ZoneOffset.UTC), "+00");
    }
    if (value instanceof byte[] b) {
      return "\\x" + HexFormat.of().formatHex(b);
    }
    return value.toString();
  }

  private static String dateTimeText(LocalDateTime t, String zone) {
    String time = String.format("%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond());
    int micros = t.getNano() / 1000;
    if (micros != 0) {
      time += ("." + String.format("%06d", micros)).replaceAll("0+$", "");
    }
    return dateText(t.getYear(), t.getMonthValue(), t.getDayOfMonth(), " " + time, zone);
  }

  /** ISO dates as PostgreSQL prints them: 4 digits at least, years before 1 as "... BC". */
  private static String dateText(int year, int month, int day, String time, String zone) {
    boolean bc = year <= 0;
    return String.format("%04d-%02d-%02d", bc ? 1 - year : year, month, day) + time + zone + (bc ? " BC" : "");
  }

  /**
   * PostgreSQL's float output (extra_float_digits > 0): the shortest digits that read back as the
   * same value, fixed-point when the exponent is in [-4, 15) (float4: [-4, 6)), else like %e.
   */
  private static String floatText(double v, boolean float4) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "Infinity" : "-Infinity";
    }
    if (v == 0) {
      return 1 / v < 0 ? "-0" : "0";
    }
    BigDecimal exact = new BigDecimal(v);
    BigDecimal shortest = exact;
    for (int digits = 1; digits <= 17; digits++) {
      BigDecimal r = exact.round(new MathContext(digits, RoundingMode.HALF_EVEN));
      if (float4 ? r.floatValue() == (float) v : r.doubleValue() == v) {
        shortest = r;
        break;
      }
    }
    shortest = shortest.stripTrailingZeros();
    int exponent = shortest.precision() - shortest.scale() - 1;
    if (exponent < -4 || exponent >= (float4 ? 6 : 15)) {
      String digits = shortest.unscaledValue().abs().toString();
      String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      String sign = shortest.signum() < 0 ? "-" : "";
      return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }
    return shortest.toPlainString();
  }

  /** An array element as array_out writes it: quoted when empty, NULL-like, or holding special characters. */
  private static String quoteElement(String text) {
    boolean quote = text.isEmpty() || text.equalsIgnoreCase("NULL");
    for (char ch : text.toCharArray()) {
      if (ch == '"' || ch == '\\' || ch == '{' || ch == '}' || ch == ',' || ch == ' ' || ch == '\t'
          || ch == '\n' || ch == '\r' || ch == 0x0B || ch == '\f') {
        quote = true;
        break;
      }
    }
    if (!quote) {
      return text;
    }
    return '"' + text.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
