package dev.lakehouse.extract;

import static dev.lakehouse.source.SourceDatabase.ident;

import dev.lakehouse.spec.SourceSettings;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Pattern;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.expressions.SpecificInternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.Decimal;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;

/**
 * The JDBC extraction path: Spark's JDBC reader, with every column arriving as exactly what the
 * COPY path ({@link CopyExtraction}) lands. Spark's PostgreSQL dialect maps several types its own
 * way (timestamps through {@code java.sql.Timestamp} and the JVM's calendar, timestamp without
 * time zone as a zoned timestamp, numerics rounded to the column's scale, character(n) padded,
 * arrays of many types not at all), so the query does not select those columns as they are:
 *
 * <ul>
 *   <li>integers, floats, booleans and bytea: as they are (Spark's mapping is exact);
 *   <li>every string column: {@code ::text} of what the COPY path selects;
 *   <li>numeric, date, timestamp, timestamptz and arrays: their binary send form
 *       ({@code numeric_send(...)}, {@code array_send(...)}, ...), which arrives as bytes and is
 *       decoded on the executors by the same {@link PgBinaryDecoder} as COPY, so values and value
 *       errors are the COPY path's.
 * </ul>
 *
 * <p>The WHERE predicates go inside each partition's query, against the source relation itself
 * (so they may use any of its columns, and {@code ctid}), one Spark JDBC read per predicate.
 */
public final class JdbcExtraction {

  // pg_export_snapshot() returns ids like 00000003-0000001B-1; anything else would be spliced into SQL.
  private static final Pattern SNAPSHOT_ID = Pattern.compile("[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+");

  private JdbcExtraction() {}

  /**
   * A lazy Dataset of {@code columns} of {@code qualifiedTable} (quoted as SQL needs it), one
   * partition per predicate (the whole relation when there are none), whose schema is
   * {@link SourceColumns#schema} of the columns.
   */
  public static Dataset<Row> read(SparkSession spark, SourceSettings source, List<SourceColumn> columns,
      String qualifiedTable, List<String> predicates, int fetchSize) {
    return read(spark, source, columns, qualifiedTable, predicates, fetchSize, Optional.empty());
  }

  /**
   * As {@link #read(SparkSession, SourceSettings, List, String, List, int)}; with a snapshot id
   * ({@code pg_export_snapshot()}), every partition reads that snapshot, and the transaction that
   * exported it must stay open until the Dataset's action has finished.
   */
  public static Dataset<Row> read(SparkSession spark, SourceSettings source, List<SourceColumn> columns,
      String qualifiedTable, List<String> predicates, int fetchSize, Optional<String> snapshotId) {
    if (columns.isEmpty()) {
      throw new IllegalArgumentException("No columns to extract");
    }
    if (fetchSize < 1) {
      throw new IllegalArgumentException("The fetch size must be positive, not " + fetchSize);
    }
    snapshotId.ifPresent(id -> {
      if (!SNAPSHOT_ID.matcher(id).matches()) {
        throw new IllegalArgumentException("'" + id + "' is not a PostgreSQL snapshot id");
      }
    });
    StringBuilder select = new StringBuilder();
    for (int i = 0; i < columns.size(); i++) {
      // Positional aliases: Spark quotes names without escaping quotes in them, and resolves
      // them case-insensitively; c0, c1, ... are safe from both.
      select.append(i == 0 ? "" : ", ").append(jdbcExpression(columns.get(i))).append(" AS ").append(alias(i));
    }
    Properties props = source.jdbcProperties();
    props.setProperty("fetchsize", Integer.toString(fetchSize));
    // The COPY path's session: text forms come out as there and as the log writes them.
    String init = TextValues.sessionStatements();
    if (snapshotId.isPresent()) {
      init += "; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '" + snapshotId.get() + "'";
    }
    props.setProperty("sessionInitStatement", init);
    List<String> wheres = predicates.isEmpty() ? java.util.Collections.singletonList(null) : predicates;
    Dataset<Row> raw = null;
    for (String where : wheres) {
      String query = "(SELECT " + select + " FROM " + qualifiedTable + (where == null ? "" : " WHERE " + where)
          + ") AS src";
      Dataset<Row> part = spark.read().jdbc(source.url(), query, props);
      raw = raw == null ? part : raw.union(part);
    }
    StructType arrived = raw.schema();
    Column[] out = new Column[columns.size()];
    for (int i = 0; i < columns.size(); i++) {
      SourceColumn c = columns.get(i);
      Column value = raw.col(alias(i));
      StructField field = arrived.fields()[i];
      if (sendForm(c)) {
        UserDefinedFunction decode = functions.udf(new SendForm(c), c.dataType());
        value = (c.nullable() ? decode : decode.asNonNullable()).apply(value);
      } else {
        if (!field.dataType().equals(c.dataType())) {
          throw new IllegalStateException("Spark's JDBC reader returns column " + c.name() + " as "
              + field.dataType().simpleString() + ", not " + c.dataType().simpleString());
        }
        if (c.nullable()) {
          // A no-op cast, so the alias does not inherit the JDBC reader's column metadata
          // (isSigned, scale, ...) and the schema is exactly SourceColumns.schema's.
          value = value.cast(c.dataType());
        } else {
          value = functions.udf(new NotNull(c), c.dataType()).asNonNullable().apply(value);
        }
      }
      out[i] = value.as(c.name(), Metadata.empty());
    }
    return raw.select(out);
  }

  private static String alias(int i) {
    return "c" + i;
  }

  /** What the JDBC query selects for a column (before its positional alias). */
  static String jdbcExpression(SourceColumn c) {
    String value = valueExpression(c);
    return switch (c.wireType()) {
      case BOOL, INT2, INT4, INT8, FLOAT4, FLOAT8, BYTEA -> value;
      case TEXT, BPCHAR, UUID -> "(" + value + ")::text";
      case NUMERIC -> "numeric_send(" + value + ")";
      case DATE -> "date_send(" + value + ")";
      case TIMESTAMP -> (c.dataType() instanceof TimestampType ? "timestamptz_send(" : "timestamp_send(") + value + ")";
      case ARRAY -> "array_send(" + value + ")";
    };
  }

  private static boolean sendForm(SourceColumn c) {
    return switch (c.wireType()) {
      case NUMERIC, DATE, TIMESTAMP, ARRAY -> true;
      default -> false;
    };
  }

  /** The column's select expression without its alias: {@code "c"::text AS "c"} gives {@code "c"::text}. */
  private static String valueExpression(SourceColumn c) {
    String select = c.selectExpression();
    String alias = " AS " + ident(c.name());
    return select.endsWith(alias) ? select.substring(0, select.length() - alias.length()) : select;
  }

  private static String label(SourceColumn c) {
    return "column " + c.name() + (c.relation() == null ? "" : " of " + c.relation());
  }

  /** Decodes a value's binary send form, as COPY would have, into the external type Spark converts back. */
  static final class SendForm implements UDF1<byte[], Object> {
    private static final long serialVersionUID = 1L;

    private final StructType schema;
    private final WireType wireType;
    private final WireType elementWireType;
    private final String relation;
    private transient PgBinaryDecoder decoder;
    private transient SpecificInternalRow row;

    SendForm(SourceColumn column) {
      this.schema = SourceColumns.schema(List.of(column));
      this.wireType = column.wireType();
      this.elementWireType = column.elementWireType();
      this.relation = column.relation();
    }

    @Override
    public Object call(byte[] bytes) {
      if (decoder == null) {
        decoder = new PgBinaryDecoder(schema, new WireType[] {wireType}, new WireType[] {elementWireType},
            new String[] {relation});
        row = new SpecificInternalRow(schema);
      }
      if (bytes == null) {
        decoder.decode(0, null, 0, -1, row);
        return null;
      }
      decoder.decode(0, bytes, 0, bytes.length, row);
      DataType type = schema.fields()[0].dataType();
      return external(row.get(0, type), type);
    }
  }

  /** Passes values through; a NULL in a NOT NULL column fails as COPY's does. */
  static final class NotNull implements UDF1<Object, Object> {
    private static final long serialVersionUID = 1L;

    private final String label;

    NotNull(SourceColumn column) {
      this.label = label(column);
    }

    @Override
    public Object call(Object value) {
      if (value == null) {
        throw new PgBinaryDecoder.ValueException(label + " is NULL but its schema field is not nullable");
      }
      return value;
    }
  }

  /** A decoded (internal) value as the external Java value Spark's converters take back exactly. */
  static Object external(Object value, DataType type) {
    if (value == null) {
      return null;
    }
    if (type instanceof DecimalType) {
      return ((Decimal) value).toJavaBigDecimal();
    }
    if (type instanceof DateType) {
      return LocalDate.ofEpochDay((Integer) value);
    }
    if (type instanceof TimestampType) {
      long micros = (Long) value;
      return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000);
    }
    if (type instanceof TimestampNTZType) {
      long micros = (Long) value;
      return LocalDateTime.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
          (int) Math.floorMod(micros, 1_000_000L) * 1000, ZoneOffset.UTC);
    }
    if (type instanceof StringType) {
      return value.toString();
    }
    if (type instanceof ArrayType a) {
      ArrayData array = (ArrayData) value;
      DataType element = a.elementType();
      List<Object> out = new ArrayList<>(array.numElements());
      for (int k = 0; k < array.numElements(); k++) {
        out.add(array.isNullAt(k) ? null : external(array.get(k, element), element));
      }
      return out;
    }
    return value;
  }
}
