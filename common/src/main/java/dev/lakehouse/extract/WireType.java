package dev.lakehouse.extract;

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
 * How one column arrives in PostgreSQL's binary COPY format, which decides how the reader decodes
 * it. Several PostgreSQL types share a layout (text, varchar, bpchar, name, citext and every
 * {@code ::text} cast are all UTF-8 bytes; timestamp and timestamptz are both int64 micros).
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
  BYTEA(-1),
  DATE(4),
  TIMESTAMP(8);

  private final int fixedLength;

  WireType(int fixedLength) {
    this.fixedLength = fixedLength;
  }

  /** Bytes every non-null value takes, or -1 when values vary in length. */
  public int fixedLength() {
    return fixedLength;
  }

  /** Whether values of this layout can be decoded into the given Spark type. */
  public boolean accepts(DataType type) {
    return switch (this) {
      case BOOL -> type instanceof BooleanType;
      case INT2 -> type instanceof ShortType;
      case INT4 -> type instanceof IntegerType;
      case INT8 -> type instanceof LongType;
      case FLOAT4 -> type instanceof FloatType;
      case FLOAT8 -> type instanceof DoubleType;
      case NUMERIC -> type instanceof DecimalType;
      case TEXT -> type instanceof StringType;
      case BYTEA -> type instanceof BinaryType;
      case DATE -> type instanceof DateType;
      case TIMESTAMP -> type instanceof TimestampType || type instanceof TimestampNTZType;
    };
  }
}
