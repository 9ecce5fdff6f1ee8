package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_set;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.shiftright;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.extract.SourceColumn;
import dev.lakehouse.extract.WireType;
import dev.lakehouse.source.SourceDatabase;
import dev.lakehouse.spec.ConformSpec;
import dev.lakehouse.spec.Identifiers;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;

/**
 * A set of integer keys summed up the same way in PostgreSQL and in Spark: how many, and the sum
 * of each key's 64-bit hash. When the source's fingerprint equals silver's live keys', the two
 * sets are the same (two different sets agree only by a 64-bit coincidence), so reconcile knows
 * nothing is gone and nothing is back without moving a key out of PostgreSQL.
 *
 * <p>The hash is PostgreSQL's own {@code hashint8extended(key, 0)}, the one its hash partitioning
 * relies on (so it is the same on every platform and version since 11): PostgreSQL computes it in
 * C inside one aggregate, and {@link #pgHash} computes it for silver. A cheaper hash that both
 * could compute in SQL does not exist (PostgreSQL's integer arithmetic refuses to overflow), and an
 * MD5 of the key's text costs 16 s per 10M keys in Spark, more than the comparison it avoids.
 *
 * <p>Only single-column integer keys that silver does not cast take this path; any other key, any
 * difference, or a PostgreSQL without the function goes to the full comparison, so a miss costs
 * time, never a wrong answer.
 */
final class KeyFingerprint {

  record Value(long keys, BigInteger hashSum) {}

  private static final Set<WireType> INTEGERS = Set.of(WireType.INT2, WireType.INT4, WireType.INT8);
  private static final UserDefinedFunction PG_HASH =
      udf((UDF1<Long, Long>) KeyFingerprint::pgHash, DataTypes.LongType);

  private KeyFingerprint() {}

  /** Whether the key is one integer column that silver keeps as it is (renamed at most). */
  static boolean applies(List<SourceColumn> keyColumns, ConformSpec conform) {
    if (keyColumns.size() != 1) {
      return false;
    }
    SourceColumn key = keyColumns.get(0);
    return INTEGERS.contains(key.wireType()) && key.selectedAsIs()
        && !conform.casts().containsKey(conform.silverName(key.name()));
  }

  /** The fingerprint of the source table's keys as they are now (one statement, one snapshot). */
  static Value ofSource(Connection connection, String qualified, SourceColumn key) throws SQLException {
    String sql = "SELECT count(*), sum(hashint8extended(" + SourceDatabase.ident(key.name()) + "::int8, 0)) FROM "
        + qualified;
    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
      rs.next();
      BigDecimal sum = rs.getBigDecimal(2);
      return new Value(rs.getLong(1), sum == null ? BigInteger.ZERO : sum.toBigIntegerExact());
    }
  }

  /** Keys held in quarantine that are counted with silver's at most; beyond, the full comparison runs. */
  static final int MAX_HELD_KEYS = 100_000;

  /**
   * The fingerprint of what the source should hold if nothing was deleted or came back: silver's
   * live keys, and the keys of quarantined rows that silver never had (their rows are in the source
   * but held aside). Empty when quarantine holds too many keys to count that way. {@code key} is
   * the key's silver name; {@code quarantine} is the table's quarantine, if any.
   */
  static Optional<Value> ofSilver(Dataset<Row> silver, Dataset<Row> quarantine, String key) {
    Column keyColumn = col(Identifiers.quote(key)).cast("long");
    List<Long> held = List.of();
    if (quarantine != null) {
      if (!Arrays.asList(quarantine.columns()).contains(key)) {
        return Optional.empty();
      }
      held = quarantine.select(keyColumn.as("k")).where(col("k").isNotNull()).distinct().limit(MAX_HELD_KEYS + 1)
          .collectAsList().stream().map(r -> r.getLong(0)).toList();
      if (held.size() > MAX_HELD_KEYS) {
        return Optional.empty();
      }
    }
    Column live = col("_is_deleted").equalTo(lit(false));
    Column hash = PG_HASH.apply(keyColumn);
    // Summed as high and low 32-bit halves: each half's sum fits a long, where the whole would overflow.
    Column heldInSilver = held.isEmpty()
        ? lit(null).cast("array<long>") : collect_set(when(keyColumn.isin(held.toArray()), keyColumn));
    Row row = silver.agg(count(when(live, lit(1))), sum(when(live, shiftright(hash, 32))),
        sum(when(live, hash.bitwiseAND(lit(0xFFFFFFFFL)))), heldInSilver).first();
    BigInteger sum = halves(row, 1);
    long keys = row.getLong(0);
    Set<Long> inSilver = row.isNullAt(3) ? Set.of() : new HashSet<>(row.getList(3));
    for (Long k : held) {
      if (!inSilver.contains(k)) {
        keys++;
        sum = sum.add(BigInteger.valueOf(pgHash(k)));
      }
    }
    return Optional.of(new Value(keys, sum));
  }

  /** The fingerprint of a set of keys: {@code key} (its silver name) holds one key per row. */
  static Value ofKeys(Dataset<Row> keys, String key) {
    Column hash = PG_HASH.apply(col(Identifiers.quote(key)).cast("long"));
    Row row = keys.agg(count(lit(1)), sum(shiftright(hash, 32)), sum(hash.bitwiseAND(lit(0xFFFFFFFFL)))).first();
    return new Value(row.getLong(0), halves(row, 1));
  }

  /** {@code all} without {@code some}, which it holds. */
  static Value minus(Value all, Value some) {
    return new Value(all.keys() - some.keys(), all.hashSum().subtract(some.hashSum()));
  }

  /** The hash sum from its high and low 32-bit halves' sums, in columns {@code at} and {@code at + 1}. */
  private static BigInteger halves(Row row, int at) {
    return BigInteger.valueOf(row.isNullAt(at) ? 0 : row.getLong(at)).shiftLeft(32)
        .add(BigInteger.valueOf(row.isNullAt(at + 1) ? 0 : row.getLong(at + 1)));
  }

  static boolean same(Value a, Value b) {
    return a.keys() == b.keys() && a.hashSum().equals(b.hashSum());
  }

  /**
   * PostgreSQL's {@code hashint8extended(value, 0)}: the 64-bit value folded to 32 bits (so int2,
   * int4 and int8 hash alike), then Bob Jenkins' lookup3 final mix of one 32-bit word.
   */
  static Long pgHash(Long value) {
    if (value == null) {
      return null;
    }
    long v = value;
    int low = (int) v;
    int high = (int) (v >> 32);
    low ^= v >= 0 ? high : ~high;
    int a = 0x9e3779b9 + 4 + 3923095;
    int b = a;
    int c = a;
    a += low;
    c ^= b; c -= Integer.rotateLeft(b, 14);
    a ^= c; a -= Integer.rotateLeft(c, 11);
    b ^= a; b -= Integer.rotateLeft(a, 25);
    c ^= b; c -= Integer.rotateLeft(b, 16);
    a ^= c; a -= Integer.rotateLeft(c, 4);
    b ^= a; b -= Integer.rotateLeft(a, 14);
    c ^= b; c -= Integer.rotateLeft(b, 24);
    return ((long) b << 32) | (c & 0xFFFFFFFFL);
  }
}
