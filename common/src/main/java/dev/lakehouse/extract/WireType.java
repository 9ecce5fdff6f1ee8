package dev.lakehouse.extract;

import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;

/**
 * How one value arrives in PostgreSQL's binary send format (what binary COPY and pgoutput with
 * {@code binary 'true'} carry), which decides how {@link PgBinaryDecoder} decodes it. Several
 * PostgreSQL types share a layout (text, varchar, name, citext, enum labels and every
 * {@code ::text} cast are all UTF-8 bytes; timestamp and timestamptz are both int64 micros).
 * An {@link #ARRAY}'s elements have a wire type of their own, any of the others.
 */
public enum WireType {
  BOOL(1),
  INT2(2),
  INT4(4),
  INT8(8),
  FLOAT4(4),
  FLOAT8(8),
  NUMERIC(-1),
  TEXT(-1),
  /** character(n): UTF-8 bytes with PostgreSQL's blank padding, which decoding strips as {@code ::text} does. */
  BPCHAR(-1),
  /** 16 bytes, decoded to the canonical lower-case text form. */
  UUID(16),
  BYTEA(-1),
  DATE(4),
  TIMESTAMP(8),
  /** PostgreSQL's binary array: header, dimensions, then each element with its own length. */
  ARRAY(-1);

  private final int fixedLength;

  WireType(int fixedLength) {
    this.fixedLength = fixedLength;
  }

  /** Bytes every non-null value takes, or -1 when values vary in length. */
  public int fixedLength() {
    return fixedLength;
  }

  /** Whether values of this layout can be decoded into the given Spark type (never true for ARRAY). */
  public boolean accepts(DataType type) {
    return switch (this) {
      case BOOL -> type instanceof BooleanType;
      case INT2 -> type instanceof ShortType;
      case INT4 -> type instanceof IntegerType;
      case INT8 -> type instanceof LongType;
      case FLOAT4 -> type instanceof FloatType;
      case FLOAT8 -> type instanceof DoubleType;
      case NUMERIC -> type instanceof DecimalType;
      case TEXT, BPCHAR, UUID -> type instanceof StringType;
      case BYTEA -> type instanceof BinaryType;
      case DATE -> type instanceof DateType;
      case TIMESTAMP -> type instanceof TimestampType || type instanceof TimestampNTZType;
      case ARRAY -> false;
    };
  }

  /**
   * Whether a column of this layout, with {@code element} the layout of an array's elements (null
   * for anything but an array), can be decoded into the given Spark type.
   */
  public boolean accepts(WireType element, DataType type) {
    if (this != ARRAY) {
      return element == null && accepts(type);
    }
    return element != null && element != ARRAY && type instanceof ArrayType a && element.accepts(a.elementType());
  }
}
