package dev.lakehouse.testing;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import io.delta.tables.DeltaTable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * For the engine's own tests: a specification built from the engine's defaults
 * ({@code reference.conf}) and the HOCON a test gives, never from {@code conf/} (the example
 * source's tables), pointed at this class's database (or another one) and at a lakehouse root of
 * the test's own under {@link #lakehouseRoot}.
 */
public abstract class EngineTestBase extends LakehouseTestBase {

  /**
   * The tests' queries read a few rows each, hundreds of them: compiling generated code for each
   * plan costs more than running it interpreted (about a fifth of the CPU). Set for the class only,
   * and restored after it, so other test classes in the JVM run as configured.
   */
  private static final Map<String, String> INTERPRETED = Map.of(
      "spark.sql.codegen.wholeStage", "false",
      "spark.sql.codegen.factoryMode", "NO_CODEGEN");
  private static final Map<String, Optional<String>> BEFORE = new LinkedHashMap<>();

  @BeforeAll
  static void interpretQueries() {
    INTERPRETED.forEach((key, value) -> {
      BEFORE.put(key, spark.conf().contains(key) ? Optional.of(spark.conf().get(key)) : Optional.empty());
      spark.conf().set(key, value);
    });
  }

  @AfterAll
  static void restoreQueries() {
    BEFORE.forEach((key, value) -> {
      if (value.isPresent()) {
        spark.conf().set(key, value.get());
      } else {
        spark.conf().unset(key);
      }
    });
    BEFORE.clear();
  }

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
