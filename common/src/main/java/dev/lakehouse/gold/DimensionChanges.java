package dev.lakehouse.gold;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lag;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.bronze.BronzeOps;
import dev.lakehouse.silver.SilverVersions;
import dev.lakehouse.silver.SilverVersions.Position;
import dev.lakehouse.spec.DimensionSpec;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.TableSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.functions;

/**
 * What a Type 2 dimension must apply between two positions of its silver table, in the change
 * feed {@link Scd2Merge} reads: every version the source showed (silver's versions: conformed,
 * without quarantined rows) and every delete silver recorded, each with its change time and when
 * the lakehouse observed it.
 *
 * <p>A member is identified by the dimension's natural key, a row of silver by the table's key.
 * When the two differ (a business code on a table keyed by an id), a row's versions are followed
 * in order ({@link #followRows}): a row whose natural key changes leaves its old member, which is
 * deleted at that change's time; a row whose natural key is NULL belongs to no member; a delete
 * the log carries with the row's key only is a delete of the member the row last had; and a row
 * ends a member only while it holds it, not after another row took the code. A keyless table's
 * rows are followed the same way, by the identity bronze gives each row.
 */
final class DimensionChanges {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DimensionChanges.class);

  // Working columns; the prefix keeps them apart from source columns.
  private static final String ROW = "_dim_row";
  private static final String MEMBER = "_dim_member";
  private static final String KIND = "_dim_kind";
  private static final String PREVIOUS = "_dim_previous";
  private static final String PREVIOUS_KIND = "_dim_previous_kind";
  private static final String HOLDER = "_dim_holder";
  /** Marks a version of a row that belongs to no member (a NULL natural key). */
  private static final String MEMBERLESS = "_dim_memberless";
  private static final int PRIOR = 0;
  private static final int VERSION = 1;
  private static final int DELETE = 2;

  private DimensionChanges() {}

  /**
   * The changes to apply. When rows are followed, versions that belong to no member are still in
   * it, marked; {@link #ofMembers} counts and leaves them out once the feed is held.
   */
  static Dataset<Row> between(SilverVersions silver, TableSpec source, DimensionSpec dimension, Position from,
                              Position to) {
    List<String> rowKey = rowKey(source, dimension);
    Dataset<Row> versions = silver.versions(source, from, to).select(feed(dimension, rowKey, null, false));
    Dataset<Row> all = versions;
    if (from.before(to)) {
      Dataset<Row> deletes = silver.deletes(source.name(), from, to).select(feed(dimension, rowKey, null, true));
      if (source.log()) {
        // Every delete the log holds, including those silver never showed (deleted, then back).
        Dataset<Row> logged = silver.logDeletes(source, from, to);
        deletes = deletes.unionByName(logged.select(feed(dimension, rowKey, List.of(logged.columns()), true)), true);
      }
      all = versions.unionByName(deletes);
    }
    if (rowKey.isEmpty()) {
      return all;
    }
    Dataset<Row> prior = from.silverVersion() < 0 ? null : silver.liveAt(source.name(), from.silverVersion());
    return followRows(all, prior, dimension, rowKey);
  }

  /**
   * The feed's columns: the dimension's source columns ({@code present}: those the rows hold, the
   * rest NULL; null: all), the change and observation times, the row key and the delete flag.
   */
  private static Column[] feed(DimensionSpec dimension, List<String> rowKey, List<String> present, boolean delete) {
    List<Column> columns = new ArrayList<>();
    for (String column : dimension.sourceColumns()) {
      columns.add(present == null || present.contains(column) ? col(Identifiers.quote(column)) : lit(null).as(column));
    }
    columns.add(col(SilverVersions.CHANGE_TIME).as(Scd2Columns.CHANGE_TIME));
    columns.add(col(SilverVersions.OBSERVED_AT).as(Scd2Columns.OBSERVED_AT));
    for (int i = 0; i < rowKey.size(); i++) {
      columns.add(col(Identifiers.quote(rowKey.get(i))).as(ROW + i));
    }
    columns.add(lit(delete).as(Scd2Columns.DELETE_EVENT));
    return columns.toArray(Column[]::new);
  }

  /**
   * Silver's columns that identify a row, when they are not the natural key (empty when they are):
   * the table's key, or for a keyless table the identity bronze gives each row.
   */
  private static List<String> rowKey(TableSpec source, DimensionSpec dimension) {
    List<String> rowKey = BronzeOps.identity(source).stream().map(source.conform()::silverName).toList();
    Set<String> key = rowKey.stream().map(c -> c.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
    Set<String> natural = dimension.naturalKey().stream().map(c -> c.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
    return key.equals(natural) ? List.of() : rowKey;
  }

  /**
   * Each row's events in the order silver applied them (the row as silver held it at {@code from}
   * first), and from them the member of each event:
   * <ul>
   *   <li>a version belongs to its natural key's member, or to none when a key column is NULL;
   *   <li>a version whose member differs from the row's previous one deletes that previous member
   *       at the version's time;
   *   <li>a delete without its natural key (the log's key-only old row) deletes the member of the
   *       row's previous event;
   *   <li>a delete counts only when its row holds the member (see below).
   * </ul>
   * The natural key must be unique among silver's live rows: two live rows with one natural key
   * are one member whose versions come from both.
   */
  private static Dataset<Row> followRows(Dataset<Row> events, Dataset<Row> prior, DimensionSpec dimension, List<String> rowKey) {
    List<String> natural = dimension.naturalKey();
    Column complete = lit(true);
    List<Column> fields = new ArrayList<>();
    for (String column : natural) {
      complete = complete.and(col(Identifiers.quote(column)).isNotNull());
      fields.add(col(Identifiers.quote(column)));
    }
    Column member = when(complete, struct(fields.toArray(Column[]::new)));
    Dataset<Row> typed = events.withColumn(MEMBER, member)
        .withColumn(KIND, when(col(Scd2Columns.DELETE_EVENT), lit(DELETE)).otherwise(lit(VERSION)));
    List<String> rowColumns = java.util.stream.IntStream.range(0, rowKey.size()).mapToObj(i -> ROW + i).toList();
    Column[] byRow = rowColumns.stream().map(functions::col).toArray(Column[]::new);
    if (prior != null) {
      List<Column> priorColumns = new ArrayList<>();
      for (int i = 0; i < rowKey.size(); i++) {
        priorColumns.add(col(Identifiers.quote(rowKey.get(i))).as(rowColumns.get(i)));
      }
      priorColumns.add(member.as(MEMBER));
      priorColumns.add(lit(PRIOR).as(KIND));
      // Only the rows that have an event: the rest of silver cannot change a member now.
      Dataset<Row> held = prior.select(priorColumns.toArray(Column[]::new))
          .join(typed.select(byRow).distinct(), scala.jdk.javaapi.CollectionConverters.asScala(rowColumns).toSeq(),
              "left_semi");
      typed = typed.unionByName(held, true);
    }
    WindowSpec order = Window.partitionBy(byRow).orderBy(col(Scd2Columns.OBSERVED_AT).asc_nulls_first(),
        col(Scd2Columns.CHANGE_TIME).asc_nulls_first(), col(KIND));
    Dataset<Row> ordered = typed
        .withColumn(PREVIOUS, lag(col(MEMBER), 1).over(order))
        .withColumn(PREVIOUS_KIND, lag(col(KIND), 1).over(order));
    Column afterHeld = col(PREVIOUS_KIND).isin(PRIOR, VERSION);

    // Versions with a member, and deletes of the member they name or the row last had.
    Column eventMember = when(col(KIND).equalTo(DELETE).and(col(MEMBER).isNull()).and(afterHeld), col(PREVIOUS))
        .otherwise(col(MEMBER));
    Dataset<Row> own = ordered.withColumn(MEMBER, eventMember).where(col(MEMBER).isNotNull());
    // A row leaving its member.
    Dataset<Row> left = ordered.where(col(KIND).equalTo(VERSION).and(afterHeld).and(col(PREVIOUS).isNotNull())
            .and(not(col(PREVIOUS).eqNullSafe(col(MEMBER)))))
        .withColumn(MEMBER, col(PREVIOUS))
        .withColumn(KIND, lit(DELETE))
        .withColumn(Scd2Columns.DELETE_EVENT, lit(true));
    for (String column : attributes(dimension)) {
      left = left.withColumn(column, lit(null).cast(Scd2Columns.field(ordered.schema(), column).dataType()));
    }
    // A row ends a member only if it is the member's holder: the last row with a version of it (or
    // holding it when the window began). Another row may have taken the code since (two rows
    // swapping codes; a keyless table's row replaced by its changed copy; a row deleted while
    // another took its code).
    Column row = struct(byRow);
    WindowSpec byMember = Window.partitionBy(col(MEMBER)).orderBy(col(Scd2Columns.OBSERVED_AT).asc_nulls_first(),
        col(Scd2Columns.CHANGE_TIME).asc_nulls_first(), col(KIND)).rowsBetween(Window.unboundedPreceding(), -1);
    Column holder = functions.last(when(col(KIND).notEqual(DELETE), row), true).over(byMember);
    Dataset<Row> members = own.unionByName(left).withColumn(HOLDER, holder)
        .where(col(KIND).equalTo(VERSION)
            .or(col(KIND).equalTo(DELETE).and(col(HOLDER).isNull().or(col(HOLDER).equalTo(row)))));

    List<Column> output = new ArrayList<>();
    for (int i = 0; i < natural.size(); i++) {
      output.add(col(MEMBER).getField(natural.get(i)).as(natural.get(i)));
    }
    attributes(dimension).forEach(c -> output.add(col(Identifiers.quote(c))));
    output.add(col(Scd2Columns.CHANGE_TIME));
    output.add(col(Scd2Columns.OBSERVED_AT));
    output.add(col(Scd2Columns.DELETE_EVENT));
    Column[] out = output.toArray(Column[]::new);
    Dataset<Row> memberless = ordered.where(col(KIND).equalTo(VERSION).and(col(MEMBER).isNull()));
    return members.select(out).withColumn(MEMBERLESS, lit(false))
        .unionByName(memberless.select(out).withColumn(MEMBERLESS, lit(true)));
  }

  private static List<String> attributes(DimensionSpec dimension) {
    List<String> attributes = new ArrayList<>(dimension.tracked());
    attributes.addAll(dimension.overwrite());
    return attributes;
  }

  /**
   * The held feed without the versions that belong to no member, which are counted and named in
   * a warning: the rows stay in silver, the dimension has no member for them.
   */
  static Dataset<Row> ofMembers(Dataset<Row> feed, DimensionSpec dimension) {
    if (!java.util.Arrays.asList(feed.columns()).contains(MEMBERLESS)) {
      return feed;
    }
    long memberless = feed.where(col(MEMBERLESS)).count();
    if (memberless > 0) {
      LOG.warn("gold {}: {} versions of silver.{} have a NULL {}; they belong to no member", dimension.table(),
          memberless, dimension.source(), String.join(" or ", dimension.naturalKey()));
    }
    return feed.where(not(col(MEMBERLESS))).drop(MEMBERLESS);
  }
}
