package dev.lakehouse.silver;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.conv;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.md5;
import static org.apache.spark.sql.functions.substring;
import static org.apache.spark.sql.functions.sum;

import dev.lakehouse.extract.SourceColumn;
import dev.lakehouse.extract.WireType;
import dev.lakehouse.source.SourceDatabase;
import dev.lakehouse.spec.ConformSpec;
import dev.lakehouse.spec.Identifiers;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * A set of keys summed up the same way in PostgreSQL and in Spark: how many, and two sums of
 * 60-bit slices of each key's MD5. When the source's fingerprint equals silver's live keys', the
 * two sets are the same (two different sets agree only by a 120-bit coincidence), so reconcile
 * knows nothing is gone and nothing is back without moving a key out of PostgreSQL.
 *
 * <p>Only keys whose text form is the same on both sides take this path: integers and UUIDs that
 * silver does not cast or upper-case (it does not rename values, only columns). Any other key,
 * or any difference, goes to the full comparison, so a miss costs time, never a wrong answer.
 */
final class KeyFingerprint {

  record Value(long keys, BigDecimal low, BigDecimal high) {}

  private static final Set<WireType> SAME_TEXT = Set.of(WireType.INT2, WireType.INT4, WireType.INT8, WireType.UUID);

  private KeyFingerprint() {}

  /** Whether these source key columns print the same in PostgreSQL and, conformed, in silver. */
  static boolean applies(List<SourceColumn> keyColumns, ConformSpec conform) {
    return keyColumns.stream().allMatch(c -> {
      String silverName = conform.silverName(c.name());
      return SAME_TEXT.contains(c.wireType()) && c.selectedAsIs() && !conform.casts().containsKey(silverName)
          && !conform.uppercase().contains(silverName);
    });
  }

  /** The fingerprint of the source table's keys as they are now (one statement, one snapshot). */
  static Value ofSource(Connection connection, String qualified, List<SourceColumn> keyColumns) throws SQLException {
    // The key as text: an integer's digits, a UUID's lower-case form, as Spark casts them too.
    String text = keyColumns.size() == 1
        ? SourceDatabase.ident(keyColumns.get(0).name()) + "::text"
        : "concat_ws(','," + keyColumns.stream().map(c -> SourceDatabase.ident(c.name()) + "::text")
            .collect(Collectors.joining(",")) + ")";
    String sql = "SELECT count(*), sum(('x' || substr(h, 1, 15))::bit(60)::bigint), "
        + "sum(('x' || substr(h, 16, 15))::bit(60)::bigint) FROM (SELECT md5(" + text + ") AS h FROM "
        + qualified + ") k";
    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
      rs.next();
      return new Value(rs.getLong(1), zeroIfNull(rs.getBigDecimal(2)), zeroIfNull(rs.getBigDecimal(3)));
    }
  }

  /** The fingerprint of silver's live keys ({@code keys} are their silver names). */
  static Value ofSilver(Dataset<Row> silver, List<String> keys) {
    Column text = keys.size() == 1
        ? col(Identifiers.quote(keys.get(0))).cast("string")
        : concat_ws(",", keys.stream().map(k -> col(Identifiers.quote(k)).cast("string")).toArray(Column[]::new));
    Column h = md5(text.cast("binary"));
    Row row = silver.where("NOT _is_deleted")
        .select(h.as("h"))
        .agg(count(lit(1)),
            sum(conv(substring(col("h"), 1, 15), 16, 10).cast("decimal(38,0)")),
            sum(conv(substring(col("h"), 16, 15), 16, 10).cast("decimal(38,0)")))
        .first();
    return new Value(row.getLong(0), zeroIfNull(row.getDecimal(1)), zeroIfNull(row.getDecimal(2)));
  }

  static boolean same(Value a, Value b) {
    return a.keys() == b.keys() && a.low().compareTo(b.low()) == 0 && a.high().compareTo(b.high()) == 0;
  }

  private static BigDecimal zeroIfNull(BigDecimal value) {
    return value == null ? BigDecimal.ZERO : value;
  }
}
