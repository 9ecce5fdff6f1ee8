package dev.lakehouse.gold;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.control.Commits;
import dev.lakehouse.spark.Cached;
import dev.lakehouse.silver.SilverVersions.Position;
import dev.lakehouse.spark.DeletionVectors;
import dev.lakehouse.spark.SourceTime;
import dev.lakehouse.spec.DimensionSpec;
import dev.lakehouse.spec.FactSpec;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import io.delta.tables.DeltaTable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.StructField;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One fact table declared in configuration ({@link FactSpec}), maintained incrementally. By phase:
 * (1) what changed since the fact's last commit: rows of its input tables in silver's change feed
 * (before and after each change), and dimension members whose rows changed (a late version can
 * re-key older facts); (2) the fact rows those touch, by the {@code touched-by} columns, among the
 * query's rows and among the stored facts (so a fact whose source is gone is found); (3) the
 * query recomputed for those rows only, late-arriving members added, dimension keys resolved as
 * of the fact's time, dates turned into calendar keys; (4) what differs from the stored facts
 * MERGEd on the grain, a touched fact with no row any more deleted, as one commit that records
 * the positions it consumed. When changes came in but no fact differs, a commit without data
 * records the positions alone; when no input changed, nothing is committed. The first run (or a
 * change of the fact's columns) builds the table whole.
 */
final class FactTable {

  private static final Logger LOG = LoggerFactory.getLogger(FactTable.class);

  /** The rows a run wrote; {@code inputsMoved} is false when no input changed since the last run. */
  record Result(String table, long inserted, long updated, long deleted, boolean inputsMoved) {
    Result(String table, long inserted, long updated, long deleted) {
      this(table, inserted, updated, deleted, true);
    }
  }

  private final SparkSession spark;
  private final LakehousePaths paths;
  private final FactSpec spec;
  private final Map<String, DimensionSpec> dimensions;
  private final Map<String, Scd2Merge> merges = new java.util.HashMap<>();
  /** One writer at a time per dimension: facts computed side by side may add members to the same one. */
  private static final java.util.concurrent.ConcurrentHashMap<String, Object> WRITE_LOCKS =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final GoldInputs inputs;
  /** Up to this many touched keys are broadcast to the joins that find their facts. */
  static final long BROADCAST_ROWS = 2_000_000;
  /** Up to this many changed values of a touched-by column are matched as a list of values. */
  static final long IN_LIST_ROWS = 10_000;

  FactTable(SparkSession spark, LakehousePaths paths, FactSpec spec, Map<String, DimensionSpec> dimensions,
            GoldInputs inputs) {
    this.spark = spark;
    this.paths = paths;
    this.spec = spec;
    this.dimensions = dimensions;
    for (FactSpec.DimensionRef ref : spec.dimensions()) {
      DimensionSpec dimension = dimensions.get(ref.dimension());
      merges.put(ref.dimension(), new Scd2Merge(spark, paths.gold(dimension.table()), Scd2Spec.of(dimension)));
    }
    this.inputs = inputs;
  }

  private String where() {
    return "lakehouse.gold.facts." + spec.name();
  }

  Result update(String runId, Map<String, Position> current, List<Dataset<Row>> persisted) {
    String path = paths.gold(spec.name());
    Map<String, String> consumed = inputs.consumed(spec.name());
    Map<String, String> positions = new LinkedHashMap<>(inputs.silverPositions(spec.inputs(), current));
    for (FactSpec.DimensionRef ref : spec.dimensions()) {
      positions.put(GoldInputs.goldKey(dimensions.get(ref.dimension()).table()), "");
    }
    try (GoldInputs.Bound query = inputs.bind(where() + ".query", spec.query())) {
      Dataset<Row> rows = query.rows();
      checkQuery(rows);
      boolean exists = DeltaTable.isDeltaTable(spark, path);
      boolean reshaped = exists && !sameColumns(path, resolved(rows, positions));
      if (reshaped) {
        LOG.warn("gold {}: its columns are now {} (they were {}); rebuilding it from silver", spec.name(),
            resolved(rows, positions).schema().simpleString(), spark.read().format("delta").load(path).schema().simpleString());
      }
      boolean everything = !exists || reshaped || spec.inputs().stream()
          .anyMatch(t -> !consumed.containsKey(GoldInputs.silverKey(t)));
      Dataset<Row> touched = null;
      long touchedCount = 0;
      if (!everything) {
        Optional<Dataset<Row>> grain = touchedGrain(rows, path, consumed, current, persisted);
        if (grain.isEmpty()) {
          for (FactSpec.DimensionRef ref : spec.dimensions()) {
            String dimension = dimensions.get(ref.dimension()).table();
            positions.put(GoldInputs.goldKey(dimension), Long.toString(inputs.goldVersion(dimension)));
          }
          if (positions.equals(consumed)) {
            LOG.info("gold {}: no input changed", spec.name());
            return new Result(spec.name(), 0, 0, 0, false);
          }
          LOG.info("gold {}: its inputs changed, but no fact of it", spec.name());
          Commits.record(spark, path, tag(runId, positions));
          return new Result(spec.name(), 0, 0, 0);
        }
        touched = grain.get();
        touchedCount = touched.count();
        rows = matching(spec.grain().toArray(String[]::new), touched, touchedCount).apply(rows);
      }
      rows = Cached.materialize(rows, persisted);
      if (touched != null) {
        LOG.info("gold {}: the changes touch {} facts; {} of them are in the query's rows", spec.name(), touchedCount,
            rows.count());
      }

      for (FactSpec.DimensionRef ref : spec.dimensions()) {
        DimensionSpec dimension = dimensions.get(ref.dimension());
        Dataset<Row> keys = rows.select(ref.key().stream().map(k -> col(Identifiers.quote(k))).toArray(Column[]::new))
            .toDF(dimension.naturalKey().toArray(String[]::new));
        // Late-arriving members: a fact never waits for its dimension row.
        synchronized (WRITE_LOCKS.computeIfAbsent(paths.gold(dimension.table()), k -> new Object())) {
          merges.get(ref.dimension()).ensureMembers(keys, Optional.of(Commits.Tag.of(GoldInputs.LAYER, dimension.table(),
              0, runId).with(inputs.consumed(dimension.table()))));
        }
        positions.put(GoldInputs.goldKey(dimension.table()), Long.toString(inputs.goldVersion(dimension.table())));
      }
      // An incremental run reads the resolved facts twice (what changed, what is gone): held once,
      // or each reader repeats every dimension's join. A full build writes them once, lazily.
      Dataset<Row> facts = resolved(rows, positions);
      if (touched != null) {
        facts = Cached.materialize(facts, persisted);
      }
      if (!spec.dates().isEmpty()) {
        Dataset<Row> dates = null;
        for (String date : spec.dates()) {
          Dataset<Row> one = rows.select(dateOf(rows, date).as("date"));
          dates = dates == null ? one : dates.union(one);
        }
        // Facts run side by side and share the calendar: one extends it at a time.
        synchronized (WRITE_LOCKS.computeIfAbsent(paths.gold(DateDimension.TABLE), k -> new Object())) {
          DateDimension.cover(spark, paths.gold(DateDimension.TABLE), dates, runId);
        }
      }
      Commits.Tag tag = tag(runId, positions);
      if (!exists || reshaped) {
        return rebuild(path, facts, tag);
      }
      return merge(path, facts, touched == null ? null : joinable(touched, touchedCount), tag, persisted);
    }
  }

  /** A commit of this fact: the positions of its inputs it has read up to. */
  private Commits.Tag tag(String runId, Map<String, String> positions) {
    return Commits.Tag.of(GoldInputs.LAYER, spec.name(), 0, runId).with(positions);
  }

  private void checkQuery(Dataset<Row> rows) {
    List<String> columns = Arrays.asList(rows.columns());
    List<String> needed = new ArrayList<>(spec.grain());
    spec.dimensions().forEach(r -> {
      needed.addAll(r.key());
      needed.add(r.asOf());
    });
    needed.addAll(spec.dates());
    spec.touchedBy().forEach(t -> needed.add(t.column()));
    List<String> missing = needed.stream().filter(c -> !columns.contains(c)).distinct().toList();
    if (!missing.isEmpty()) {
      throw new LakehouseException(where() + ": the query returns no column " + String.join(", ", missing)
          + " (it returns " + columns + ")");
    }
    for (FactSpec.DimensionRef ref : spec.dimensions()) {
      SourceTime.notATime(where() + ".dimensions(" + ref.dimension() + ").as-of", ref.asOf(),
          rows.schema().apply(ref.asOf()).dataType(), "a time").ifPresent(problem -> {
            throw new LakehouseException(problem);
          });
    }
    for (String date : spec.dates()) {
      SourceTime.notATime(where() + ".dates", date, rows.schema().apply(date).dataType(), "a date")
          .ifPresent(problem -> {
            throw new LakehouseException(problem);
          });
    }
  }

  private static Column dateOf(Dataset<Row> rows, String column) {
    Column value = col(Identifiers.quote(column));
    return rows.schema().apply(column).dataType() instanceof DateType ? value : value.cast(DataTypes.DateType);
  }

  /**
   * The grain of every fact row a change touches, or empty when nothing changed: query rows and
   * stored facts whose touched-by column holds a value a changed input row had (before or after),
   * or whose dimension key is a member whose rows changed.
   */
  private Optional<Dataset<Row>> touchedGrain(Dataset<Row> rows, String path, Map<String, String> consumed,
                                              Map<String, Position> current, List<Dataset<Row>> persisted) {
    Dataset<Row> stored = spark.read().format("delta").load(path);
    List<String> storedColumns = Arrays.asList(stored.columns());
    Column[] grain = spec.grain().stream().map(c -> col(Identifiers.quote(c))).toArray(Column[]::new);
    List<Dataset<Row>> touched = new ArrayList<>();
    for (FactSpec.TouchedBy by : spec.touchedBy()) {
      Position from = GoldInputs.decode(consumed.get(GoldInputs.silverKey(by.table())));
      Position to = current.get(by.table());
      if (!from.before(to)) {
        continue;
      }
      Dataset<Row> values = Cached.materialize(inputs.silver().changes(by.table(), from, to)
          .select(col(Identifiers.quote(by.sourceColumn())).as(by.column()))
          .where(col(Identifiers.quote(by.column())).isNotNull()).distinct(), persisted);
      UnaryOperator<Dataset<Row>> touchedIn = matching(new String[] {by.column()}, values, values.count());
      touched.add(touchedIn.apply(rows).select(grain));
      if (storedColumns.contains(by.column())) {
        touched.add(touchedIn.apply(stored).select(grain));
      } else {
        // The fact table holds the column as a surrogate or date key instead: the stored facts of a
        // changed value are found by that key, or a change that drops a query row (an inner
        // join's other side gone) would leave its fact behind.
        for (Dataset<Row> keys : storedKeysOf(by.column(), values, persisted)) {
          String key = keys.columns()[0];
          touched.add(matching(new String[] {key}, keys, keys.count()).apply(stored).select(grain));
        }
      }
    }
    for (FactSpec.DimensionRef ref : spec.dimensions()) {
      DimensionSpec dimension = dimensions.get(ref.dimension());
      Optional<Dataset<Row>> members = changedMembers(dimension, consumed);
      if (members.isPresent()) {
        Dataset<Row> keys = Cached.materialize(members.get().toDF(ref.key().toArray(String[]::new)), persisted);
        touched.add(matching(ref.key().toArray(String[]::new), keys, keys.count()).apply(rows).select(grain));
      }
    }
    if (touched.isEmpty()) {
      return Optional.empty();
    }
    Dataset<Row> all = touched.get(0);
    for (int i = 1; i < touched.size(); i++) {
      all = all.union(touched.get(i));
    }
    Dataset<Row> distinct = Cached.materialize(all.distinct(), persisted);
    return distinct.isEmpty() ? Optional.empty() : Optional.of(distinct);
  }

  /**
   * For a query column the fact table does not keep, the values it is stored as: the surrogate
   * keys of every version of the members whose natural key holds one of {@code values} (per
   * dimension reference that resolves it), or the date keys of the dates.
   */
  private List<Dataset<Row>> storedKeysOf(String column, Dataset<Row> values, List<Dataset<Row>> persisted) {
    List<Dataset<Row>> keys = new ArrayList<>();
    for (FactSpec.DimensionRef ref : spec.dimensionsOf(column)) {
      DimensionSpec dimension = dimensions.get(ref.dimension());
      String natural = dimension.naturalKey().get(ref.key().indexOf(column));
      Dataset<Row> members = merges.get(ref.dimension()).read();
      keys.add(Cached.materialize(members.join(values.withColumnRenamed(column, natural), Scd2Merge.seq(List.of(natural)), "left_semi")
          .select(col(Identifiers.quote(dimension.surrogateKey())).as(ref.column())).distinct(), persisted));
    }
    if (spec.dates().contains(column)) {
      keys.add(Cached.materialize(values.select(DateDimension.dateKey(dateOf(values, column)).as(FactSpec.dateKey(column)))
          .distinct(), persisted));
    }
    return keys;
  }

  private static Dataset<Row> joinable(Dataset<Row> small, long count) {
    return count <= BROADCAST_ROWS ? broadcast(small) : small;
  }

  /**
   * Keeps the rows of a table whose {@code columns} hold a row of {@code values} ({@code count}
   * rows, named as the columns). A few values of one column become a filter on that column, not a
   * join: Spark carries a filter through the query's joins to every table joined on that column
   * and prunes their scans before any shuffle, which it does not do for a semi-join (a table joined
   * on another column is still read whole). More values, or a key of several columns, are a
   * semi-join whose change-sized side is broadcast while small: the large side (the query's rows,
   * the stored facts) is then scanned once and never shuffled. Spark cannot know the size of a
   * change feed in advance, so without the hint it would sort and shuffle the whole table.
   */
  private static UnaryOperator<Dataset<Row>> matching(String[] columns, Dataset<Row> values, long count) {
    if (columns.length == 1 && count <= IN_LIST_ROWS) {
      Column in = col(Identifiers.quote(columns[0])).isin(values.collectAsList().stream().map(r -> r.get(0)).toArray());
      return table -> table.where(in);
    }
    Dataset<Row> side = joinable(values, count);
    return table -> table.join(side, columns, "left_semi");
  }

  /**
   * The natural keys of members whose dimension rows changed since the version this fact last
   * resolved against (from the dimension's change feed); everything when that is unknown.
   */
  private Optional<Dataset<Row>> changedMembers(DimensionSpec dimension, Map<String, String> consumed) {
    String resolvedAt = consumed.get(GoldInputs.goldKey(dimension.table()));
    long now = inputs.goldVersion(dimension.table());
    Column[] key = dimension.naturalKey().stream().map(k -> col(Identifiers.quote(k))).toArray(Column[]::new);
    String dimensionPath = paths.gold(dimension.table());
    if (resolvedAt == null || resolvedAt.isEmpty() || !Scd2Merge.changeFeedOn(spark, dimensionPath)) {
      return Optional.of(spark.read().format("delta").load(dimensionPath).select(key).where(col(Identifiers.quote(
          dimension.naturalKey().get(0))).isNotNull()).distinct());
    }
    long from = Long.parseLong(resolvedAt);
    if (now <= from) {
      return Optional.empty();
    }
    return Optional.of(spark.read().format("delta").option("readChangeFeed", "true")
        .option("startingVersion", from + 1).option("endingVersion", now).load(dimensionPath)
        .select(key).distinct());
  }

  /** The fact rows for these query rows, lazily: dimension keys resolved as of their time, date keys. */
  private Dataset<Row> resolved(Dataset<Row> rows, Map<String, String> positions) {
    Dataset<Row> facts = rows;
    for (FactSpec.DimensionRef ref : spec.dimensions()) {
      DimensionSpec dimension = dimensions.get(ref.dimension());
      Column asOf = SourceTime.instant(col(Identifiers.quote(ref.asOf())), facts.schema().apply(ref.asOf()).dataType(),
          inputs.silver().sourceZone()).orElseThrow();
      facts = PointInTime.resolve(facts, merges.get(ref.dimension()).read(), dimension.surrogateKey(),
          dimension.naturalKey(), ref.key(), asOf, ref.column());
    }
    for (String date : spec.dates()) {
      facts = facts.withColumn(FactSpec.dateKey(date), DateDimension.dateKey(dateOf(facts, date)));
    }
    List<String> output = spec.outputColumns(Arrays.asList(rows.columns()));
    return facts.select(output.stream().map(c -> col(Identifiers.quote(c))).toArray(Column[]::new));
  }

  private boolean sameColumns(String path, Dataset<Row> facts) {
    List<StructField> stored = Arrays.asList(spark.read().format("delta").load(path).schema().fields());
    List<StructField> computed = Arrays.asList(facts.schema().fields());
    if (stored.size() != computed.size()) {
      return false;
    }
    for (int i = 0; i < stored.size(); i++) {
      if (!stored.get(i).name().equals(computed.get(i).name())
          || !stored.get(i).dataType().equals(computed.get(i).dataType())) {
        return false;
      }
    }
    return true;
  }

  private Result rebuild(String path, Dataset<Row> facts, Commits.Tag tag) {
    Commits.tag(facts.write().format("delta").mode("overwrite").option("overwriteSchema", "true")
        .option(DeletionVectors.PROPERTY, DeletionVectors.forMergedTable(spark)), tag).save(path);
    long rows = Commits.rowsWritten(spark, path);
    return new Result(spec.name(), rows, 0, 0);
  }

  private Result merge(String path, Dataset<Row> facts, Dataset<Row> touched, Commits.Tag tag,
                       List<Dataset<Row>> persisted) {
    String[] grain = spec.grain().toArray(String[]::new);
    Dataset<Row> stored = spark.read().format("delta").load(path);
    Dataset<Row> storedTouched = touched == null ? stored : stored.join(touched, grain, "left_semi");
    Column[] columns = Arrays.stream(facts.columns()).map(c -> col(Identifiers.quote(c))).toArray(Column[]::new);
    Dataset<Row> upserts = facts.except(storedTouched.select(columns));
    Column[] grainColumns = spec.grain().stream().map(c -> col(Identifiers.quote(c))).toArray(Column[]::new);
    Dataset<Row> gone = storedTouched.select(grainColumns).join(facts.select(grainColumns), grain, "left_anti");
    Dataset<Row> existing = storedTouched.select(grainColumns).withColumn("_exists", lit(true));
    Dataset<Row> source = Cached.materialize(upserts.withColumn("_gone", lit(false))
        .unionByName(gone.withColumn("_gone", lit(true)), true)
        .join(existing, grain, "left"), persisted);
    Row counts = source.agg(
        sum(when(not(col("_gone")).and(col("_exists").isNull()), 1).otherwise(0)),
        sum(when(not(col("_gone")).and(col("_exists").isNotNull()), 1).otherwise(0)),
        sum(when(col("_gone"), 1).otherwise(0))).first();
    Result result = new Result(spec.name(), counts.isNullAt(0) ? 0 : counts.getLong(0),
        counts.isNullAt(1) ? 0 : counts.getLong(1), counts.isNullAt(2) ? 0 : counts.getLong(2));
    if (result.inserted() + result.updated() + result.deleted() == 0) {
      LOG.info("gold {}: the facts its changes touch are unchanged", spec.name());
      // Progress only, so the next run does not look at the same changes again.
      Commits.record(spark, path, tag);
      return result;
    }
    String on = spec.grain().stream().map(c -> "t." + Identifiers.quote(c) + " <=> s." + Identifiers.quote(c))
        .collect(Collectors.joining(" AND "));
    Map<String, String> assignments = new LinkedHashMap<>();
    for (String column : facts.columns()) {
      assignments.put(Identifiers.quote(column), "s." + Identifiers.quote(column));
    }
    DeletionVectors.beforeMerge(spark, path);
    Commits.run(spark, tag, () -> DeltaTable.forPath(spark, path).as("t")
        .merge(dev.lakehouse.spark.MergeSource.sized(source,
            result.inserted() + result.updated() + result.deleted()).as("s"), on)
        .whenMatched("s._gone").delete()
        .whenMatched().updateExpr(assignments)
        .whenNotMatched("NOT s._gone").insertExpr(assignments)
        .execute());
    return result;
  }
}
