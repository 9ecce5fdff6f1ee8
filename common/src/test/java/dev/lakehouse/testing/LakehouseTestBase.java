package dev.lakehouse.testing;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.pipeline.Pipeline;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.spark.LakehouseSpark;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * One Spark session ({@code local[2]}) and one embedded PostgreSQL per JVM, shared by every test
 * class; each class gets its own source database and lakehouse root, so classes never see each
 * other's data. Modeled on Iceberg's Spark TestBase.
 */
public abstract class LakehouseTestBase {

  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static EmbeddedSource postgres;
  private static SparkSession sharedSpark;

  protected static SparkSession spark;
  protected static Path lakehouseRoot;
  protected static String database;
  protected static LakehouseConfig config;

  @BeforeAll
  static void startLakehouse() throws Exception {
    postgres = sharedPostgres();
    database = "test_" + DATABASES.incrementAndGet();
    try (Connection c = superuser("postgres"); Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + database);
      s.execute("CREATE DATABASE " + database);
    }
    lakehouseRoot = Files.createTempDirectory("lakehouse-test-");
    config = testConfig(Map.of());
    spark = sharedSpark();
  }

  @AfterAll
  static void stopLakehouse() {
    deleteRecursively(lakehouseRoot);
  }

  /** The shipped configuration (conf/, env local) pointed at this class's database and root. */
  protected static LakehouseConfig testConfig(Map<String, String> overrides) {
    Map<String, String> env = new HashMap<>();
    env.put("LAKEHOUSE_CONF_DIR", confDir().toString());
    Map<String, String> all = new HashMap<>();
    all.put("lakehouse.root", lakehouseRoot.toString());
    all.put("lakehouse.source.url", sourceUrl());
    all.put("lakehouse.source.user", EmbeddedSource.SUPERUSER);
    all.put("lakehouse.source.password", "");
    all.put("lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"", "2");
    all.putAll(overrides);
    return LakehouseConfig.load("local", all, env);
  }

  /** Runs these stages of the pipeline on {@code spec} (in stage order), in the shared session. */
  protected static RunResult run(LakehouseSpec spec, Stage... stages) {
    try (Lakehouse lakehouse = new Lakehouse(spec)) {
      return new Pipeline(lakehouse).run(java.util.EnumSet.copyOf(java.util.Arrays.asList(stages)), List.of());
    }
  }

  /** Every stage, as {@code lakehouse run} does. */
  protected static RunResult runAll(LakehouseSpec spec) {
    try (Lakehouse lakehouse = new Lakehouse(spec)) {
      return new Pipeline(lakehouse).runAll(List.of());
    }
  }

  /** The run, after asserting that no table failed in it. */
  protected static RunResult succeeded(RunResult result) {
    if (result.failed() || !result.notes().isEmpty()) {
      throw new AssertionError("run failed: " + result.failureLines() + " " + result.notes());
    }
    return result;
  }

  /**
   * A new database copied from {@code template} (PostgreSQL's template copy: a whole seeded source
   * in a fraction of a second), so a test can change its source without touching anyone else's.
   */
  protected static String cloneDatabase(String template) {
    String copy = "test_" + DATABASES.incrementAndGet();
    try (Connection c = superuser("postgres"); Statement s = c.createStatement()) {
      s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + template + "'"
          + " AND pid <> pg_backend_pid()");
      s.execute("CREATE DATABASE " + copy + " TEMPLATE " + template);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return copy;
  }

  /** The URL of another database of the shared server. */
  protected static String urlOf(String database) {
    return "jdbc:postgresql://127.0.0.1:" + postgres.port() + "/" + database;
  }

  /** Statements run on another database of the shared server. */
  protected static void executeIn(String database, String... statements) {
    try (Connection c = superuser(database); Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A copy of a lakehouse directory, for a test that changes a lakehouse another built. */
  protected static Path copyLakehouse(Path from, String name) {
    Path to = lakehouseRoot.resolve(name);
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return to;
  }

  protected static Path confDir() {
    return ConfDir.find();
  }

  protected static synchronized EmbeddedSource sharedPostgres() {
    if (postgres == null) {
      postgres = EmbeddedSource.startTemporary();
      Runtime.getRuntime().addShutdownHook(new Thread(postgres::close));
    }
    return postgres;
  }

  private static synchronized SparkSession sharedSpark() throws IOException {
    if (sharedSpark == null) {
      Path warehouse = Files.createTempDirectory("lakehouse-warehouse-");
      LakehouseConfig sessionConfig = config.with(Map.of(
          "lakehouse.spark.conf.\"spark.sql.warehouse.dir\"", warehouse.toString(),
          "lakehouse.spark.conf.\"spark.databricks.delta.snapshotPartitions\"", "1",
          "lakehouse.spark.conf.\"spark.sql.adaptive.coalescePartitions.initialPartitionNum\"", "2"));
      sharedSpark = LakehouseSpark.getOrCreate(sessionConfig.spec().spark());
    }
    return sharedSpark;
  }

  protected static String sourceUrl() {
    return "jdbc:postgresql://127.0.0.1:" + postgres.port() + "/" + database;
  }

  protected static int sourcePort() {
    return postgres.port();
  }

  /** A superuser connection to this class's source database. */
  protected static Connection source() throws SQLException {
    return superuser(database);
  }

  private static Connection superuser(String db) throws SQLException {
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.port() + "/" + db,
        EmbeddedSource.SUPERUSER, "");
  }

  /** Runs statements on the source database. */
  protected static void sourceExecute(String... statements) {
    try (Connection c = source(); Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Rows of a source query as lists of Java values. */
  protected static List<List<Object>> sourceQuery(String query) {
    try (Connection c = source(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
      List<List<Object>> rows = new ArrayList<>();
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          row.add(rs.getObject(i));
        }
        rows.add(row);
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  protected static long sourceCount(String query) {
    return ((Number) sourceQuery(query).get(0).get(0)).longValue();
  }

  /** Spark SQL rows as lists of Java values. */
  protected static List<List<Object>> sql(String query, Object... args) {
    List<Row> rows = spark.sql(String.format(query, args)).collectAsList();
    List<List<Object>> result = new ArrayList<>();
    for (Row row : rows) {
      List<Object> values = new ArrayList<>();
      for (int i = 0; i < row.length(); i++) {
        values.add(row.get(i));
      }
      result.add(values);
    }
    return result;
  }

  protected static long count(String query, Object... args) {
    return ((Number) sql(query, args).get(0).get(0)).longValue();
  }

  /** Spark jobs started by {@code action} (a read served from memory or a log starts none). */
  protected static int sparkJobsOf(Runnable action) throws java.util.concurrent.TimeoutException {
    AtomicInteger jobs = new AtomicInteger();
    SparkListener listener = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart jobStart) {
        jobs.incrementAndGet();
      }
    };
    spark.sparkContext().addSparkListener(listener);
    try {
      action.run();
      spark.sparkContext().listenerBus().waitUntilEmpty();
    } finally {
      spark.sparkContext().removeSparkListener(listener);
    }
    return jobs.get();
  }

  protected static String path(String layer, String table) {
    return config.paths().table(layer, table);
  }

  protected static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
