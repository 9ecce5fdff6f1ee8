package dev.lakehouse.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.acme.AcmeSimulator;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Read-only ACME lakehouses shared by the jobs tests, built once per JVM on first use, so the
 * classes that need a seeded source and a lakehouse over it do not each pay for the Spark runs:
 *
 * <ul>
 *   <li>{@link #day0()}: database {@code acme_day0}, seeded at scale 1, and the lakehouse of a
 *       first {@code lakehouse run} over it;
 *   <li>{@link #day1()}: database {@code acme_day1}, a copy of day 0 after a simulated day of
 *       {@value #DAY_CHANGES} changes (seed {@value #DAY_SEED}: moves, deletes, orphan items, late
 *       commits), and day 0's lakehouse after a second run over it, kept after each stage (bronze,
 *       silver, reconcile, gold) so a test can start from any of them.
 * </ul>
 *
 * Nothing may change them: a test clones the database ({@link LakehouseTestBase#cloneDatabase})
 * and copies the lakehouse ({@link LakehouseTestBase#copyLakehouse}) before it changes either.
 */
public final class AcmeLakehouses {

  public static final int DAY_CHANGES = 200;
  public static final long DAY_SEED = 42L;

  /** A source database and a lakehouse built over it. */
  public record Built(String database, Path root) {

    /** The shipped configuration pointed at this database and root, with {@code overrides} on top. */
    public LakehouseConfig config(Map<String, String> overrides) {
      return AcmeLakehouses.config(database, root, overrides);
    }

    public LakehouseSpec spec() {
      return config(Map.of()).spec();
    }
  }

  /** Day 1's database, and the lakehouse after each stage of its run. */
  public record Day(String database, Map<Stage, Path> after) {
    public Built at(Stage stage) {
      return new Built(database, after.get(stage));
    }

    public Built built() {
      return at(Stage.GOLD);
    }
  }

  /** A private copy of a shared lakehouse, under the test class's root, and a clone of its database. */
  public static Built fork(Built shared, String name) {
    return new Built(LakehouseTestBase.cloneDatabase(shared.database()),
        copy(shared.root(), LakehouseTestBase.lakehouseRoot.resolve(name)));
  }

  private static Path home;
  private static Built day0;
  private static Day day1;

  private AcmeLakehouses() {}

  /** Day 0: the seeded source and the lakehouse of the first run. */
  public static synchronized Built day0() {
    if (day0 == null) {
      String database = "acme_day0";
      LakehouseTestBase.executeIn("postgres", "DROP DATABASE IF EXISTS " + database, "CREATE DATABASE " + database);
      try (Connection c = connect(database)) {
        AcmeSeeder.seed(c, "operations", 1);
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
      Path root = home().resolve("day0");
      LakehouseTestBase.succeeded(LakehouseTestBase.runAll(config(database, root, Map.of()).spec()));
      day0 = new Built(database, root);
    }
    return day0;
  }

  /** Day 1: day 0 after a simulated day, run stage by stage. */
  public static synchronized Day day1() {
    if (day1 == null) {
      Built before = day0();
      String database = "acme_day1";
      LakehouseTestBase.executeIn("postgres", "DROP DATABASE IF EXISTS " + database,
          "CREATE DATABASE " + database + " TEMPLATE " + before.database());
      try (Connection c = connect(database)) {
        AcmeSimulator.simulate(c, "operations", DAY_CHANGES, DAY_SEED);
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
      Map<Stage, Path> after = new EnumMap<>(Stage.class);
      Path previous = before.root();
      for (Stage stage : List.of(Stage.BRONZE, Stage.SILVER, Stage.RECONCILE, Stage.GOLD)) {
        Path root = copy(previous, home().resolve("day1-" + stage.label()));
        LakehouseTestBase.succeeded(LakehouseTestBase.run(config(database, root, Map.of()).spec(), stage));
        after.put(stage, root);
        previous = root;
      }
      day1 = new Day(database, after);
    }
    return day1;
  }

  /** The shipped configuration pointed at {@code database} and {@code root}. */
  public static LakehouseConfig config(String database, Path root, Map<String, String> overrides) {
    Map<String, String> all = new HashMap<>();
    all.put("lakehouse.root", root.toString());
    all.put("lakehouse.source.url", LakehouseTestBase.urlOf(database));
    all.putAll(overrides);
    return LakehouseTestBase.testConfig(all);
  }

  /** A superuser connection to a database of the shared server. */
  public static Connection connect(String database) throws SQLException {
    return DriverManager.getConnection(LakehouseTestBase.urlOf(database), EmbeddedSource.SUPERUSER, "");
  }

  /** Rows of a query on a database of the shared server, as lists of Java values. */
  public static List<List<Object>> query(String database, String sql) {
    try (Connection c = connect(database); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
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

  public static long count(String database, String sql) {
    List<List<Object>> rows = query(database, sql);
    assertEquals(1, rows.size(), sql);
    return ((Number) rows.get(0).get(0)).longValue();
  }

  /**
   * A copy of a lakehouse directory at {@code to}, which must not exist. Modification times are
   * kept: Delta takes a commit's timestamp from its log file's.
   */
  public static Path copy(Path from, Path to) {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else if (!p.getFileName().toString().equals(".lock")) {
          Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return to;
  }

  private static Path home() {
    if (home == null) {
      try {
        home = Files.createTempDirectory("acme-lakehouses-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Path dir = home;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> LakehouseTestBase.deleteRecursively(dir)));
    }
    return home;
  }
}
