package dev.lakehouse.gold;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.control.Commits;
import dev.lakehouse.silver.SilverVersions;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.MartSpec;
import dev.lakehouse.spec.SqlRelations;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The marts: SQL over gold (and silver) tables, each rebuilt (overwritten) only when one of its
 * inputs has a new version since the mart was last built. Its commit records the versions it was
 * built from.
 */
final class Marts {

  private static final Logger LOG = LoggerFactory.getLogger(Marts.class);

  private final SparkSession spark;
  private final LakehousePaths paths;
  private final GoldInputs inputs;

  Marts(SparkSession spark, LakehousePaths paths, GoldInputs inputs) {
    this.spark = spark;
    this.paths = paths;
    this.inputs = inputs;
  }

  /** Rebuilds the mart if an input changed; returns its row count, or -1 when it was up to date. */
  long refresh(MartSpec mart, String runId) {
    Map<String, String> positions = new LinkedHashMap<>();
    Map<List<String>, String> bindings = new HashMap<>();
    List<String> views = new java.util.ArrayList<>();
    String suffix = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try {
      for (String input : mart.inputs()) {
        String[] parts = input.split("\\.", 2);
        if (parts[0].equals(LakehousePaths.GOLD)) {
          positions.put(input, Long.toString(inputs.goldVersion(parts[1])));
          bindings.put(List.of(parts[0], parts[1]), "delta." + Identifiers.quote(paths.gold(parts[1])));
        } else {
          SilverVersions.Position position = inputs.silver().position(parts[1]);
          positions.put(input, GoldInputs.encode(position));
          String view = "lakehouse_live_" + parts[1] + "_" + suffix;
          inputs.silver().live(parts[1]).drop("_is_deleted", "_deleted_at").createOrReplaceTempView(view);
          views.add(view);
          bindings.put(List.of(parts[0], parts[1]), Identifiers.quote(view));
        }
      }
      if (inputs.exists(mart.name()) && positions.equals(inputs.consumed(mart.name()))) {
        LOG.info("gold {}: inputs unchanged; not rebuilt", mart.name());
        return -1;
      }
      Dataset<Row> rows;
      try {
        rows = spark.sql(SqlRelations.bind(mart.query(), bindings));
      } catch (SqlRelations.Unparsable e) {
        throw new LakehouseException("lakehouse.gold.marts." + mart.name() + ": " + e.getMessage());
      } catch (RuntimeException e) {
        throw new LakehouseException("lakehouse.gold.marts." + mart.name() + ": the query fails: "
            + dev.lakehouse.Errors.describe(e), e);
      }
      Commits.tag(rows.write().format("delta").mode("overwrite").option("overwriteSchema", "true"),
          Commits.Tag.of(GoldInputs.LAYER, mart.name(), 0, runId).with(positions)).save(paths.gold(mart.name()));
      // The rows written, from the commit's own metrics: counting the mart again is a Spark job.
      return Commits.rowsWritten(spark, paths.gold(mart.name()));
    } finally {
      views.forEach(v -> spark.catalog().dropTempView(v));
    }
  }
}
