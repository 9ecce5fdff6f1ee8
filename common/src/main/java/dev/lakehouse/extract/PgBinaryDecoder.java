package dev.lakehouse.extract;

import dev.lakehouse.LakehouseException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.Decimal;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Decodes single values in PostgreSQL's binary send format into Spark's internal representation,
 * column by column. Binary COPY carries values in this format, and so does logical replication
 * (pgoutput with {@code binary 'true'}), so the same decoder serves both: the caller frames the
 * values (a length, then that many bytes) and this class turns each one into a field of an
 * {@link InternalRow}.
 *
 * <p>Everything per column (layout, decimal precision, array element layout, names for messages)
 * is prepared once, in the constructor. Fixed-width values are written unboxed and allocate
 * nothing. Text values ({@link WireType#TEXT}, {@link WireType#BPCHAR}, and text elements of
 * arrays) point into the caller's buffer rather than copying it: the target row must be copied
 * (Spark's UnsafeProjection does) before that buffer is reused.
 *
 * <p>Values Spark cannot hold exactly (a numeric with more digits than its decimal, NaN or
 * infinity, an infinite date or timestamp, an array of more than one dimension) fail with a
 * {@link ValueException} naming the table, the column and the value, and how to extract it
 * instead. Nothing is ever rounded.
 */
public final class PgBinaryDecoder {

  /** PostgreSQL counts dates and timestamps from 2000-01-01, Spark from 1970-01-01. */
  private static final int PG_EPOCH_DAYS = 10_957;
  private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;
  /** Timestamps from here on (and +-infinity) do not fit Spark's range once moved to its epoch. */
  private static final long MAX_PG_MICROS = Long.MAX_VALUE - PG_EPOCH_MICROS;

  /** The layouts {@link #decode} handles inline, as small ints for a table switch. */
  private static final int K_OTHER = 0;
  private static final int K_INT4 = 1;
  private static final int K_INT8 = 2;
  private static final int K_TIMESTAMP = 3;
  private static final int K_TEXT = 4;
  private static final int K_NUMERIC = 5;

  private static final int NUMERIC_NEG = 0x4000;
  private static final int NUMERIC_NAN = 0xC000;
  private static final int NUMERIC_PINF = 0xD000;
  private static final int NUMERIC_NINF = 0xF000;
  /** Largest unscaled value the long path builds: 18 digits always fit a long. */
  private static final int LONG_DIGITS = 18;
  private static final long[] POW10 = new long[LONG_DIGITS + 1];
  private static final BigInteger TEN_THOUSAND_POW4 = BigInteger.valueOf(10_000L * 10_000L * 10_000L * 10_000L);

  static {
    POW10[0] = 1;
    for (int i = 1; i < POW10.length; i++) {
      POW10[i] = POW10[i - 1] * 10;
    }
  }

  private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

  private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** The advice for an infinite date or timestamp, before {@link #AS_TEXT}. */
  private static final String CLAMP = "set infinity = clamp on its table to land it as 9999-12-31 or 0001-01-01"
      + " (not for a key or cursor column), or ";
  /** The advice every value error ends with. */
  private static final String AS_TEXT = "list the column in as-text (on a table already landed that changes the"
      + " column's type: read the table through a view that maps such values instead)";

  private final WireType[] types;
  /** Per column, its K_ constant. */
  private final int[] kinds;
  private final WireType[] elements;
  private final boolean[] nullable;
  /** Precision and scale of a decimal column, or of an array column's decimal elements. */
  private final int[] precision;
  private final int[] scale;
  /** "column x of schema.table", for messages. */
  private final String[] labels;

  /**
   * @param schema the Spark fields the values land in, one per column
   * @param wireTypes how each column's values arrive
   * @param elementWireTypes how each {@link WireType#ARRAY} column's elements arrive (null entries
   *     for the other columns); null when no column is an array
   * @param relations the source relation of each column, for messages (null entries, or a null
   *     array, when unknown)
   */
  public PgBinaryDecoder(StructType schema, WireType[] wireTypes, WireType[] elementWireTypes, String[] relations) {
    StructField[] fields = schema.fields();
    if (wireTypes.length != fields.length) {
      throw new IllegalArgumentException("The schema has " + fields.length + " fields but "
          + wireTypes.length + " wire types were given");
    }
    int n = fields.length;
    this.types = wireTypes.clone();
    this.kinds = new int[n];
    this.elements = elementWireTypes == null ? new WireType[n] : elementWireTypes.clone();
    this.nullable = new boolean[n];
    this.precision = new int[n];
    this.scale = new int[n];
    this.labels = new String[n];
    for (int i = 0; i < n; i++) {
      DataType type = fields[i].dataType();
      if (types[i] == null) {
        throw new IllegalArgumentException("Field " + fields[i].name() + " has no wire type");
      }
      if (!types[i].accepts(elements[i], type)) {
        throw new IllegalArgumentException("Field " + fields[i].name() + " is " + type.simpleString()
            + ", which wire type " + types[i] + (elements[i] == null ? "" : " of " + elements[i]) + " cannot fill");
      }
      nullable[i] = fields[i].nullable();
      kinds[i] = switch (types[i]) {
        case INT4 -> K_INT4;
        case INT8 -> K_INT8;
        case TIMESTAMP -> K_TIMESTAMP;
        case TEXT -> K_TEXT;
        case NUMERIC -> K_NUMERIC;
        default -> K_OTHER;
      };
      DataType valueType = type instanceof ArrayType a ? a.elementType() : type;
      if (valueType instanceof DecimalType d) {
        precision[i] = d.precision();
        scale[i] = d.scale();
      }
      String relation = relations == null ? null : relations[i];
      labels[i] = "column " + fields[i].name() + (relation == null ? "" : " of " + relation);
    }
  }

  /** A decoder for the given columns, in order, as {@link SourceColumns#discover} describes them. */
  public static PgBinaryDecoder forColumns(List<SourceColumn> columns) {
    return new PgBinaryDecoder(SourceColumns.schema(columns),
        columns.stream().map(SourceColumn::wireType).toArray(WireType[]::new),
        columns.stream().map(SourceColumn::elementWireType).toArray(WireType[]::new),
        columns.stream().map(SourceColumn::relation).toArray(String[]::new));
  }

  public int columnCount() {
    return types.length;
  }

  /**
   * Decodes one value of {@code column} into field {@code column} of {@code target}: the
   * {@code length} bytes of {@code buf} from {@code offset}, or NULL when {@code length} is
   * negative (as binary COPY marks it).
   *
   * @throws ValueException when the value cannot be represented, or does not have the column's layout
   */
  public void decode(int column, byte[] buf, int offset, int length, InternalRow target) {
    // The hot path, kept small enough for the JIT to inline into the caller's loop: the common
    // layouts at their expected length. Everything else (NULLs, the other layouts, malformed
    // lengths and their errors) goes through decodeOther.
    int i = column;
    switch (kinds[i]) {
      case K_INT4 -> {
        if (length == 4) {
          target.setInt(i, (int) INT.get(buf, offset));
          return;
        }
      }
      case K_INT8 -> {
        if (length == 8) {
          target.setLong(i, (long) LONG.get(buf, offset));
          return;
        }
      }
      case K_TIMESTAMP -> {
        if (length == 8) {
          long pgMicros = (long) LONG.get(buf, offset);
          if (pgMicros <= MAX_PG_MICROS && pgMicros != Long.MIN_VALUE) {
            target.setLong(i, pgMicros + PG_EPOCH_MICROS);
            return;
          }
        }
      }
      case K_TEXT -> {
        if (length >= 0) {
          target.update(i, UTF8String.fromBytes(buf, offset, length));
          return;
        }
      }
      case K_NUMERIC -> {
        if (length >= 0) {
          target.update(i, numeric(i, buf, offset, length));
          return;
        }
      }
      default -> { }
    }
    decodeOther(i, buf, offset, length, target);
  }

  private void decodeOther(int i, byte[] buf, int offset, int length, InternalRow target) {
    if (length < 0) {
      if (!nullable[i]) {
        throw new ValueException(labels[i] + " is NULL but its schema field is not nullable");
      }
      target.setNullAt(i);
      return;
    }
    WireType type = types[i];
    if (type.fixedLength() >= 0 && length != type.fixedLength()) {
      throw new ValueException(labels[i] + " arrived as " + length + " bytes, not the "
          + type.fixedLength() + " of " + type + "; the query does not match the schema");
    }
    switch (type) {
      case BOOL -> target.setBoolean(i, buf[offset] != 0);
      case INT2 -> target.setShort(i, (short) SHORT.get(buf, offset));
      case INT4 -> target.setInt(i, (int) INT.get(buf, offset));
      case INT8 -> target.setLong(i, (long) LONG.get(buf, offset));
      case FLOAT4 -> target.setFloat(i, Float.intBitsToFloat((int) INT.get(buf, offset)));
      case FLOAT8 -> target.setDouble(i, Double.longBitsToDouble((long) LONG.get(buf, offset)));
      case TEXT -> target.update(i, UTF8String.fromBytes(buf, offset, length));
      case BPCHAR -> target.update(i, UTF8String.fromBytes(buf, offset, unpaddedLength(buf, offset, length)));
      case UUID -> target.update(i, uuid(buf, offset));
      case BYTEA -> target.update(i, Arrays.copyOfRange(buf, offset, offset + length));
      case DATE -> target.setInt(i, date(i, (int) INT.get(buf, offset), CLAMP));
      case TIMESTAMP -> target.setLong(i, timestamp(i, (long) LONG.get(buf, offset), CLAMP));
      case NUMERIC -> target.update(i, numeric(i, buf, offset, length));
      case ARRAY -> target.update(i, array(i, buf, offset, length));
    }
  }

  /** A value that cannot land as its column's Spark type; the message is one line for a person. */
  public static final class ValueException extends LakehouseException {
    private static final long serialVersionUID = 1L;

    public ValueException(String message) {
      super(message);
    }
  }

  /** character(n) without its trailing blanks, as PostgreSQL's {@code ::text} shows it. */
  private static int unpaddedLength(byte[] buf, int offset, int length) {
    int end = offset + length;
    // A UTF-8 continuation byte is never 0x20, so stripping bytes is stripping characters.
    while (end > offset && buf[end - 1] == ' ') {
      end--;
    }
    return end - offset;
  }

  private static UTF8String uuid(byte[] buf, int offset) {
    byte[] text = new byte[36];
    int o = 0;
    for (int k = 0; k < 16; k++) {
      if (k == 4 || k == 6 || k == 8 || k == 10) {
        text[o++] = '-';
      }
      int b = buf[offset + k] & 0xFF;
      text[o++] = HEX[b >>> 4];
      text[o++] = HEX[b & 0xF];
    }
    return UTF8String.fromBytes(text);
  }

  private int date(int i, int pgDays, String clamp) {
    if (pgDays == Integer.MAX_VALUE || pgDays == Integer.MIN_VALUE) {
      throw new ValueException(labels[i] + " holds " + (pgDays > 0 ? "infinity" : "-infinity")
          + ", which a Spark date cannot represent; " + clamp + AS_TEXT);
    }
    return pgDays + PG_EPOCH_DAYS;
  }

  private long timestamp(int i, long pgMicros, String clamp) {
    if (pgMicros == Long.MAX_VALUE || pgMicros == Long.MIN_VALUE) {
      throw new ValueException(labels[i] + " holds " + (pgMicros > 0 ? "infinity" : "-infinity")
          + ", which a Spark timestamp cannot represent; " + clamp + AS_TEXT);
    }
    if (pgMicros > MAX_PG_MICROS) {
      throw new ValueException(labels[i] + " holds a timestamp after the year 294247, outside Spark's range; "
          + AS_TEXT);
    }
    return pgMicros + PG_EPOCH_MICROS;
  }

  /**
   * PostgreSQL's numeric: int16 ndigits, int16 weight, int16 sign, int16 dscale, then ndigits
   * base-10000 digits, the first worth 10000^weight. Only a value the column's decimal holds
   * exactly lands; anything else fails, so nothing is rounded away.
   */
  private Decimal numeric(int i, byte[] buf, int offset, int length) {
    if (length < 8) {
      throw malformed(i, "numeric");
    }
    int ndigits = (short) SHORT.get(buf, offset);
    int weight = (short) SHORT.get(buf, offset + 2);
    int sign = (short) SHORT.get(buf, offset + 4) & 0xFFFF;
    if (sign == NUMERIC_NAN || sign == NUMERIC_PINF || sign == NUMERIC_NINF) {
      String what = sign == NUMERIC_NAN ? "NaN" : sign == NUMERIC_PINF ? "Infinity" : "-Infinity";
      throw new ValueException(labels[i] + " holds " + what + ", which a Spark decimal cannot represent; " + AS_TEXT);
    }
    if (ndigits < 0 || length != 8 + 2 * ndigits) {
      throw malformed(i, "numeric");
    }
    int digits = offset + 8;
    int p = precision[i];
    int s = scale[i];
    // Long path: every digit of the value at scale s fits in 18 decimal digits.
    if (p <= LONG_DIGITS && 4 * (weight + 1) + s <= LONG_DIGITS) {
      long unscaled = 0;
      boolean exact = true;
      for (int k = 0; k < ndigits; k++) {
        int digit = (short) SHORT.get(buf, digits + 2 * k);
        int exponent = 4 * (weight - k) + s; // power of ten this digit is worth at scale s
        if (exponent >= 0) {
          unscaled += digit * POW10[exponent];
        } else if (exponent > -4) {
          // The digit group straddles the scale: its part below it must be zero.
          long divisor = POW10[-exponent];
          unscaled += digit / divisor;
          exact &= digit % divisor == 0;
        } else {
          exact &= digit == 0;
        }
      }
      if (!exact || unscaled >= POW10[p]) {
        throw doesNotFit(i, buf, offset);
      }
      return Decimal.createUnsafe(sign == NUMERIC_NEG ? -unscaled : unscaled, p, s);
    }
    BigDecimal value = exactValue(buf, offset);
    BigDecimal scaled;
    try {
      scaled = value.setScale(s, RoundingMode.UNNECESSARY);
    } catch (ArithmeticException e) {
      throw doesNotFit(i, buf, offset);
    }
    if (scaled.precision() - scaled.scale() > p - s) {
      throw doesNotFit(i, buf, offset);
    }
    return Decimal.apply(scaled, p, s);
  }

  /** The numeric at {@code offset} as a BigDecimal with PostgreSQL's display scale, as its text shows it. */
  private static BigDecimal exactValue(byte[] buf, int offset) {
    int ndigits = (short) SHORT.get(buf, offset);
    int weight = (short) SHORT.get(buf, offset + 2);
    int sign = (short) SHORT.get(buf, offset + 4) & 0xFFFF;
    int dscale = (short) SHORT.get(buf, offset + 6);
    int digits = offset + 8;
    // Collect the digits four groups (16 decimal digits) at a time.
    BigInteger magnitude = BigInteger.ZERO;
    long chunk = 0;
    int inChunk = 0;
    for (int k = 0; k < ndigits; k++) {
      chunk = chunk * 10_000 + (short) SHORT.get(buf, digits + 2 * k);
      if (++inChunk == 4) {
        magnitude = magnitude.multiply(TEN_THOUSAND_POW4).add(BigInteger.valueOf(chunk));
        chunk = 0;
        inChunk = 0;
      }
    }
    if (inChunk > 0) {
      magnitude = magnitude.multiply(BigInteger.valueOf(POW10[4 * inChunk])).add(BigInteger.valueOf(chunk));
    }
    BigDecimal value = new BigDecimal(sign == NUMERIC_NEG ? magnitude.negate() : magnitude, 4 * (ndigits - 1 - weight));
    try {
      return value.setScale(Math.max(dscale, 0), RoundingMode.UNNECESSARY);
    } catch (ArithmeticException e) {
      return value.stripTrailingZeros();
    }
  }

  private ValueException doesNotFit(int i, byte[] buf, int offset) {
    return new ValueException(labels[i] + " holds " + exactValue(buf, offset).toPlainString()
        + ", which does not fit decimal(" + precision[i] + "," + scale[i] + ") exactly;"
        + " declare the column numeric(p,s), or " + AS_TEXT);
  }

  /**
   * PostgreSQL's binary array: int32 dimensions, int32 flags, int32 element type, then per
   * dimension int32 length and int32 lower bound, then each element as int32 length (-1 for
   * NULL) and its bytes. One dimension lands (its lower bound is not kept); none is an empty
   * array.
   */
  private ArrayData array(int i, byte[] buf, int offset, int length) {
    int end = offset + length;
    if (length < 12) {
      throw malformed(i, "array");
    }
    int dimensions = (int) INT.get(buf, offset);
    WireType element = elements[i];
    if (dimensions == 0) {
      return newArray(element, 0);
    }
    if (dimensions < 0) {
      throw malformed(i, "array");
    }
    if (dimensions > 1) {
      throw new ValueException(labels[i] + " holds a " + dimensions + "-dimensional array, which lands only as "
          + "a one-dimensional Spark array; " + AS_TEXT);
    }
    if (length < 20) {
      throw malformed(i, "array");
    }
    int n = (int) INT.get(buf, offset + 12);
    if (n < 0 || n > (length - 20) / 4) {
      throw malformed(i, "array");
    }
    ArrayData out = newArray(element, n);
    int fixed = element.fixedLength();
    int p = offset + 20;
    for (int k = 0; k < n; k++) {
      if (end - p < 4) {
        throw malformed(i, "array");
      }
      int l = (int) INT.get(buf, p);
      p += 4;
      if (l < 0) {
        out.setNullAt(k);
        continue;
      }
      if (end - p < l || (fixed >= 0 && l != fixed)) {
        throw malformed(i, "array");
      }
      switch (element) {
        case BOOL -> out.setBoolean(k, buf[p] != 0);
        case INT2 -> out.setShort(k, (short) SHORT.get(buf, p));
        case INT4 -> out.setInt(k, (int) INT.get(buf, p));
        case INT8 -> out.setLong(k, (long) LONG.get(buf, p));
        case FLOAT4 -> out.setFloat(k, Float.intBitsToFloat((int) INT.get(buf, p)));
        case FLOAT8 -> out.setDouble(k, Double.longBitsToDouble((long) LONG.get(buf, p)));
        case TEXT -> out.update(k, UTF8String.fromBytes(buf, p, l));
        case BPCHAR -> out.update(k, UTF8String.fromBytes(buf, p, unpaddedLength(buf, p, l)));
        case UUID -> out.update(k, uuid(buf, p));
        case BYTEA -> out.update(k, Arrays.copyOfRange(buf, p, p + l));
        case DATE -> out.setInt(k, date(i, (int) INT.get(buf, p), ""));
        case TIMESTAMP -> out.setLong(k, timestamp(i, (long) LONG.get(buf, p), ""));
        case NUMERIC -> out.update(k, numeric(i, buf, p, l));
        case ARRAY -> throw malformed(i, "array");
      }
      p += l;
    }
    if (p != end) {
      throw malformed(i, "array");
    }
    return out;
  }

  /** Fixed-width elements in an UnsafeArrayData (primitives, null bits), others in a GenericArrayData. */
  private static ArrayData newArray(WireType element, int n) {
    return switch (element) {
      case BOOL -> UnsafeArrayData.createFreshArray(n, 1);
      case INT2 -> UnsafeArrayData.createFreshArray(n, 2);
      case INT4, FLOAT4, DATE -> UnsafeArrayData.createFreshArray(n, 4);
      case INT8, FLOAT8, TIMESTAMP -> UnsafeArrayData.createFreshArray(n, 8);
      default -> new GenericArrayData(new Object[n]);
    };
  }

  private ValueException malformed(int i, String what) {
    return new ValueException(labels[i] + " is not a well-formed " + what + " (wire type " + types[i]
        + (elements[i] == null ? "" : " of " + elements[i]) + "); the query does not match the schema");
  }
}
