package dev.lakehouse.testing;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import io.delta.tables.DeltaTable;
import java.util.List;

/**
 * For the engine's own tests: a specification built from the engine's defaults
 * ({@code reference.conf}) and the HOCON a test gives, never from {@code conf/} (the example
 * source's tables), pointed at this class's database (or another one) and at a lakehouse root of
 * the test's own under {@link #lakehouseRoot}.
 */
public abstract class EngineTestBase extends LakehouseTestBase {

  /** {@code lakehouse { ... }} settings in HOCON, over a root named {@code root} and this class's database. */
  protected static LakehouseSpec spec(String root, String hocon) {
    return specOn(sourceUrl(), root, hocon);
  }

  /** The same on another database of the shared server. */
  protected static LakehouseSpec specIn(String database, String root, String hocon) {
    return specOn(urlOf(database), root, hocon);
  }

  private static LakehouseSpec specOn(String url, String root, String hocon) {
    String base = """
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres, password = "" }
          spark.conf {
            "spark.sql.shuffle.partitions" = "2"
            "spark.databricks.delta.snapshotPartitions" = "1"
          }
        }
        """.formatted(lakehouseRoot.resolve(root), url);
    return LakehouseConfig.of(ConfigFactory.parseString(base + "lakehouse {\n" + hocon + "\n}")).spec();
  }

  /** One table's outcome in one stage of a run. */
  protected static TableRun outcome(RunResult result, Stage stage, String table) {
    return result.of(stage).stream().filter(t -> t.table().equals(table)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + stage.label() + " outcome for " + table + " in " + result.tables()));
  }

  /** The Delta table's current version; -1 when there is no table. */
  protected static long version(String path) {
    if (!DeltaTable.isDeltaTable(spark, path)) {
      return -1;
    }
    return DeltaTable.forPath(spark, path).history(1).first().getLong(0);
  }

  protected static long rows(String path) {
    return count("SELECT count(*) FROM delta.`%s`", path);
  }

  /** A Spark array or Scala sequence value as a Java list. */
  @SuppressWarnings("unchecked")
  protected static List<Object> list(Object value) {
    return value instanceof scala.collection.Seq<?> seq
        ? (List<Object>) scala.jdk.javaapi.CollectionConverters.asJava(seq) : (List<Object>) value;
  }
}
