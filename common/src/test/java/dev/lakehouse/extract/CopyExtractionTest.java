package dev.lakehouse.extract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.testing.LakehouseTestBase;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.execution.ExtendedMode$;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The COPY reader against a real PostgreSQL, compared value by value with what PostgreSQL returns. */
class CopyExtractionTest extends LakehouseTestBase {

  @BeforeAll
  static void createTables() {
    sourceExecute(
        "CREATE EXTENSION citext",
        "CREATE TYPE mood AS ENUM ('sad', 'happy')",
        """
        CREATE TABLE typed (
          id int4 PRIMARY KEY, c_int2 int2, c_int8 int8, c_float4 float4, c_float8 float8,
          c_num12 numeric(12,2), c_num38 numeric(38,10), c_num numeric, c_bool boolean,
          c_text text, c_varchar varchar(20), c_char char(5), c_name name, c_citext citext,
          c_date date, c_tstz timestamptz, c_ts timestamp, c_bytea bytea,
          c_uuid uuid, c_jsonb jsonb, c_ints int4[], c_mood mood, c_interval interval)""",
        """
        INSERT INTO typed VALUES
          (1, 12, 1234567890123, 1.5, 2.25, 1234.56, 12345.6789, 42, true,
           'plain', 'varchar', 'ab', 'a_name', 'MiXeD',
           '2024-02-29', '2024-06-01 12:34:56.123456+00', '2024-06-01 12:34:56.123456', '\\x00ff10',
           'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": [1, 2], "a": "x"}', '{1,2,3}', 'happy', '1 day 02:03:04'),
          (2, -32768, -9223372036854775808, -3.4e38, '-Infinity', -9999999999.99,
           -9999999999999999999999999999.9999999999, -0.000000000000000001, false,
           '', '', '', '', '',
           '0001-01-01', '1900-01-01 00:00:00+00', '1950-06-15 08:00:00.000001', '\\x',
           '00000000-0000-0000-0000-000000000000', '{}', '{}', 'sad', '-1 mons -00:00:00.000001'),
          (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (4, 32767, 9223372036854775807, 1.17549435e-38, 'NaN', 0.05,
           0.0000000001, 3.141592653589793238, true,
           'Grüße, 日本語, emoji 🌍, quote '' and tab\t', 'ünïcödé', 'x', 'Ωmega', 'ß',
           '1969-12-31', '2021-03-28 01:59:59.999999+00', '2021-03-28 02:30:00', '\\xdeadbeef',
           'ffffffff-ffff-ffff-ffff-ffffffffffff', '"a string"', '{NULL,-1}', 'happy', '00:00:00'),
          (5, 0, 0, -0.0, 1e308, 9999999999.99,
           9999999999999999999999999999.9999999999, -0.000000000000000005, false,
           ' leading and trailing ', ' ', ' ', 'x', 'y',
           '2000-01-01', '2000-01-01 00:00:00+00', '1999-12-31 23:59:59.999999', '\\x00',
           '123e4567-e89b-12d3-a456-426614174000', 'null', '{1,2,3,4}', 'sad', '1 year'),
          (6, 1, 1, 1, 1, -0.01, -1, 0.123456789012345678, true,
           'x', 'x', 'x', 'x', 'x',
           '1582-10-04', '2021-10-31 01:30:00+01', '1969-07-20 20:17:40', '\\x01',
           '123e4567-e89b-12d3-a456-426614174001', '[1, 2.50, "three"]', '{7}', 'happy', '3 days'),
          (7, 2, 2, 2, 2, 0, 0, 12345678901234567890.5, false,
           'y', 'y', 'y', 'y', 'y',
           '9999-12-31', '1965-05-05 12:34:56.789012-05', '0001-01-01 00:00:00', '\\x02',
           '123e4567-e89b-12d3-a456-426614174002', '{"nested": {"k": null}}', '{8}', 'sad', '00:00:00.000001')""",
        "CREATE TABLE numbers (id int4 PRIMARY KEY, amount numeric(10,2) NOT NULL, label text NOT NULL)",
        "INSERT INTO numbers SELECT i, i * 1.25, 'row ' || i FROM generate_series(1, 10000) i",
        "CREATE TABLE snap (id int4 PRIMARY KEY, v text NOT NULL)",
        "INSERT INTO snap SELECT i, 'before' FROM generate_series(1, 1000) i",
        "CREATE TABLE inf_ts (id int4, ts timestamptz)",
        "INSERT INTO inf_ts VALUES (1, '2024-01-01 00:00:00+00'), (2, 'infinity')",
        "CREATE TABLE inf_date (id int4, d date)",
        "INSERT INTO inf_date VALUES (1, '-infinity')",
        "CREATE TABLE nan_num (id int4, n numeric)",
        "INSERT INTO nan_num VALUES (1, 1.5), (2, 'NaN')",
        "CREATE TABLE scales (neg numeric(5,-2), tiny numeric(3,5))",
        "INSERT INTO scales VALUES (12345, 0.00123), (-99999, -0.009994), (NULL, 0)");
  }

  private static List<SourceColumn> columns(String table) {
    try (Connection c = source()) {
      return SourceColumns.discover(c, "public", table);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The whole table as one partition per WHERE clause ("" for no filter). */
  private static Dataset<Row> extract(String table, List<String> wheres, Optional<String> snapshot) {
    List<SourceColumn> columns = columns(table);
    String select = "SELECT " + SourceColumns.selectList(columns) + " FROM public." + table;
    List<String> selects = wheres.stream().map(w -> w.isEmpty() ? select : select + " WHERE " + w).toList();
    return CopyExtraction.read(spark, config.spec().source(), columns, selects, snapshot);
  }

  private static Dataset<Row> extract(String table) {
    return extract(table, List.of(""), Optional.empty());
  }

  private static LakehouseException failureOf(Runnable action) {
    Throwable thrown = assertThrows(Throwable.class, action::run);
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      if (t instanceof LakehouseException e) {
        return e;
      }
    }
    fail("No LakehouseException in the cause chain", thrown);
    return null;
  }

  private static List<Row> ordered(Dataset<Row> df) {
    return df.orderBy("id").collectAsList();
  }

  @Test
  void everyMappedTypeMatchesWhatPostgresqlReturns() {
    Dataset<Row> df = extract("typed");
    assertEquals(DataTypes.ShortType, df.schema().apply("c_int2").dataType());
    assertEquals(DataTypes.TimestampNTZType, df.schema().apply("c_ts").dataType());
    assertEquals(DataTypes.createDecimalType(38, 18), df.schema().apply("c_num").dataType());
    List<Row> rows = ordered(df);
    // PostgreSQL's side, with time values as integers since 1970 so nothing is converted on the way.
    List<List<Object>> pg = sourceQuery("""
        SELECT id, c_int2, c_int8, c_float4, c_float8, c_num12, c_num38, c_num, c_bool,
               c_text, c_varchar, c_char::text, c_name::text, c_citext::text,
               c_date - DATE '1970-01-01', (extract(epoch FROM c_tstz) * 1000000)::int8,
               (extract(epoch FROM c_ts) * 1000000)::int8, c_bytea,
               c_uuid::text, c_jsonb::text, c_ints::text, c_mood::text, c_interval::text
        FROM typed ORDER BY id""");
    df.createOrReplaceTempView("typed_copy");
    List<List<Object>> sparkTimes = sql(
        "SELECT unix_date(c_date), unix_micros(c_tstz), unix_micros(CAST(c_ts AS TIMESTAMP)) FROM typed_copy ORDER BY id");
    assertEquals(7, rows.size());
    for (int r = 0; r < rows.size(); r++) {
      Row s = rows.get(r);
      List<Object> p = pg.get(r);
      String at = "row id " + p.get(0);
      assertEquals(p.get(0), s.get(0), at);
      assertEquals(p.get(1) == null ? null : ((Integer) p.get(1)).shortValue(), s.get(1), at + " int2");
      assertEquals(p.get(2), s.get(2), at + " int8");
      assertEquals(p.get(3), s.get(3), at + " float4");
      assertEquals(p.get(4), s.get(4), at + " float8");
      assertDecimal(p.get(5), 2, s.get(5), at + " numeric(12,2)");
      assertDecimal(p.get(6), 10, s.get(6), at + " numeric(38,10)");
      assertDecimal(p.get(7), 18, s.get(7), at + " numeric");
      assertEquals(p.get(8), s.get(8), at + " bool");
      for (int c = 9; c <= 13; c++) {
        assertEquals(p.get(c), s.get(c), at + " text column " + c);
      }
      assertEquals(p.get(14), sparkTimes.get(r).get(0), at + " date");
      assertEquals(p.get(15), sparkTimes.get(r).get(1), at + " timestamptz");
      assertEquals(p.get(16), sparkTimes.get(r).get(2), at + " timestamp");
      assertArrayEquals((byte[]) p.get(17), (byte[]) s.get(17), at + " bytea");
      for (int c : new int[] {18, 19, 21, 22}) {
        assertEquals(p.get(c), s.get(c), at + " text form of column " + c);
      }
      assertEquals(p.get(20), s.isNullAt(20) ? null : s.getList(20).stream()
          .map(e -> e == null ? "NULL" : e.toString()).collect(java.util.stream.Collectors.joining(",", "{", "}")),
          at + " int4[]");
    }
    // Spot checks against known values, in case both sides were wrong the same way.
    Row first = rows.get(0);
    assertEquals(new BigDecimal("1234.56"), first.getDecimal(5));
    assertEquals(new BigDecimal("42.000000000000000000"), first.getDecimal(7));
    assertEquals("ab", first.getString(11), "char(5) as PostgreSQL's ::text shows it, without the padding");
    assertArrayEquals(new byte[] {0, (byte) 0xFF, 0x10}, (byte[]) first.get(17));
    assertEquals("{\"a\": \"x\", \"b\": [1, 2]}", first.getString(19), "jsonb in PostgreSQL's normal form");
    assertEquals(List.of(1, 2, 3), first.getList(20));
    assertEquals(1717245296123456L, sparkTimes.get(0).get(1));
    Row nulls = rows.get(2);
    for (int c = 1; c < nulls.length(); c++) {
      assertTrue(nulls.isNullAt(c), "column " + c + " of the NULL row");
    }
    Row second = rows.get(1);
    assertEquals("", second.getString(9), "empty string stays empty, not NULL");
    assertEquals(0, ((byte[]) second.get(17)).length, "empty bytea stays empty, not NULL");
    assertEquals(Double.NEGATIVE_INFINITY, second.getDouble(4));
    assertEquals(new BigDecimal("-9999999999999999999999999999.9999999999"), second.getDecimal(6));
    assertEquals(new BigDecimal("-0.000000000000000001"), second.getDecimal(7));
    assertEquals(-2208988800000000L, sparkTimes.get(1).get(1), "1900-01-01 UTC");
    assertEquals(-719162, sparkTimes.get(1).get(0), "0001-01-01, proleptic Gregorian");
    Row fourth = rows.get(3);
    assertEquals("Grüße, 日本語, emoji 🌍, quote ' and tab\t", fourth.getString(9));
    assertTrue(Double.isNaN(fourth.getDouble(4)));
    assertEquals(new BigDecimal("3.141592653589793238"), fourth.getDecimal(7), "unconstrained numeric, 18 places");
    assertEquals(-1, sparkTimes.get(3).get(0), "1969-12-31");
    assertEquals(1616896799999999L, sparkTimes.get(3).get(1), "the last microsecond before the EU DST switch");
    assertEquals(1616898600000000L, sparkTimes.get(3).get(2), "a wall-clock time that does not exist in CET is kept");
    assertEquals(new BigDecimal("-0.000000000000000005"), rows.get(4).getDecimal(7));
    assertEquals(946684799999999L, sparkTimes.get(4).get(2), "one microsecond before the PostgreSQL epoch");
    assertEquals(new BigDecimal("0.123456789012345678"), rows.get(5).getDecimal(7));
    assertEquals(1635640200000000L, sparkTimes.get(5).get(1), "2021-10-31 01:30+01 (inside the repeated CET hour)");
    assertEquals(new BigDecimal("12345678901234567890.500000000000000000"), rows.get(6).getDecimal(7));
    assertEquals(-146989503210988L, sparkTimes.get(6).get(1), "1965-05-05 12:34:56.789012-05");
  }

  private static void assertDecimal(Object pg, int scale, Object spark, String what) {
    if (pg == null) {
      assertNull(spark, what);
      return;
    }
    BigDecimal expected = ((BigDecimal) pg).setScale(scale, RoundingMode.HALF_UP);
    assertEquals(expected, spark, what);
  }

  @Test
  void numericLandsExactlyOrFailsOnBothDecodePaths() {
    String[] exact = {"1.5", "-1.05", "0", "-7", "12345678.90", "0.01", "-0.00", "99.99", "123.4500000",
        "0.000000000"};
    String[] inexact = {"1.005", "-0.001", "123.4550001", "0.00005", "12345678.90123456789"};
    String select = "SELECT v FROM unnest(ARRAY[" + String.join(",", exact) + "]::numeric[])"
        + " WITH ORDINALITY AS t(v, n) ORDER BY n";
    for (int precision : new int[] {12, 30}) {
      // precision 12 decodes through an unscaled long, 30 through BigDecimal.
      SourceColumn v = new SourceColumn("v", "numeric", "numeric", DataTypes.createDecimalType(precision, 2), true,
          "v", WireType.NUMERIC);
      List<Row> rows = CopyExtraction.read(spark, config.spec().source(), List.of(v), List.of(select), Optional.empty())
          .collectAsList();
      assertEquals(exact.length, rows.size());
      for (int i = 0; i < exact.length; i++) {
        assertEquals(new BigDecimal(exact[i]).setScale(2, RoundingMode.UNNECESSARY), rows.get(i).getDecimal(0),
            exact[i] + " as decimal(" + precision + ",2)");
      }
      // Nothing is rounded: a digit below the scale fails the read, naming the value.
      for (String value : inexact) {
        LakehouseException e = failureOf(() -> CopyExtraction.read(spark, config.spec().source(), List.of(v),
            List.of("SELECT 1.25 UNION ALL SELECT " + value), Optional.empty()).collectAsList());
        assertEquals("COPY partition 0 (row 2): column v holds " + value + ", which does not fit decimal(" + precision
            + ",2) exactly; declare the column numeric(p,s), or list the column in as-text (on a table already landed"
            + " that changes the column's type: read the table through a view that maps such values instead)",
            e.getMessage());
      }
    }
    SourceColumn narrow = new SourceColumn("v", "numeric", "numeric", DataTypes.createDecimalType(5, 2), true,
        "v", WireType.NUMERIC);
    LakehouseException e = failureOf(() -> CopyExtraction.read(spark, config.spec().source(), List.of(narrow),
        List.of("SELECT 999.99 UNION ALL SELECT 1000.00"), Optional.empty()).collectAsList());
    assertTrue(e.getMessage().contains("(row 2): column v holds 1000.00, which does not fit decimal(5,2) exactly"),
        e.getMessage());
  }

  @Test
  void numericScalesOutsideZeroToPrecision() {
    List<Row> rows = extract("scales").collectAsList();
    assertEquals(new BigDecimal("12300"), rows.get(0).getDecimal(0));
    assertEquals(new BigDecimal("0.00123"), rows.get(0).getDecimal(1));
    assertEquals(new BigDecimal("-100000"), rows.get(1).getDecimal(0));
    assertEquals(new BigDecimal("-0.00999"), rows.get(1).getDecimal(1));
    assertTrue(rows.get(2).isNullAt(0));
    assertEquals(new BigDecimal("0.00000"), rows.get(2).getDecimal(1));
  }

  @Test
  void partitionsReturnTheUnionWithoutDuplicates() {
    Dataset<Row> df = extract("numbers", List.of("id % 4 = 0", "id % 4 = 1", "id % 4 = 2", "id % 4 = 3"),
        Optional.empty());
    assertEquals(4, df.rdd().getNumPartitions());
    df.createOrReplaceTempView("numbers_copy");
    List<Object> totals = sql("SELECT count(*), count(DISTINCT id), sum(amount), min(id), max(id) FROM numbers_copy").get(0);
    List<Object> expected =
        sourceQuery("SELECT count(*), count(DISTINCT id), sum(amount), min(id), max(id) FROM numbers").get(0);
    assertEquals(10000L, totals.get(0));
    assertEquals(10000L, totals.get(1));
    assertEquals(((BigDecimal) expected.get(2)).compareTo((BigDecimal) totals.get(2)), 0, "sum(amount)");
    assertEquals(List.of(1, 10000), totals.subList(3, 5));
    // Each Spark partition holds exactly one SELECT's rows.
    List<List<Object>> perPartition = sql(
        "SELECT spark_partition_id(), min(id %% 4), max(id %% 4), count(*) FROM numbers_copy GROUP BY 1 ORDER BY 1");
    for (int k = 0; k < 4; k++) {
      assertEquals(List.of(k, k, k, 2500L), perPartition.get(k));
    }
  }

  @Test
  void allPartitionsReadTheExportedSnapshot() throws Exception {
    try (ExportedSnapshot snapshot = ExportedSnapshot.export(config.spec().source())) {
      // Committed by other connections after the export: invisible to the snapshot.
      sourceExecute(
          "INSERT INTO snap SELECT i, 'after' FROM generate_series(1001, 1500) i",
          "UPDATE snap SET v = 'changed' WHERE id <= 10",
          "DELETE FROM snap WHERE id BETWEEN 500 AND 509");
      List<String> thirds = List.of("id % 3 = 0", "id % 3 = 1", "id % 3 = 2");
      extract("snap", thirds, Optional.of(snapshot.id())).createOrReplaceTempView("snap_then");
      assertEquals(List.of(List.of(1000L, 1000L, "before", "before", 1, 1000)),
          sql("SELECT count(*), count(DISTINCT id), min(v), max(v), min(id), max(id) FROM snap_then"));
      extract("snap", thirds, Optional.empty()).createOrReplaceTempView("snap_now");
      assertEquals(List.of(List.of(1490L, 10L, 500L)), sql(
          "SELECT count(*), count_if(v = 'changed'), count_if(v = 'after') FROM snap_now"));
    }
  }

  @Test
  void aSnapshotWhoseExporterEndedIsAClearError() {
    String id;
    try (ExportedSnapshot snapshot = ExportedSnapshot.export(config.spec().source())) {
      id = snapshot.id();
    }
    LakehouseException e = failureOf(() -> extract("snap", List.of(""), Optional.of(id)).count());
    assertTrue(e.getMessage().startsWith("COPY partition 0 cannot import snapshot " + id
        + " (the exporting transaction must stay open until the read ends): ERROR: snapshot \"" + id + "\" does not exist"),
        e.getMessage());
  }

  @Test
  void infinityAndNaNAreClearErrorsNamingTheColumn() {
    LakehouseException ts = failureOf(() -> extract("inf_ts").collectAsList());
    assertEquals("COPY partition 0 (row 2): column ts of public.inf_ts holds infinity, which a Spark timestamp"
        + " cannot represent; set infinity = clamp on its table to land it as 9999-12-31 or 0001-01-01 (not for a key"
        + " or cursor column), or list the column in as-text (on a table already landed that changes the column's type:"
        + " read the table through a view that maps such values instead)", ts.getMessage());
    LakehouseException date = failureOf(() -> extract("inf_date").collectAsList());
    assertEquals("COPY partition 0 (row 1): column d of public.inf_date holds -infinity, which a Spark date"
        + " cannot represent; set infinity = clamp on its table to land it as 9999-12-31 or 0001-01-01 (not for a key"
        + " or cursor column), or list the column in as-text (on a table already landed that changes the column's type:"
        + " read the table through a view that maps such values instead)", date.getMessage());
    LakehouseException nan = failureOf(() -> extract("nan_num").collectAsList());
    assertEquals("COPY partition 0 (row 2): column n of public.nan_num holds NaN, which a Spark decimal"
        + " cannot represent; list the column in as-text (on a table already landed that changes the column's type:"
        + " read the table through a view that maps such values instead)", nan.getMessage());
  }

  @Test
  void anErrorLateInTheStreamFailsTheRead() {
    SourceColumn i = new SourceColumn("i", "int4", "integer", DataTypes.IntegerType, true, "i", WireType.INT4);
    SourceColumn q = new SourceColumn("q", "int4", "integer", DataTypes.IntegerType, true, "q", WireType.INT4);
    // Row 300000 divides by zero, well after the first megabyte of rows has been decoded.
    String select = "SELECT i, 1000 / (i - 300000) AS q FROM generate_series(1, 400000) i";
    LakehouseException e = failureOf(() -> CopyExtraction.read(spark, config.spec().source(), List.of(i, q), List.of(select),
        Optional.empty()).count());
    Matcher m = Pattern.compile("COPY partition 0 failed after (\\d+) rows: .*division by zero.*").matcher(e.getMessage());
    assertTrue(m.matches(), e.getMessage());
    long decoded = Long.parseLong(m.group(1));
    assertTrue(decoded > 0 && decoded < 300000, "rows before the failure: " + decoded);
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aConnectionKilledMidStreamFailsTheRead() throws Exception {
    SourceColumn i = new SourceColumn("i", "int4", "integer", DataTypes.IntegerType, true, "i", WireType.INT4);
    // Streams 200000 rows, then stalls in pg_sleep so the backend can be terminated mid-COPY.
    String select = "SELECT i FROM generate_series(1, 300000) i WHERE i <= 200000 OR pg_sleep(60) IS NULL";
    CompletableFuture<Long> read = CompletableFuture.supplyAsync(() -> CopyExtraction.read(
        spark, config.spec().source(), List.of(i), List.of(select), Optional.empty()).count());
    String copying =
        "FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT i FROM generate_series%' AND wait_event = 'PgSleep'";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (sourceCount("SELECT count(*) " + copying) == 0) {
      assertTrue(System.nanoTime() < deadline, "the COPY never reached pg_sleep");
      Thread.sleep(50);
    }
    sourceQuery("SELECT pg_terminate_backend(pid) " + copying);
    LakehouseException e = failureOf(() -> read.join());
    assertTrue(e.getMessage().startsWith("COPY partition 0 failed after "), e.getMessage());
    assertTrue(e.getMessage().endsWith("rows: Database connection failed when reading from copy"), e.getMessage());
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void stoppingEarlyReleasesTheConnection() throws Exception {
    SourceColumn i = new SourceColumn("i", "int4", "integer", DataTypes.IntegerType, true, "i", WireType.INT4);
    // In the select list the series streams; in FROM, PostgreSQL would materialize it first.
    String select = "SELECT generate_series(1, 50000000) AS i";
    List<Row> five = CopyExtraction.read(spark, config.spec().source(), List.of(i), List.of(select), Optional.empty())
        .limit(5).collectAsList();
    assertEquals(5, five.size());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    String copying = "FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT generate_series(1, 50000000)%'";
    while (sourceCount("SELECT count(*) " + copying) > 0) {
      assertTrue(System.nanoTime() < deadline, "the COPY backend is still running after the read finished");
      Thread.sleep(50);
    }
  }

  @Test
  void thePasswordAppearsInNoPlanOrDescription() {
    String password = "pw-" + Long.toHexString(System.nanoTime());
    SourceSettings withPassword = config.spec().source().withConnection(config.spec().source().url(), config.spec().source().user(), password);
    List<SourceColumn> columns = columns("numbers");
    String select = "SELECT " + SourceColumns.selectList(columns) + " FROM numbers WHERE id <= 10";
    // The embedded superuser authenticates by trust, so the password is sent and ignored.
    Dataset<Row> df = CopyExtraction.read(spark, withPassword, columns, List.of(select), Optional.empty());
    assertEquals(10, df.count());
    String plans = df.queryExecution().explainString(ExtendedMode$.MODULE$);
    assertTrue(plans.contains("PostgreSQL binary COPY from " + config.spec().source().url() + ", 1 partition(s)"), plans);
    assertFalse(plans.contains(password), plans);
    assertFalse(df.queryExecution().toString().contains(password));
    assertFalse(df.queryExecution().logical().toString().contains(password));
  }

  @Test
  void writesToDeltaAndReadsBackTheSameValues() {
    Dataset<Row> df = extract("typed");
    String path = lakehouseRoot.resolve("bronze/typed").toString();
    df.write().format("delta").save(path);
    Dataset<Row> delta = spark.read().format("delta").load(path);
    Map<String, DataType> written = new HashMap<>();
    for (var f : delta.schema().fields()) {
      written.put(f.name(), f.dataType());
    }
    for (var f : df.schema().fields()) {
      assertEquals(f.dataType(), written.get(f.name()), f.name());
    }
    List<Row> source = ordered(df);
    List<Row> back = ordered(delta.select(df.columns()[0], tail(df.columns())));
    assertEquals(source.size(), back.size());
    for (int r = 0; r < source.size(); r++) {
      // Row.equals compares byte arrays by content and NaN as equal to itself.
      assertEquals(source.get(r), back.get(r), "row " + r);
    }
    assertEquals("Grüße, 日本語, emoji 🌍, quote ' and tab\t", back.get(3).getString(9));
    assertArrayEquals(new byte[] {(byte) 0xDE, (byte) 0xAD, (byte) 0xBE, (byte) 0xEF}, (byte[]) back.get(3).get(17));
  }

  private static String[] tail(String[] names) {
    List<String> rest = new ArrayList<>(List.of(names));
    rest.remove(0);
    return rest.toArray(String[]::new);
  }
}
