package dev.lakehouse.extract;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.ByteOrder;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.SpecificInternalRow;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.types.Decimal;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.unsafe.types.UTF8String;
import org.postgresql.PGConnection;
import org.postgresql.copy.PGCopyInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams one partition's {@code COPY (select) TO STDOUT (FORMAT binary)} and decodes each tuple
 * into a reused {@link SpecificInternalRow}: primitives are stored unboxed, and reuse is safe
 * because Spark copies every row of a row-based scan into an UnsafeRow before using it.
 */
final class PgCopyReader implements PartitionReader<InternalRow> {

  private static final Logger LOG = LoggerFactory.getLogger(PgCopyReader.class);

  private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xFF, '\r', '\n', 0};
  /** Flags bit 16: every tuple carries an OID, which a COPY of a query never does. */
  private static final int FLAG_OIDS = 1 << 16;
  /** PostgreSQL counts dates and timestamps from 2000-01-01, Spark from 1970-01-01. */
  private static final int PG_EPOCH_DAYS = 10_957;
  private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;

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

  /** Big enough that refills (and the copy of a partial tuple they make) are rare. */
  private static final int BUFFER_SIZE = 1 << 20;

  private final PgCopySource.ReaderFactory source;
  private final PgCopySource.CopyPartition partition;
  private final WireType[] types;
  private final String[] names;
  private final boolean[] nullable;
  private final int[] precision;
  private final int[] scale;
  private final SpecificInternalRow row;

  private Connection connection;
  private InputStream in;
  private byte[] buf = new byte[BUFFER_SIZE];
  private int pos;
  private int limit;
  private boolean finished;
  private long rows;
  private long startNanos;
  /** Crash-safety tests halt the process here, mid-extraction, with data files half written. */
  private final boolean crashWhileReading = dev.lakehouse.control.CrashPoints.armed("extract.reading");

  PgCopyReader(PgCopySource.ReaderFactory source, PgCopySource.CopyPartition partition) {
    this.source = source;
    this.partition = partition;
    this.types = source.wireTypes;
    StructField[] fields = source.schema.fields();
    this.names = new String[fields.length];
    this.nullable = new boolean[fields.length];
    this.precision = new int[fields.length];
    this.scale = new int[fields.length];
    for (int i = 0; i < fields.length; i++) {
      names[i] = fields[i].name();
      nullable[i] = fields[i].nullable();
      if (fields[i].dataType() instanceof DecimalType d) {
        precision[i] = d.precision();
        scale[i] = d.scale();
      }
    }
    this.row = new SpecificInternalRow(source.schema);
  }

  @Override
  public boolean next() throws IOException {
    if (finished) {
      return false;
    }
    try {
      if (in == null) {
        open();
      }
      if (crashWhileReading && rows == 100) {
        dev.lakehouse.control.CrashPoints.reach("extract.reading");
      }
      ensure(2);
      int fieldCount = (short) SHORT.get(buf, pos);
      pos += 2;
      if (fieldCount == -1) {
        expectEndOfStream();
        return false;
      }
      if (fieldCount != types.length) {
        throw failure("the query returns " + fieldCount + " columns, the schema has " + types.length);
      }
      for (int i = 0; i < fieldCount; i++) {
        ensure(4);
        int length = (int) INT.get(buf, pos);
        pos += 4;
        if (length < 0) {
          if (!nullable[i]) {
            throw failure("column " + names[i] + " is NULL but its schema field is not nullable");
          }
          row.setNullAt(i);
          continue;
        }
        ensure(length);
        decode(i, length);
        pos += length;
      }
      rows++;
      return true;
    } catch (IOException e) {
      // pgjdbc reports a server error during COPY (a failing expression, a cancelled backend,
      // a dropped connection) as an IOException whose cause is the SQLException.
      Throwable cause = e.getCause() instanceof SQLException ? e.getCause() : e;
      throw new LakehouseException(where() + " failed after " + rows + " rows: "
          + SourceDatabase.firstLine(cause.getMessage()), e);
    }
  }

  @Override
  public InternalRow get() {
    return row;
  }

  @Override
  public void close() {
    buf = null;
    if (connection == null) {
      return;
    }
    if (!finished) {
      // Stopped early (a LIMIT, a failed task): closing the socket ends the server's COPY; pgjdbc's
      // cancelCopy would instead wait for the backend to acknowledge a cancel request.
      LOG.debug("{} closed after {} rows, before the end of its COPY", where(), rows);
    }
    try {
      connection.close();
    } catch (SQLException e) {
      LOG.warn("{}: closing the source connection failed: {}", where(), SourceDatabase.firstLine(e.getMessage()));
    }
    connection = null;
  }

  private void open() throws IOException {
    startNanos = System.nanoTime();
    // Makes sure the driver is registered with DriverManager in this class loader (executors may
    // load application jars in a child loader that DriverManager's service scan does not see).
    try {
      Class.forName("org.postgresql.Driver");
    } catch (ClassNotFoundException e) {
      throw new LakehouseException("The PostgreSQL JDBC driver is not on the executor class path", e);
    }
    connection = SourceDatabase.connect(source.settings());
    try {
      if (source.snapshot != null) {
        try (Statement s = connection.createStatement()) {
          s.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
          s.execute("SET TRANSACTION SNAPSHOT '" + source.snapshot + "'");
        } catch (SQLException e) {
          throw SourceDatabase.queryError(where() + " cannot import snapshot " + source.snapshot
              + " (the exporting transaction must stay open until the read ends)", e);
        }
      }
      String copy = "COPY (" + partition.select() + ") TO STDOUT (FORMAT binary)";
      in = new PGCopyInputStream(connection.unwrap(PGConnection.class), copy);
    } catch (SQLException e) {
      throw SourceDatabase.queryError(where() + " cannot start COPY", e);
    }
    readHeader();
  }

  private void readHeader() throws IOException {
    ensure(SIGNATURE.length + 8);
    if (!Arrays.equals(buf, pos, pos + SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length)) {
      throw failure("the COPY stream does not start with the binary format signature");
    }
    pos += SIGNATURE.length;
    int flags = (int) INT.get(buf, pos);
    if ((flags & FLAG_OIDS) != 0) {
      throw failure("the COPY stream carries OIDs, which this reader does not expect");
    }
    int extension = (int) INT.get(buf, pos + 4);
    pos += 8;
    ensure(extension);
    pos += extension;
  }

  /** After the trailer the stream must end; reading to the end also completes the COPY cleanly. */
  private void expectEndOfStream() throws IOException {
    if (pos < limit || in.read() >= 0) {
      throw failure("the COPY stream has data after its trailer");
    }
    finished = true;
    LOG.debug("{} read {} rows in {} ms", where(), rows, (System.nanoTime() - startNanos) / 1_000_000);
  }

  /** Makes at least {@code n} bytes available from {@code pos}, refilling (and growing) the buffer. */
  private void ensure(int n) throws IOException {
    if (limit - pos >= n) {
      return;
    }
    int remaining = limit - pos;
    byte[] target = n > buf.length ? new byte[Math.max(n, buf.length * 2)] : buf;
    System.arraycopy(buf, pos, target, 0, remaining);
    buf = target;
    pos = 0;
    limit = remaining;
    while (limit < n) {
      int read = in.read(buf, limit, buf.length - limit);
      if (read < 0) {
        throw failure("the COPY stream ended in the middle of a row");
      }
      limit += read;
    }
  }

  private void decode(int i, int length) {
    WireType type = types[i];
    if (type.fixedLength() >= 0 && length != type.fixedLength()) {
      throw failure("column " + names[i] + " arrived as " + length + " bytes, not the "
          + type.fixedLength() + " of " + type + "; the query does not match the schema");
    }
    switch (type) {
      case BOOL -> row.setBoolean(i, buf[pos] != 0);
      case INT2 -> row.setShort(i, (short) SHORT.get(buf, pos));
      case INT4 -> row.setInt(i, (int) INT.get(buf, pos));
      case INT8 -> row.setLong(i, (long) LONG.get(buf, pos));
      case FLOAT4 -> row.setFloat(i, Float.intBitsToFloat((int) INT.get(buf, pos)));
      case FLOAT8 -> row.setDouble(i, Double.longBitsToDouble((long) LONG.get(buf, pos)));
      case TEXT -> row.update(i, UTF8String.fromBytes(buf, pos, length));
      case BYTEA -> row.update(i, Arrays.copyOfRange(buf, pos, pos + length));
      case DATE -> row.setInt(i, date(i, (int) INT.get(buf, pos)));
      case TIMESTAMP -> row.setLong(i, timestamp(i, (long) LONG.get(buf, pos)));
      case NUMERIC -> row.update(i, numeric(i, length));
    }
  }

  private int date(int i, int pgDays) {
    if (pgDays == Integer.MAX_VALUE || pgDays == Integer.MIN_VALUE) {
      throw failure("column " + names[i] + " holds " + (pgDays > 0 ? "infinity" : "-infinity")
          + ", which a Spark date cannot represent");
    }
    return pgDays + PG_EPOCH_DAYS;
  }

  private long timestamp(int i, long pgMicros) {
    if (pgMicros == Long.MAX_VALUE || pgMicros == Long.MIN_VALUE) {
      throw failure("column " + names[i] + " holds " + (pgMicros > 0 ? "infinity" : "-infinity")
          + ", which a Spark timestamp cannot represent");
    }
    try {
      return Math.addExact(pgMicros, PG_EPOCH_MICROS);
    } catch (ArithmeticException e) {
      throw failure("column " + names[i] + " holds a timestamp beyond year 294000, outside Spark's range");
    }
  }

  /**
   * PostgreSQL's numeric: int16 ndigits, int16 weight, int16 sign, int16 dscale, then ndigits
   * base-10000 digits, the first worth 10000^weight. Rounded HALF_UP to the column's scale.
   */
  private Decimal numeric(int i, int length) {
    int ndigits = (short) SHORT.get(buf, pos);
    int weight = (short) SHORT.get(buf, pos + 2);
    int sign = (short) SHORT.get(buf, pos + 4) & 0xFFFF;
    if (sign == NUMERIC_NAN || sign == NUMERIC_PINF || sign == NUMERIC_NINF) {
      String what = sign == NUMERIC_NAN ? "NaN" : sign == NUMERIC_PINF ? "Infinity" : "-Infinity";
      throw failure("column " + names[i] + " holds numeric " + what + ", which a Spark decimal cannot represent");
    }
    if (length != 8 + 2 * ndigits) {
      throw failure("column " + names[i] + " is not a well-formed numeric");
    }
    int digits = pos + 8;
    int p = precision[i];
    int s = scale[i];
    // Long path: every digit of the value at scale s fits in 18 decimal digits.
    if (p <= LONG_DIGITS && 4 * (weight + 1) + s <= LONG_DIGITS) {
      long unscaled = 0;
      for (int k = 0; k < ndigits; k++) {
        int digit = (short) SHORT.get(buf, digits + 2 * k);
        int exponent = 4 * (weight - k) + s; // power of ten this digit is worth at scale s
        if (exponent >= 0) {
          unscaled += digit * POW10[exponent];
          continue;
        }
        // The first digit below the scale decides HALF_UP alone: later digits add less than one
        // unit of it, and a digit group more than 4 places down is worth under 0.1.
        if (exponent >= -4) {
          long divisor = POW10[-exponent];
          unscaled += digit / divisor;
          if (digit % divisor >= divisor / 2) {
            unscaled++;
          }
        }
        break;
      }
      if (unscaled >= POW10[p]) {
        throw overflow(i, BigDecimal.valueOf(sign == NUMERIC_NEG ? -unscaled : unscaled, s));
      }
      return Decimal.createUnsafe(sign == NUMERIC_NEG ? -unscaled : unscaled, p, s);
    }
    // General path: collect the digits four groups (16 decimal digits) at a time.
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
    BigDecimal value = new BigDecimal(sign == NUMERIC_NEG ? magnitude.negate() : magnitude, 4 * (ndigits - 1 - weight))
        .setScale(s, RoundingMode.HALF_UP);
    if (value.precision() - value.scale() > p - s) {
      throw overflow(i, value);
    }
    return Decimal.apply(value, p, s);
  }

  private LakehouseException overflow(int i, BigDecimal value) {
    return failure("column " + names[i] + " holds " + value.toPlainString() + ", which does not fit decimal("
        + precision[i] + "," + scale[i] + ")");
  }

  private LakehouseException failure(String reason) {
    return new LakehouseException(where() + " (row " + (rows + 1) + "): " + reason);
  }

  private String where() {
    return "COPY partition " + partition.index();
  }
}
