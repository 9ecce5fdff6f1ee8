package dev.lakehouse.gold;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.control.Commits;
import dev.lakehouse.silver.SilverVersions;
import dev.lakehouse.silver.SilverVersions.Position;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.SqlRelations;
import io.delta.tables.DeltaTable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * How a gold table knows what it has consumed: each of its commits records the positions of its
 * inputs ({@code silver.<t>} as {@code version:batch}, {@code gold.<t>} as a version) in the commit
 * metadata, through {@link Commits}. Its next run starts from there, so its progress moves with
 * its data. A run whose input did not move commits nothing; input that moved but changed nothing
 * in the table is recorded by a commit without data ({@link Commits#record}), so it is read once.
 */
final class GoldInputs {

  static final String LAYER = "gold";

  private final SparkSession spark;
  private final LakehousePaths paths;
  private final SilverVersions silver;

  GoldInputs(SparkSession spark, LakehousePaths paths, SilverVersions silver) {
    this.spark = spark;
    this.paths = paths;
    this.silver = silver;
  }

  SilverVersions silver() {
    return silver;
  }

  /** The positions recorded by the gold table's last commit (empty for a new table). */
  Map<String, String> consumed(String goldTable) {
    return Commits.last(spark, paths.gold(goldTable), LAYER).map(Commits.Commit::positions).orElse(Map.of());
  }

  static String silverKey(String table) {
    return "silver." + table;
  }

  static String goldKey(String table) {
    return "gold." + table;
  }

  static String encode(Position position) {
    return position.silverVersion() + ":" + position.bronzeBatch();
  }

  static Position decode(String value) {
    if (value == null) {
      return Position.NONE;
    }
    String[] parts = value.split(":");
    return new Position(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
  }

  /** A gold table's current Delta version, or -1 when it does not exist. */
  long goldVersion(String table) {
    OptionalLong version = Commits.version(spark, paths.gold(table));
    return version.orElse(-1);
  }

  /**
   * Runs {@code query} (Spark SQL over {@code silver.<table>}) with every such reference bound to
   * the table's live rows, and returns its rows. Temporary views carry the binding and are dropped
   * by {@link Bound#close}.
   */
  Bound bind(String where, String query) {
    Map<List<String>, String> views = new HashMap<>();
    List<String> created = new ArrayList<>();
    String suffix = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try {
      for (SqlRelations.Reference reference : SqlRelations.references(query)) {
        List<String> name = reference.name().stream().map(n -> n.toLowerCase(java.util.Locale.ROOT)).toList();
        if (name.size() == 2 && name.get(0).equals(LakehousePaths.SILVER) && !views.containsKey(name)) {
          String view = "lakehouse_live_" + name.get(1) + "_" + suffix;
          silver.live(reference.name().get(1)).drop("_is_deleted", "_deleted_at").createOrReplaceTempView(view);
          created.add(view);
          views.put(name, Identifiers.quote(view));
        }
      }
      return new Bound(spark, spark.sql(SqlRelations.bind(query, views)), created);
    } catch (SqlRelations.Unparsable e) {
      throw new LakehouseException(where + ": " + e.getMessage());
    } catch (RuntimeException e) {
      created.forEach(v -> spark.catalog().dropTempView(v));
      throw new LakehouseException(where + ": the query fails: " + dev.lakehouse.Errors.describe(e), e);
    }
  }

  /** A query's rows with the views that bind it; close to drop the views. */
  record Bound(SparkSession spark, Dataset<Row> rows, List<String> views) implements AutoCloseable {
    @Override
    public void close() {
      views.forEach(v -> spark.catalog().dropTempView(v));
    }
  }

  /** The positions to record for these silver inputs now. */
  Map<String, String> silverPositions(Iterable<String> tables, Map<String, Position> current) {
    Map<String, String> positions = new LinkedHashMap<>();
    for (String table : tables) {
      positions.put(silverKey(table), encode(current.get(table)));
    }
    return positions;
  }

  boolean exists(String goldTable) {
    return DeltaTable.isDeltaTable(spark, paths.gold(goldTable));
  }
}
