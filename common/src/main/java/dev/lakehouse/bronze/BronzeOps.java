package dev.lakehouse.bronze;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.TableSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;

/**
 * What a bronze row is: {@code _op} says whether it is a row of a complete snapshot ({@code S}),
 * a changed row ({@code U}: an incremental window, a full table landing only changes), an insert
 * ({@code I}) or a delete ({@code D}: a marker with the key, for full tables landing changes and
 * for the log). Rows landed before {@code _op} existed read NULL and count as snapshot rows of
 * full tables, changed rows of incremental ones.
 *
 * <p>Also the comparisons that keep bronze free of repeats: a lookback window against what bronze
 * already holds, and a full table's snapshot against bronze's current state of it.
 */
public final class BronzeOps {

  public static final String OP = "_op";
  public static final String SNAPSHOT = "S";
  public static final String UPSERT = "U";
  public static final String INSERT = "I";
  public static final String DELETE = "D";
  /** A 64-bit hash of the source columns, on tables whose bronze state is compared run to run. */
  public static final String ROW_HASH = "_row_hash";
  /** Keyless tables: the row's content hash (SHA-256) and its copy number among identical rows. */
  public static final String ROW_KEY = "_row_key";
  public static final String ROW_COPY = "_row_copy";

  private BronzeOps() {}

  /** The identity columns of a table's rows in bronze and silver: its key, or the row key of a keyless table. */
  public static List<String> identity(TableSpec table) {
    return table.keyless() ? List.of(ROW_KEY, ROW_COPY) : table.primaryKey();
  }

  /**
   * A hash of the columns that tells NULL from any value in any position (Spark's hash functions
   * skip NULLs, so a NULL flag goes in after each value).
   */
  public static Column hash(List<String> columns) {
    List<Column> parts = new ArrayList<>();
    for (String column : columns) {
      Column c = col(Identifiers.quote(column));
      parts.add(c);
      parts.add(c.isNull());
    }
    return functions.xxhash64(parts.toArray(Column[]::new));
  }

  /** Keyless rows: a SHA-256 of the whole row, and a copy number among identical rows. */
  static Dataset<Row> withRowKey(Dataset<Row> rows, List<String> columns) {
    Column[] all = columns.stream().map(c -> col(Identifiers.quote(c))).toArray(Column[]::new);
    Column json = functions.to_json(functions.struct(all), Map.of("ignoreNullFields", "false"));
    return rows.withColumn(ROW_KEY, functions.sha2(json, 256))
        .withColumn(ROW_COPY, functions.row_number().over(Window.partitionBy(col(ROW_KEY)).orderBy(col(ROW_KEY))));
  }

  /**
   * The window's rows less those bronze already holds identically (same key, cursor and content):
   * the lookback re-reads them on purpose. A row whose content changed without its cursor moving
   * is landed again.
   */
  static Dataset<Row> withoutLanded(SparkSession spark, Dataset<Row> rows, TableSpec table, List<String> sourceColumns,
                                    String path, Optional<CursorValue> lower) {
    String cursor = table.cursor().orElseThrow();
    Dataset<Row> bronze = spark.read().format("delta").load(path);
    if (lower.isPresent()) {
      bronze = bronze.where(col(Identifiers.quote(cursor)).geq(literal(lower.get())));
    }
    // A column bronze lacks reads NULL there: a row holding a value in it (a column added with a
    // default) is new, one holding NULL is what bronze has.
    Set<String> landedColumns = Set.of(bronze.columns());
    for (String column : sourceColumns) {
      if (!landedColumns.contains(column)) {
        bronze = bronze.withColumn(column, lit(null).cast(rows.schema().apply(column).dataType()));
      }
    }
    List<String> identity = new ArrayList<>(table.primaryKey());
    identity.add(cursor);
    List<Column> landedIdentity = new ArrayList<>(identity.stream().map(c -> col(Identifiers.quote(c))).toList());
    landedIdentity.add(hash(sourceColumns).as("_landed_hash"));
    Dataset<Row> landed = bronze.select(landedIdentity.toArray(Column[]::new)).distinct();
    Dataset<Row> withHash = rows.withColumn("_landed_hash", hash(sourceColumns));
    List<String> on = new ArrayList<>(identity);
    on.add("_landed_hash");
    return withHash.join(landed, on.toArray(String[]::new), "left_anti").drop("_landed_hash");
  }

  /**
   * A full table's snapshot against bronze's current state of it (the latest complete snapshot and
   * the changes landed since): the rows that are new or changed ({@code U}), and a delete marker
   * ({@code D}) for each key the snapshot no longer has.
   */
  static Dataset<Row> changesAgainstState(SparkSession spark, Dataset<Row> snapshot, TableSpec table, String path,
                                          Map<String, Object> constants) {
    Dataset<Row> bronze = spark.read().format("delta").load(path);
    List<String> columns = Arrays.asList(bronze.columns());
    Column op = columns.contains(OP) ? functions.coalesce(col(OP), lit(SNAPSHOT)) : lit(SNAPSHOT);
    Column rowHash = columns.contains(ROW_HASH) ? col(ROW_HASH) : lit(null).cast("long");
    Row latest = bronze.where(op.equalTo(SNAPSHOT)).agg(functions.max("_batch_id")).first();
    long since = latest.isNullAt(0) ? 0 : latest.getLong(0);
    List<String> identity = identity(table);
    Column[] identityColumns = identity.stream().map(c -> col(Identifiers.quote(c))).toArray(Column[]::new);
    Dataset<Row> state = bronze.where(col("_batch_id").geq(since))
        .groupBy(identityColumns)
        .agg(functions.max_by(functions.struct(op.as("op"), rowHash.as("hash")), col("_batch_id")).as("_state"))
        .where(col("_state.op").notEqual(DELETE))
        .select(concat(identityColumns, col("_state.hash").as("_state_hash")));

    Dataset<Row> changed;
    if (table.keyless()) {
      changed = snapshot.join(state, identity.toArray(String[]::new), "left_anti");
    } else {
      Column same = lit(true);
      for (String key : identity) {
        same = same.and(snapshot.col(Identifiers.quote(key)).equalTo(state.col(Identifiers.quote(key))));
      }
      same = same.and(snapshot.col(ROW_HASH).equalTo(state.col("_state_hash")));
      changed = snapshot.join(state, same, "left_anti");
    }
    changed = changed.withColumn(OP, lit(UPSERT));

    List<Column> marker = new ArrayList<>();
    for (var field : snapshot.schema().fields()) {
      String name = field.name();
      if (identity.contains(name)) {
        marker.add(col(Identifiers.quote(name)));
      } else if (constants.containsKey(name)) {
        marker.add(lit(constants.get(name)).cast(field.dataType()).as(name));
      } else {
        marker.add(lit(null).cast(field.dataType()).as(name));
      }
    }
    Dataset<Row> deleted = state.select(identityColumns)
        .join(snapshot.select(identityColumns), identity.toArray(String[]::new), "left_anti")
        .select(marker.toArray(Column[]::new))
        .withColumn(OP, lit(DELETE));
    return changed.unionByName(deleted);
  }

  static Column literal(CursorValue value) {
    // java.time values: Spark takes them on its own (proleptic Gregorian) calendar, where a
    // java.sql.Timestamp before 1582 would move by days.
    if (value instanceof CursorValue.TimestampTz t) {
      return lit(t.value());
    }
    if (value instanceof CursorValue.LocalTimestamp t) {
      return lit(t.value());
    }
    if (value instanceof CursorValue.DateValue d) {
      return lit(d.value());
    }
    return lit(((CursorValue.IntegerValue) value).value());
  }

  private static Column[] concat(Column[] first, Column last) {
    Column[] all = Arrays.copyOf(first, first.length + 1);
    all[first.length] = last;
    return all;
  }
}
