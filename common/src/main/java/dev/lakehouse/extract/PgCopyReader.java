package dev.lakehouse.extract;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.SpecificInternalRow;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.postgresql.PGConnection;
import org.postgresql.copy.PGCopyInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams one partition's {@code COPY (select) TO STDOUT (FORMAT binary)} and decodes each tuple
 * into a reused {@link SpecificInternalRow} with a {@link PgBinaryDecoder}: primitives are stored
 * unboxed, and reuse is safe because Spark copies every row of a row-based scan into an UnsafeRow
 * before using it (text values point into the read buffer until then).
 */
final class PgCopyReader implements PartitionReader<InternalRow> {

  private static final Logger LOG = LoggerFactory.getLogger(PgCopyReader.class);

  private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xFF, '\r', '\n', 0};
  /** Flags bit 16: every tuple carries an OID, which a COPY of a query never does. */
  private static final int FLAG_OIDS = 1 << 16;
  private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

  /** Big enough that refills (and the copy of a partial tuple they make) are rare. */
  private static final int BUFFER_SIZE = 1 << 20;

  private final PgCopySource.ReaderFactory source;
  private final PgCopySource.CopyPartition partition;
  private final int columns;
  private final PgBinaryDecoder decoder;
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
    this.columns = source.schema.length();
    this.decoder = new PgBinaryDecoder(source.schema, source.wireTypes, source.elementWireTypes, source.relations);
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
      if (fieldCount != columns) {
        throw failure("the query returns " + fieldCount + " columns, the schema has " + columns);
      }
      for (int i = 0; i < fieldCount; i++) {
        ensure(4);
        int length = (int) INT.get(buf, pos);
        pos += 4;
        if (length > 0) {
          ensure(length);
        }
        decoder.decode(i, buf, pos, length, row);
        if (length > 0) {
          pos += length;
        }
      }
      rows++;
      return true;
    } catch (PgBinaryDecoder.ValueException e) {
      throw failure(e.getMessage());
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
      try (Statement s = connection.createStatement()) {
        // Text forms (tstzrange, interval, point... as ::text) come out the same on every executor
        // and as the log writes them, whatever the JVM's zone or the source's session defaults.
        s.execute(TextValues.sessionStatements());
      }
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

  private LakehouseException failure(String reason) {
    return new LakehouseException(where() + " (row " + (rows + 1) + "): " + reason);
  }

  private String where() {
    return "COPY partition " + partition.index();
  }
}
