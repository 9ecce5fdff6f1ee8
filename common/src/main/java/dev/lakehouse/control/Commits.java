package dev.lakehouse.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lakehouse.spark.DeltaSnapshots;
import dev.lakehouse.spark.SessionSettings;
import io.delta.tables.DeltaTable;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.DeltaHistoryManager$;
import org.apache.spark.sql.delta.DeltaLog;
import org.apache.spark.sql.delta.DeltaOperations;
import org.apache.spark.sql.delta.actions.Action;
import org.apache.spark.sql.delta.actions.CommitInfo;
import org.apache.spark.sql.delta.util.FileNames;
import org.apache.spark.sql.functions;

/**
 * The one owner of how the lakehouse commits to Delta. Every write is one commit carrying a
 * {@link Tag} in its user metadata: the layer, the table, the batch it holds or has applied, the
 * run, and any position a layer needs (gold's silver versions, a log sequence number). A layer's
 * progress therefore lives in the table itself and moves in the same atomic commit as its data.
 *
 * <p>An idempotent tag also sets Delta's idempotent-write transaction ({@code txnAppId} =
 * layer and table, {@code txnVersion} = batch): Delta skips a write of a batch the table already
 * committed, which is what makes a re-run after a crash between the commit and the control
 * tables harmless.
 *
 * <p>DML (MERGE, UPDATE, DELETE) can only be tagged through session settings; {@link #run} sets
 * them for the one statement and restores what was there before, so nested or surrounding
 * settings survive. Concurrent writers each use their own session ({@code spark.newSession()}).
 */
public final class Commits {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** How far back the history is searched for the last tagged commit (maintenance commits may follow it). */
  private static final int HISTORY_DEPTH = 50;
  private static final String USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata";
  private static final String TXN_APP_ID = "spark.databricks.delta.write.txnAppId";
  private static final String TXN_VERSION = "spark.databricks.delta.write.txnVersion";

  private Commits() {}

  /**
   * What a commit says about itself.
   *
   * @param batch the batch the commit holds (bronze) or has applied up to (silver, quarantine)
   * @param idempotent whether Delta must skip the commit if this layer already committed that batch
   * @param positions further positions the layer records (e.g. gold: {@code silver.orders} → version)
   */
  public record Tag(String layer, String table, long batch, String runId, boolean idempotent,
                    Map<String, String> positions) {

    public Tag {
      positions = Collections.unmodifiableMap(new LinkedHashMap<>(positions));
    }

    public static Tag idempotent(String layer, String table, long batch, String runId) {
      return new Tag(layer, table, batch, runId, true, Map.of());
    }

    public static Tag of(String layer, String table, long batch, String runId) {
      return new Tag(layer, table, batch, runId, false, Map.of());
    }

    public Tag with(Map<String, String> morePositions) {
      Map<String, String> all = new LinkedHashMap<>(positions);
      all.putAll(morePositions);
      return new Tag(layer, table, batch, runId, idempotent, all);
    }

    String appId() {
      return "lakehouse-" + layer + "-" + table;
    }

    String json() {
      ObjectNode node = JSON.createObjectNode();
      node.put("lakehouse", layer);
      node.put("table", table);
      node.put("batch_id", batch);
      node.put("run_id", runId);
      if (!positions.isEmpty()) {
        ObjectNode p = node.putObject("positions");
        positions.forEach(p::put);
      }
      return node.toString();
    }
  }

  /** A tagged commit read back from the table's history, with Delta's operation metrics. */
  public record Commit(long version, String layer, long batch, String runId, Map<String, String> positions,
                       Map<String, String> metrics) {

    public long metric(String name) {
      String value = metrics.get(name);
      return value == null ? 0 : Long.parseLong(value);
    }
  }

  /** A DataFrame write tagged as one commit (options, not session settings: safe under concurrency). */
  public static DataFrameWriter<Row> tag(DataFrameWriter<Row> writer, Tag tag) {
    DataFrameWriter<Row> tagged = writer.option("userMetadata", tag.json());
    if (tag.idempotent()) {
      tagged = tagged.option("txnAppId", tag.appId()).option("txnVersion", tag.batch());
    }
    return tagged;
  }

  /** Runs one DML statement as a tagged commit, restoring the session's previous settings afterwards. */
  public static <T> T run(SparkSession spark, Tag tag, Supplier<T> dml) {
    Map<String, Optional<String>> settings = new LinkedHashMap<>();
    settings.put(USER_METADATA, Optional.of(tag.json()));
    settings.put(TXN_APP_ID, tag.idempotent() ? Optional.of(tag.appId()) : Optional.empty());
    settings.put(TXN_VERSION, tag.idempotent() ? Optional.of(Long.toString(tag.batch())) : Optional.empty());
    return SessionSettings.with(spark, settings, dml);
  }

  public static void run(SparkSession spark, Tag tag, Runnable dml) {
    run(spark, tag, () -> {
      dml.run();
      return null;
    });
  }

  /**
   * Records {@code tag} in a commit that changes no data. A layer that read its input up to a new
   * position and found nothing to change in its table (changes already in a dimension's history,
   * facts a change touched that resolve as before) still moves its progress: otherwise every later
   * run would read the same, growing window again until some data changed. Delta skips empty
   * writes, so this is a transaction of its own, with no action. Positions only: an idempotent
   * tag's batch marks data that a re-run must not write twice, and here there is none.
   */
  public static void record(SparkSession spark, String path, Tag tag) {
    if (tag.idempotent()) {
      throw new IllegalArgumentException("a commit without data records positions, not an idempotent batch");
    }
    DeltaLog log = DeltaLog.forTable(spark, path);
    SparkSession active = SparkSession.getActiveSession().getOrElse(() -> null);
    // Delta's transaction takes its settings (the user metadata) from the active session.
    SparkSession.setActiveSession(spark);
    try {
      run(spark, tag, () -> {
        log.startTransaction().commit(scala.jdk.javaapi.CollectionConverters.asScala(List.<Action>of()).toSeq(),
            DeltaOperations.ManualUpdate$.MODULE$);
      });
    } finally {
      if (active == null) {
        SparkSession.clearActiveSession();
      } else {
        SparkSession.setActiveSession(active);
      }
    }
  }

  /** The table's last tagged commit, if it has one. */
  public static Optional<Commit> last(SparkSession spark, String path) {
    return last(spark, path, null);
  }

  /** The table's last commit tagged by {@code layer} (any layer when null). */
  public static Optional<Commit> last(SparkSession spark, String path, String layer) {
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return Optional.empty();
    }
    // The commit files themselves, newest first, read here: Delta's history manager reads them
    // in a Spark job (spark.range(...).mapPartitions), and a run asks this of every table it
    // touches, so those jobs were a good part of a run with nothing new.
    DeltaLog log = DeltaLog.forTable(spark, path);
    long latest = DeltaSnapshots.latest(log).version();
    Configuration conf = log.newDeltaHadoopConf();
    for (long version = latest; version >= 0 && version > latest - HISTORY_DEPTH; version--) {
      scala.Option<CommitInfo> info = commitInfo(log, conf, version, path);
      if (info == null) {
        break;
      }
      if (info.isEmpty() || info.get().userMetadata().isEmpty()) {
        continue;
      }
      Map<String, String> metrics = info.get().operationMetrics().isDefined()
          ? scala.jdk.javaapi.CollectionConverters.asJava(info.get().operationMetrics().get()) : Map.of();
      Optional<Commit> commit = parse(version, info.get().userMetadata().get(), metrics);
      if (commit.isPresent() && (layer == null || layer.equals(commit.get().layer()))) {
        return commit;
      }
    }
    return Optional.empty();
  }

  /**
   * One commit's information, or null when the log's clean-up already removed its file (nothing
   * older is left to search then).
   */
  private static scala.Option<CommitInfo> commitInfo(DeltaLog log, Configuration conf, long version, String path) {
    try {
      return DeltaHistoryManager$.MODULE$.getCommitInfoOpt(log.store(), FileNames.unsafeDeltaFile(log.logPath(), version),
          conf);
    } catch (Exception e) { // Scala declares no checked exceptions, yet throws them
      if (e instanceof FileNotFoundException) {
        return null;
      }
      throw e instanceof RuntimeException runtime ? runtime
          : new UncheckedIOException(new IOException("Cannot read the Delta log of " + path, e));
    }
  }

  /** The batch the table's last tagged commit holds or applied; 0 for a new or untagged table. */
  public static long lastBatch(SparkSession spark, String path) {
    return last(spark, path).map(Commit::batch).orElse(0L);
  }

  /** The rows the table's last tagged commit wrote, from its metrics; 0 for a new or untagged table. */
  public static long rowsWritten(SparkSession spark, String path) {
    return last(spark, path).map(c -> c.metric("numOutputRows")).orElse(0L);
  }

  /** The table's current version, if it is a Delta table. */
  public static OptionalLong version(SparkSession spark, String path) {
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(DeltaSnapshots.latest(spark, path).version());
  }

  /** A commit's tag from its user metadata, if it has one. */
  public static Optional<Commit> parse(long version, String metadata, Map<String, String> metrics) {
    if (metadata == null) {
      return Optional.empty();
    }
    try {
      JsonNode node = JSON.readTree(metadata);
      if (!node.has("batch_id")) {
        return Optional.empty();
      }
      Map<String, String> positions = new LinkedHashMap<>();
      JsonNode p = node.get("positions");
      if (p != null) {
        p.fields().forEachRemaining(e -> positions.put(e.getKey(), e.getValue().asText()));
      }
      return Optional.of(new Commit(version, node.path("lakehouse").asText(""), node.get("batch_id").asLong(),
          node.path("run_id").asText(""), positions, Map.copyOf(metrics)));
    } catch (JsonProcessingException e) {
      return Optional.empty();
    }
  }
}
