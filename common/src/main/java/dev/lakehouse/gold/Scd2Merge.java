package dev.lakehouse.gold;

import static dev.lakehouse.gold.Scd2Columns.BEGINNING;
import static dev.lakehouse.gold.Scd2Columns.CHANGE_TIME;
import static dev.lakehouse.gold.Scd2Columns.DELETE_EVENT;
import static dev.lakehouse.gold.Scd2Columns.FAR_FUTURE;
import static dev.lakehouse.gold.Scd2Columns.IS_CURRENT;
import static dev.lakehouse.gold.Scd2Columns.IS_DELETED;
import static dev.lakehouse.gold.Scd2Columns.IS_INFERRED;
import static dev.lakehouse.gold.Scd2Columns.ROW_HASH;
import static dev.lakehouse.gold.Scd2Columns.UNKNOWN_SK;
import static dev.lakehouse.gold.Scd2Columns.VALID_FROM;
import static dev.lakehouse.gold.Scd2Columns.VALID_TO;
import static dev.lakehouse.gold.Scd2Columns.quote;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count_if;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.first;
import static org.apache.spark.sql.functions.lag;
import static org.apache.spark.sql.functions.lead;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.control.Commits;
import dev.lakehouse.spark.DeletionVectors;
import dev.lakehouse.spark.DeltaSnapshots;
import dev.lakehouse.spark.TypeWidening;
import io.delta.tables.DeltaTable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Maintains one SCD Type 2 dimension (a Delta table) from a feed of source changes.
 *
 * <p>Each {@link #apply} recomputes the whole history of every key in the batch: the key's stored
 * rows and the new changes become one time-ordered list of events, equal neighbours collapse,
 * deletes become tombstone rows, and each row ends where the next begins. The result is written
 * with a single MERGE on the surrogate key, so a run commits completely or not at all, and a rerun
 * of the same input finds nothing to change.
 *
 * <p>When the changes say when the lakehouse observed them ({@value Scd2Columns#OBSERVED_AT}),
 * history also respects the order of observation: a version or delete observed after another
 * (stored rows were all observed before the new changes) never starts at or before it, and is
 * moved to 1 µs after it instead. This is what keeps a key revived after a delete current (its
 * re-insert may carry a change time older than the moment the delete was seen), and a late
 * commit with an older stamp after the version it replaced. Without that column, history is
 * ordered by change time alone (late versions take their place in history).
 *
 * <p>One writer per dimension at a time (the lakehouse lock): new surrogate keys continue from the
 * maximum read at the start of the run.
 */
public final class Scd2Merge {

  private static final Logger LOG = LoggerFactory.getLogger(Scd2Merge.class);

  // Working columns of the staging pipeline; the prefix keeps them apart from source columns.
  private static final String T = "_scd2_t";
  private static final String DELETED = "_scd2_deleted";
  private static final String HASH = "_scd2_hash";
  private static final String STORED = "_scd2_stored";
  private static final String INFERRED = "_scd2_inferred";
  private static final String EXISTING = "_scd2_existing";
  private static final String OVERWRITE = "_scd2_overwrite";
  private static final String PREV = "_scd2_prev";
  private static final String NEXT = "_scd2_next";
  private static final String KEEP = "_scd2_keep";
  private static final String COMPLETES = "_scd2_completes";
  private static final String RUN = "_scd2_run";
  private static final String RUN_STORED = "_scd2_run_stored";
  private static final String RANK = "_scd2_rank";
  private static final String OBS = "_scd2_obs";
  /** In the dimension's commits: the latest observation time it has applied. */
  static final String OBSERVED_UNTIL = "observed_until";
  private static final String NEW = "_scd2_new";

  private final SparkSession spark;
  private final String path;
  private final Scd2Spec spec;

  public Scd2Merge(SparkSession spark, String path, Scd2Spec spec) {
    this.spark = spark;
    this.path = path;
    this.spec = spec;
  }

  /**
   * Whether the table's change data feed is on, so a reader can take what changed after a version
   * it has read. A dimension created before the feed was used gets it enabled now (and this
   * answers false, once: that reader reads the dimension whole this time).
   */
  static boolean changeFeedOn(SparkSession spark, String path) {
    return dev.lakehouse.spark.TableProperties.ensure(spark, path, "delta.enableChangeDataFeed", "true");
  }

  public boolean exists() {
    return DeltaTable.isDeltaTable(spark, path);
  }

  public Dataset<Row> read() {
    return spark.read().format("delta").load(path);
  }

  /**
   * Creates the dimension, holding only the unknown member, unless it exists. {@code columnTypes}
   * supplies the types of the natural key and attribute columns (a silver table's or change feed's
   * schema will do; other columns are ignored).
   */
  public void createIfMissing(StructType columnTypes) {
    if (exists()) {
      return;
    }
    // One commit creates the table with its unknown member: there is never a dimension without it.
    // Change data feed: the facts that use the dimension read which members changed from it.
    unknownMember(spark, spec, columnTypes)
        .write().format("delta").mode(SaveMode.ErrorIfExists).option("delta.enableChangeDataFeed", "true")
        .option(DeletionVectors.PROPERTY, DeletionVectors.forMergedTable(spark)).save(path);
    LOG.info("Created dimension {} at {}", spec.name(), path);
  }

  /** The unknown member (surrogate key -1) as one row: the dimension's first row, and its shape. */
  static Dataset<Row> unknownMember(SparkSession spark, Scd2Spec spec, StructType columnTypes) {
    List<Column> unknown = new ArrayList<>();
    unknown.add(lit(UNKNOWN_SK).as(spec.surrogateKey()));
    for (String column : keyAndAttributes(spec)) {
      unknown.add(lit(null).cast(Scd2Columns.field(columnTypes, column).dataType()).as(column));
    }
    unknown.add(lit(BEGINNING).as(VALID_FROM));
    unknown.add(lit(FAR_FUTURE).as(VALID_TO));
    unknown.add(lit(true).as(IS_CURRENT));
    unknown.add(lit(false).as(IS_DELETED));
    unknown.add(lit(false).as(IS_INFERRED));
    Dataset<Row> member = spark.range(1).select(unknown.toArray(Column[]::new));
    return member.withColumn(ROW_HASH, expr(Scd2Columns.rowHashSql(spec.tracked(), member.schema())));
  }

  /** The table property that records which attributes a dimension's versions track. */
  static final String TRACKED_PROPERTY = "lakehouse.scd2.tracked";

  /**
   * How the stored dimension differs from its specification, or empty when it does not: an
   * attribute added or dropped, or one moved between tracked and overwrite. Its versions were cut
   * by the tracked attributes it was built with, so none of these can change in place: stored
   * versions hold no value for a new attribute, and the stored row hashes cover the old tracked
   * set, so every member that changes would open a spurious version. A dimension built before
   * its tracked set was recorded has it recorded now.
   */
  public Optional<String> shapeChange() {
    List<String> stored = Arrays.stream(read().columns()).map(c -> c.toLowerCase(java.util.Locale.ROOT))
        .filter(c -> !Scd2Columns.OWN.contains(c) && !c.equals(spec.surrogateKey().toLowerCase(java.util.Locale.ROOT)))
        .toList();
    List<String> wanted = keyAndAttributes().stream().map(c -> c.toLowerCase(java.util.Locale.ROOT)).toList();
    List<String> added = wanted.stream().filter(c -> !stored.contains(c)).toList();
    List<String> dropped = stored.stream().filter(c -> !wanted.contains(c)).toList();
    if (!added.isEmpty() || !dropped.isEmpty()) {
      return Optional.of((added.isEmpty() ? "" : "it has no column " + String.join(", ", added))
          + (!added.isEmpty() && !dropped.isEmpty() ? ", and " : "")
          + (dropped.isEmpty() ? "" : "it holds " + String.join(", ", dropped) + ", which is no longer configured"));
    }
    String tracked = String.join(",", spec.tracked().stream().map(c -> c.toLowerCase(java.util.Locale.ROOT)).toList());
    String recorded = dev.lakehouse.spark.TableProperties.get(spark, path, TRACKED_PROPERTY);
    if (recorded == null) {
      dev.lakehouse.spark.TableProperties.ensure(spark, path, TRACKED_PROPERTY, tracked);
    } else if (!recorded.equals(tracked)) {
      return Optional.of("its versions track [" + recorded.replace(",", ", ") + "], the configuration tracks ["
          + tracked.replace(",", ", ") + "]");
    }
    return Optional.empty();
  }

  /**
   * Applies a batch of source changes: the natural key, tracked and overwrite columns,
   * {@value Scd2Columns#CHANGE_TIME} (TIMESTAMP, when the source changed) and
   * {@value Scd2Columns#DELETE_EVENT} (BOOLEAN). Creates the dimension on first use.
   */
  public Scd2Result apply(Dataset<Row> changes) {
    return apply(changes, Optional.empty());
  }

  /**
   * As {@link #apply(Dataset)}, committing with {@code tag} (see {@link Commits}); nothing is
   * committed when the changes change nothing. Observed changes are applied once: the commit records the latest
   * observation it applied, and a later apply leaves out what was observed at or before it.
   */
  public Scd2Result apply(Dataset<Row> changes, Optional<Commits.Tag> tag) {
    createIfMissing(changes.schema());
    boolean observed = Arrays.asList(changes.columns()).contains(Scd2Columns.OBSERVED_AT);
    // A source column widened (int to bigint): the dimension's column follows before anything is cast to it.
    StructType incoming = new StructType();
    for (String column : keyAndAttributes()) {
      incoming = incoming.add(Scd2Columns.field(changes.schema(), column));
    }
    TypeWidening.follow(spark, path, read().schema(), incoming);
    Dataset<Row> dimension = read();
    StructType dimensionSchema = dimension.schema();
    List<Column> inputColumns = new ArrayList<>();
    for (String column : keyAndAttributes()) {
      // The dimension's types, so hashes compare equal whatever integer width the feed uses.
      inputColumns.add(col(quote(column)).cast(Scd2Columns.field(dimensionSchema, column).dataType()).as(column));
    }
    inputColumns.add(col(CHANGE_TIME).cast(DataTypes.TimestampType).as(CHANGE_TIME));
    inputColumns.add(col(DELETE_EVENT).cast(DataTypes.BooleanType).as(DELETE_EVENT));
    if (observed) {
      inputColumns.add(col(Scd2Columns.OBSERVED_AT).cast(DataTypes.TimestampType).as(Scd2Columns.OBSERVED_AT));
    }
    Dataset<Row> selected = changes.select(inputColumns.toArray(Column[]::new));
    Optional<String> appliedUntil = Optional.empty();
    if (observed) {
      // Observed changes are applied once: what this dimension already applied is left out.
      appliedUntil = Commits.last(spark, path).map(c -> c.positions().get(OBSERVED_UNTIL));
      if (appliedUntil.isPresent()) {
        selected = selected.where(col(Scd2Columns.OBSERVED_AT).gt(lit(java.sql.Timestamp.from(
            java.time.Instant.parse(appliedUntil.get())))));
      }
    }
    Dataset<Row> batch = selected.persist(StorageLevel.MEMORY_AND_DISK());
    try {
      if (validate(batch) == 0) {
        // Observed changes: what was applied before stays applied.
        Optional<String> until = appliedUntil;
        return nothing(observed && until.isPresent()
            ? tag.map(t -> t.with(java.util.Map.of(OBSERVED_UNTIL, until.get()))) : tag);
      }
      if (observed) {
        java.sql.Timestamp until = batch.agg(max(col(Scd2Columns.OBSERVED_AT))).first().getTimestamp(0);
        Commits.Tag base = tag.orElseGet(() -> Commits.Tag.of("gold", spec.name(), 0, "scd2"));
        tag = Optional.of(base.with(java.util.Map.of(OBSERVED_UNTIL, until.toInstant().toString())));
      }
      long maxSk = maxSurrogateKey(dimension);
      Dataset<Row> timeline = timeline(dimension, batch, observed).persist(StorageLevel.MEMORY_AND_DISK());
      try {
        Column isNew = col(KEEP).and(col(RUN_STORED).isNull());
        Column sk = col(STORED).getField(spec.surrogateKey());
        Row counts = timeline.agg(
            count_if(col(EXISTING).and(col(RUN).equalTo(0).or(sk.notEqual(col(RUN_STORED).getField(spec.surrogateKey()))))),
            count_if(isNew.and(not(col(DELETED)))),
            count_if(isNew.and(col(DELETED))),
            count_if(col(COMPLETES))).first();
        if (counts.getLong(0) > 0) {
          // Would leave stale rows behind; only possible if the stored history already breaks the invariants.
          throw new IllegalStateException(spec.name() + ": " + counts.getLong(0)
              + " existing rows would be dropped from history; check Scd2Invariants on " + path);
        }
        List<Dataset<Row>> held = new ArrayList<>();
        long updated;
        try {
          Dataset<Row> staged = dev.lakehouse.spark.Cached.materialize(staged(timeline, maxSk), held);
          long stagedRows = staged.count();
          // Released before the MERGE writes the dimension it reads (see Cached.materialize).
          timeline.unpersist();
          if (stagedRows == 0) {
            LOG.info("Dimension {}: its changes are already in its history", spec.name());
            return nothing(tag);
          }
          Dataset<Row> source = dev.lakehouse.spark.MergeSource.sized(staged, stagedRows);
          updated = tag.isPresent() ? Commits.run(spark, tag.get(), () -> merge(source)) : merge(source);
        } finally {
          dev.lakehouse.spark.Cached.release(held);
        }
        Scd2Result result = new Scd2Result(counts.getLong(1), counts.getLong(2), updated, counts.getLong(3));
        LOG.info("Dimension {}: {} versions and {} tombstones added, {} rows updated, {} inferred members completed",
            spec.name(), result.versionsInserted(), result.tombstonesAdded(), result.rowsUpdated(), result.inferredCompleted());
        return result;
      } finally {
        timeline.unpersist();
      }
    } finally {
      batch.unpersist();
    }
  }

  /**
   * Nothing to merge: a tag is still recorded ({@link Commits#record}), so the dimension's progress
   * moves past changes that were already in its history and the next run does not read them again.
   */
  private Scd2Result nothing(Optional<Commits.Tag> tag) {
    tag.ifPresent(t -> Commits.record(spark, path, t));
    return Scd2Result.NOTHING;
  }

  /**
   * Late-arriving dimension members: every non-NULL natural key in {@code naturalKeys} (e.g. the
   * foreign keys of a fact batch) that the dimension has never seen gets an inferred member, valid
   * from {@link Scd2Columns#BEGINNING}, so facts keep a real key. Its attributes are completed in
   * place when the key's first real version arrives. Returns the number of members added.
   */
  public long ensureMembers(Dataset<Row> naturalKeys) {
    return ensureMembers(naturalKeys, Optional.empty());
  }

  /** As {@link #ensureMembers(Dataset)}, committing with {@code tag}; nothing is committed when no key is missing. */
  public long ensureMembers(Dataset<Row> naturalKeys, Optional<Commits.Tag> tag) {
    if (!exists()) {
      throw new IllegalStateException(spec.name() + ": no dimension at " + path + " yet; createIfMissing first");
    }
    Dataset<Row> dimension = read();
    StructType schema = dimension.schema();
    List<Column> typedKey = new ArrayList<>();
    Column keyPresent = lit(true);
    for (String column : spec.naturalKey()) {
      typedKey.add(col(quote(column)).cast(Scd2Columns.field(schema, column).dataType()).as(column));
      keyPresent = keyPresent.and(col(quote(column)).isNotNull());
    }
    // Materialized, not cached: it reads the dimension the MERGE below writes (see Cached.materialize).
    List<Dataset<Row>> held = new ArrayList<>();
    try {
      Dataset<Row> missing = dev.lakehouse.spark.Cached.materialize(naturalKeys.select(typedKey.toArray(Column[]::new))
          .where(keyPresent).distinct()
          .join(dimension.select(columns(spec.naturalKey())), seq(spec.naturalKey()), "left_anti"), held);
      if (missing.isEmpty()) {
        return 0;
      }
      return addInferred(dimension, schema, missing, tag);
    } finally {
      dev.lakehouse.spark.Cached.release(held);
    }
  }

  private long addInferred(Dataset<Row> dimension, StructType schema, Dataset<Row> missing, Optional<Commits.Tag> tag) {

    List<Column> member = new ArrayList<>();
    member.add(lit(maxSurrogateKey(dimension)).plus(row_number().over(Window.orderBy(columns(spec.naturalKey()))))
        .as(spec.surrogateKey()));
    member.addAll(List.of(columns(spec.naturalKey())));
    for (String column : spec.attributes()) {
      member.add(lit(null).cast(Scd2Columns.field(schema, column).dataType()).as(column));
    }
    member.add(lit(BEGINNING).as(VALID_FROM));
    member.add(lit(FAR_FUTURE).as(VALID_TO));
    member.add(lit(true).as(IS_CURRENT));
    member.add(lit(false).as(IS_DELETED));
    member.add(lit(true).as(IS_INFERRED));
    member.add(expr(Scd2Columns.rowHashSql(spec.tracked(), schema)).as(ROW_HASH));

    // On the natural key, not the surrogate key: a key that appeared since the anti-join is not added twice.
    Column sameKey = lit(true);
    for (String column : spec.naturalKey()) {
      sameKey = sameKey.and(col("t." + quote(column)).equalTo(col("s." + quote(column))));
    }
    Column condition = sameKey;
    DeletionVectors.beforeMerge(spark, path);
    java.util.function.Supplier<Row> insert = () -> DeltaTable.forPath(spark, path).as("t")
        .merge(missing.select(member.toArray(Column[]::new)).as("s"), condition)
        .whenNotMatched().insertAll()
        .execute().first();
    Row metrics = tag.isPresent() ? Commits.run(spark, tag.get(), insert) : insert.get();
    long added = metrics.getLong(metrics.fieldIndex("num_inserted_rows"));
    LOG.info("Dimension {}: {} inferred members added", spec.name(), added);
    return added;
  }

  /**
   * The point-in-time join condition between facts and a Type 2 dimension: the keys match and the
   * fact's time falls in the version's half-open interval [valid_from, valid_to).
   */
  public static Column pointInTime(
      List<Column> factKey, Column factTime, List<Column> dimensionKey, Column validFrom, Column validTo) {
    if (factKey.size() != dimensionKey.size()) {
      throw new IllegalArgumentException("fact key " + factKey + " and dimension key " + dimensionKey + " differ in length");
    }
    Column condition = factTime.geq(validFrom).and(factTime.lt(validTo));
    for (int i = 0; i < factKey.size(); i++) {
      condition = factKey.get(i).equalTo(dimensionKey.get(i)).and(condition);
    }
    return condition;
  }

  /**
   * {@code facts} with {@code surrogateKeyColumn} added: the surrogate key of the version valid at
   * {@code factTimeColumn}, or the unknown member ({@value Scd2Columns#UNKNOWN_SK}) when the key is
   * NULL or no version covers that time. {@code factKey} names the fact's columns holding the
   * natural key, in the spec's order.
   */
  public Dataset<Row> lookupSurrogateKey(
      Dataset<Row> facts, List<String> factKey, String factTimeColumn, String surrogateKeyColumn) {
    // Prefixed copies of the dimension columns, so nothing in the join is ambiguous.
    List<Column> dimensionSide = new ArrayList<>();
    List<Column> dimensionKey = new ArrayList<>();
    dimensionSide.add(col(quote(spec.surrogateKey())).as("_dim_sk"));
    for (int i = 0; i < spec.naturalKey().size(); i++) {
      dimensionSide.add(col(quote(spec.naturalKey().get(i))).as("_dim_key" + i));
      dimensionKey.add(col("_dim_key" + i));
    }
    dimensionSide.add(col(VALID_FROM).as("_dim_valid_from"));
    dimensionSide.add(col(VALID_TO).as("_dim_valid_to"));
    Dataset<Row> versions = read().where(col(quote(spec.surrogateKey())).notEqual(UNKNOWN_SK))
        .select(dimensionSide.toArray(Column[]::new));

    List<Column> factKeyColumns = factKey.stream().map(c -> facts.col(quote(c))).toList();
    Column on = pointInTime(factKeyColumns, facts.col(quote(factTimeColumn)), dimensionKey,
        col("_dim_valid_from"), col("_dim_valid_to"));
    List<Column> output = new ArrayList<>();
    for (String column : facts.columns()) {
      output.add(facts.col(quote(column)));
    }
    output.add(coalesce(col("_dim_sk"), lit(UNKNOWN_SK)).as(surrogateKeyColumn));
    return facts.join(versions, on, "left").select(output.toArray(Column[]::new));
  }

  /** Rejects rows the history cannot place; returns the number of rows. */
  private long validate(Dataset<Row> batch) {
    Column keyMissing = lit(false);
    for (String column : spec.naturalKey()) {
      keyMissing = keyMissing.or(col(quote(column)).isNull());
    }
    Column time = col(CHANGE_TIME);
    Row r = batch.agg(
        count_if(lit(true)),
        count_if(keyMissing),
        // BEGINNING belongs to inferred members, FAR_FUTURE marks open intervals.
        count_if(time.isNull().or(time.leq(lit(BEGINNING))).or(time.geq(lit(FAR_FUTURE)))),
        count_if(col(DELETE_EVENT).isNull())).first();
    if (r.getLong(1) + r.getLong(2) + r.getLong(3) > 0) {
      throw new IllegalArgumentException(spec.name() + ": change batch rejected: " + r.getLong(1)
          + " rows with a NULL natural key, " + r.getLong(2) + " with " + CHANGE_TIME
          + " NULL or outside (" + BEGINNING + ", " + FAR_FUTURE + "), " + r.getLong(3) + " with " + DELETE_EVENT + " NULL");
    }
    return r.getLong(0);
  }

  /**
   * The largest surrogate key in the dimension, from its files' statistics: the snapshot's file
   * list, which the MERGE that follows reads anyway, instead of a scan of every row. A file's
   * maximum also covers rows a deletion vector hides, so this can exceed the largest live key;
   * new keys only need to be larger than every key used, so a gap is harmless. When a file has no
   * statistics for the key (written with statistics off), the rows are scanned.
   */
  private long maxSurrogateKey(Dataset<Row> dimension) {
    Dataset<Row> files = DeltaSnapshots.latest(spark, path).withStats();
    Column fileMax = col("stats").getField("maxValues").getField(spec.surrogateKey());
    Row r = files.agg(max(fileMax), count_if(fileMax.isNull())).first();
    if (r.getLong(1) > 0) {
      r = dimension.agg(max(col(quote(spec.surrogateKey())))).first();
    }
    return r.isNullAt(0) ? 0 : Math.max(0, ((Number) r.get(0)).longValue());
  }

  /**
   * Every stored row and new change of the batch's keys as one event list, one event per key and
   * instant, with each event marked as kept (starts a row) or absorbed (changes nothing), and each
   * kept row's run (itself plus the events it absorbed) tied to the stored row whose surrogate key
   * it keeps.
   */
  private Dataset<Row> timeline(Dataset<Row> dimension, Dataset<Row> batch, boolean observed) {
    Column[] key = columns(spec.naturalKey());
    String rowHash = Scd2Columns.rowHashSql(spec.tracked(), batch.schema());
    Dataset<Row> stored = dimension.where(col(quote(spec.surrogateKey())).notEqual(UNKNOWN_SK))
        .join(batch.select(key).distinct(), seq(spec.naturalKey()), "left_semi");
    // Hashes are recomputed for stored rows too, so a change in the hash definition cannot fake a change.
    Dataset<Row> events = events(stored, col(VALID_FROM), col(IS_DELETED), expr(rowHash), col(IS_INFERRED), true)
        .unionByName(events(batch, col(CHANGE_TIME), col(DELETE_EVENT), expr(rowHash), lit(false), false), true);
    WindowSpec byKey = Window.partitionBy(key);
    if (observed) {
      events = inObservationOrder(events, key, batch);
    }

    if (!spec.overwrite().isEmpty()) {
      // Type 1 values come from the newest version in the batch, unless a stored row is at least as
      // new: the stored values were then set by a change no older than that row.
      List<Column> newestFirst = new ArrayList<>(List.of(
          col(EXISTING).or(not(col(DELETED))).desc(), col(T).desc(), col(EXISTING).desc(), col(HASH).desc()));
      spec.overwrite().forEach(c -> newestFirst.add(col(quote(c)).desc()));
      events = events.withColumn(OVERWRITE,
          first(struct(columns(spec.overwrite()))).over(byKey.orderBy(newestFirst.toArray(Column[]::new))));
    }

    // One event per key and instant: what is stored stays (first writer wins, which also makes
    // reruns no-ops); within the batch a delete beats a version, then the larger hash, arbitrary but stable.
    List<Column> instant = new ArrayList<>(List.of(key));
    instant.add(col(T));
    Dataset<Row> resolved = events
        .withColumn(RANK, row_number().over(Window.partitionBy(instant.toArray(Column[]::new))
            .orderBy(col(EXISTING).desc(), col(DELETED).desc(), col(HASH).desc())))
        .where(col(RANK).equalTo(1))
        .drop(RANK);

    WindowSpec inOrder = byKey.orderBy(col(T));
    Dataset<Row> neighbours = resolved
        .withColumn(PREV, lag(struct(col(DELETED).as("deleted"), col(HASH).as("hash"), col(INFERRED).as("inferred")), 1)
            .over(inOrder))
        .withColumn(NEXT, lead(struct(col(DELETED).as("deleted"), col(HASH).as("hash"),
            struct(columns(spec.tracked())).as("tracked")), 1).over(inOrder));

    Column first = col(PREV).isNull();
    Column afterDelete = col(PREV + ".deleted");
    // A delete matters only if something is live; a version only if it differs from what is live,
    // and the first version after an inferred member completes that member instead of starting a row.
    Column keep = when(col(DELETED), not(first).and(not(afterDelete)))
        .otherwise(first.or(afterDelete)
            .or(not(col(PREV + ".inferred")).and(not(col(HASH).eqNullSafe(col(PREV + ".hash"))))));
    Column completes = coalesce(col(INFERRED).and(not(col(NEXT + ".deleted"))), lit(false));

    List<Column> marked = new ArrayList<>(List.of(key));
    for (String column : spec.tracked()) {
      marked.add(when(completes, col(NEXT + ".tracked").getField(column)).otherwise(col(quote(column))).as(column));
    }
    marked.add(when(completes, col(NEXT + ".hash")).otherwise(col(HASH)).as(HASH));
    marked.add(col(INFERRED).and(not(completes)).as(INFERRED));
    marked.add(completes.as(COMPLETES));
    marked.add(keep.as(KEEP));
    Stream.of(T, DELETED, STORED, EXISTING).forEach(c -> marked.add(col(c)));
    if (!spec.overwrite().isEmpty()) {
      marked.add(col(OVERWRITE));
    }
    List<Column> runKey = new ArrayList<>(List.of(key));
    runKey.add(col(RUN));
    return neighbours.select(marked.toArray(Column[]::new))
        .withColumn(RUN, sum(when(col(KEEP), 1).otherwise(0))
            .over(inOrder.rowsBetween(Window.unboundedPreceding(), Window.currentRow())))
        // A kept row replaces the stored row in its run and keeps its surrogate key, e.g. a successor
        // whose valid_from moves earlier because a late version equal to it arrived.
        .withColumn(RUN_STORED, first(col(STORED), true).over(Window.partitionBy(runKey.toArray(Column[]::new))));
  }

  /**
   * Moves each event to at least 1 µs after every event observed before it: stored rows first (in
   * time order, which they keep), then the new changes by observation time, then change time. In
   * that order the time becomes {@code position + max(time - position)} so far (microseconds): a
   * running maximum that leaves times already in order as they are.
   */
  private Dataset<Row> inObservationOrder(Dataset<Row> events, Column[] key, Dataset<Row> batch) {
    Column order = functions.row_number().over(Window.partitionBy(key)
        .orderBy(col(NEW).asc(), col(OBS).asc_nulls_first(), col(T).asc(), col(DELETED).asc()));
    WindowSpec upToHere = Window.partitionBy(key).orderBy(col(RANK))
        .rowsBetween(Window.unboundedPreceding(), Window.currentRow());
    return events
        .withColumn(RANK, order.cast(DataTypes.LongType))
        .withColumn(T, functions.timestamp_micros(col(RANK).plus(
            functions.max(functions.unix_micros(col(T)).minus(col(RANK))).over(upToHere))))
        .drop(RANK, OBS, NEW);
  }

  private Dataset<Row> events(Dataset<Row> rows, Column time, Column deleted, Column rowHash, Column inferred,
      boolean existing) {
    List<Column> event = new ArrayList<>(List.of(columns(keyAndAttributes())));
    event.add(time.as(T));
    event.add(deleted.as(DELETED));
    // A delete has no attributes of its own; its tombstone copies the version it closes.
    event.add(when(deleted, lit(null).cast(DataTypes.StringType)).otherwise(rowHash).as(HASH));
    event.add(inferred.as(INFERRED));
    event.add(lit(existing).as(EXISTING));
    event.add(lit(!existing).as(NEW));
    event.add((!existing && Arrays.asList(rows.columns()).contains(Scd2Columns.OBSERVED_AT)
        ? col(Scd2Columns.OBSERVED_AT) : lit(null).cast(DataTypes.TimestampType)).as(OBS));
    if (existing) {
      // The whole stored row, to reuse its surrogate key and to skip it if it ends up unchanged.
      event.add(struct(columns(spec.dimensionColumns())).as(STORED));
    }
    return rows.select(event.toArray(Column[]::new));
  }

  /** The rows of the batch's keys that this run adds or changes, as they must be after it. */
  private Dataset<Row> staged(Dataset<Row> timeline, long maxSk) {
    Column[] key = columns(spec.naturalKey());
    WindowSpec inOrder = Window.partitionBy(key).orderBy(col(T));
    List<Column> keyThenTime = new ArrayList<>(List.of(key));
    keyThenTime.add(col(T));
    Column newRow = col(RUN_STORED).isNull();

    // Deterministic, so a run repeated after a crash before the commit assigns the same keys.
    Column nextKey = lit(maxSk).plus(
        row_number().over(Window.partitionBy(newRow).orderBy(keyThenTime.toArray(Column[]::new))));
    List<Column> row = new ArrayList<>();
    row.add(when(newRow, nextKey).otherwise(col(RUN_STORED).getField(spec.surrogateKey())).as(spec.surrogateKey()));
    row.addAll(List.of(key));
    for (String column : spec.tracked()) {
      row.add(when(col(DELETED), lag(col(quote(column)), 1).over(inOrder)).otherwise(col(quote(column))).as(column));
    }
    for (String column : spec.overwrite()) {
      row.add(col(OVERWRITE).getField(column).as(column));
    }
    row.add(col(T).as(VALID_FROM));
    row.add(coalesce(lead(col(T), 1).over(inOrder), lit(FAR_FUTURE)).as(VALID_TO));
    row.add(col(DELETED).as(IS_DELETED));
    row.add(col(INFERRED).as(IS_INFERRED));
    row.add(when(col(DELETED), lag(col(HASH), 1).over(inOrder)).otherwise(col(HASH)).as(ROW_HASH));
    row.add(col(RUN_STORED));

    List<Column> ordered = new ArrayList<>();
    for (String column : spec.dimensionColumns()) {
      ordered.add(column.equals(IS_CURRENT)
          ? col(VALID_TO).equalTo(lit(FAR_FUTURE)).and(not(col(IS_DELETED))).as(IS_CURRENT)
          : col(quote(column)));
    }
    ordered.add(col(RUN_STORED));
    // Only new and changed rows: Delta rewrites every file holding a matched row, changed or not.
    return timeline.where(col(KEEP)).select(row.toArray(Column[]::new)).select(ordered.toArray(Column[]::new))
        .where(newRow.or(differs(c -> col(quote(c)), c -> col(RUN_STORED).getField(c))))
        .select(columns(spec.dimensionColumns()));
  }

  /** One MERGE for the whole run; returns the number of stored rows it rewrote. */
  private long merge(Dataset<Row> staged) {
    String sk = quote(spec.surrogateKey());
    DeletionVectors.beforeMerge(spark, path);
    Row metrics = DeltaTable.forPath(spark, path).as("t")
        .merge(staged.as("s"), col("t." + sk).equalTo(col("s." + sk)))
        // Staging already dropped unchanged rows; the MERGE does not rely on it.
        .whenMatched(differs(c -> col("t." + quote(c)), c -> col("s." + quote(c)))).updateAll()
        .whenNotMatched().insertAll()
        .execute().first();
    return metrics.getLong(metrics.fieldIndex("num_updated_rows"));
  }

  /** Whether two versions of one row differ in any column (NULL equals NULL). */
  private Column differs(Function<String, Column> one, Function<String, Column> other) {
    Column differs = lit(false);
    for (String column : spec.dimensionColumns()) {
      differs = differs.or(not(one.apply(column).eqNullSafe(other.apply(column))));
    }
    return differs;
  }

  private List<String> keyAndAttributes() {
    return keyAndAttributes(spec);
  }

  private static List<String> keyAndAttributes(Scd2Spec spec) {
    List<String> all = new ArrayList<>(spec.naturalKey());
    all.addAll(spec.attributes());
    return all;
  }

  private static Column[] columns(List<String> names) {
    return names.stream().map(n -> col(quote(n))).toArray(Column[]::new);
  }

  static scala.collection.immutable.Seq<String> seq(List<String> names) {
    return CollectionConverters.asScala(names).toSeq();
  }
}
