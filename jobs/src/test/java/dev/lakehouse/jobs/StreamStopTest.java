package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.Lakehouse;
import dev.lakehouse.bronze.LogSetup;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.LakehouseTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code lakehouse stream} ended by SIGTERM (as {@code docker stop} and Ctrl-C end it) finishes
 * the micro-batch under way through silver and gold and commits it, instead of losing its Spark
 * session half-way: Spark stops its context from a shutdown hook of its own, which must wait for
 * the stream's.
 */
class StreamStopTest extends LakehouseTestBase {

  @Test
  void sigtermWhileABatchIsAppliedFinishesAndCommitsIt() throws Exception {
    String db = cloneDatabase("template1");
    executeIn(db, "CREATE SCHEMA lab", "CREATE TABLE lab.sensors (sensor_id int PRIMARY KEY, site text NOT NULL)",
        "INSERT INTO lab.sensors SELECT i, 'site ' || i FROM generate_series(1, 20) i");
    String slot = "lh_stop_" + ProcessHandle.current().pid();
    Path conf = Files.createDirectories(lakehouseRoot.resolve("stream-stop-conf")).resolve("stream.conf");
    Files.writeString(conf, """
        lakehouse {
          root = "%s"
          source { url = "%s", user = postgres, schema = lab }
          spark.conf { "spark.sql.shuffle.partitions" = "2" }
          log { publication = %s, slot = %s, trigger = 500ms, gold-trigger = 1s }
          tables.sensors { primary-key = [sensor_id], mode = log }
          gold.dimensions.sensor { source = sensors, natural-key = [sensor_id], tracked = [site] }
        }
        """.formatted(lakehouseRoot.resolve("stream-stop"), urlOf(db), slot, slot));
    LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseFile(conf.toFile())).spec();
    try (Lakehouse lakehouse = new Lakehouse(spec)) {
      new LogSetup(lakehouse.source(), spec.log()).setup(spec.logTables());
    }
    Path out = Files.createTempFile("stream-", ".out");
    Path err = Files.createTempFile("stream-", ".err");
    Process stream = null;
    try {
      succeeded(runAll(spec));
      executeIn(db, "UPDATE lab.sensors SET site = 'moved' WHERE sensor_id <= 5");
      stream = LakehouseProcess.start(Map.of("LAKEHOUSE_CONF_DIR", confDir().toString()), List.of(),
          List.of("--conf", conf.toString(), "stream"), out, err);
      assertTrue(awaitLine(out, "changes landed", Duration.ofMinutes(3)), "the change landed\n" + Files.readString(out)
          + Files.readString(err));
      stream.destroy(); // SIGTERM, while silver applies the batch that just landed
      assertTrue(stream.waitFor(3, TimeUnit.MINUTES), "the stream stopped");
      String printed = Files.readString(out);
      String errors = Files.readString(err);
      assertEquals(143, stream.exitValue(), "128 + SIGTERM, as for any JVM a signal ends\n" + printed + errors);
      assertTrue(printed.contains("stream stopped: "), printed);
      assertFalse(errors.contains("Exception") || errors.contains("ERROR"), errors);
      assertEquals(5L, count("SELECT count(*) FROM delta.`%s` WHERE site = 'moved'", spec.paths().silver("sensors")),
          "the batch reached silver");
      assertEquals(5L, count("SELECT count(*) FROM delta.`%s` WHERE site = 'moved' AND is_current",
          spec.paths().gold("dim_sensor")), "and gold's history");
    } finally {
      if (stream != null) {
        ChildProcesses.stop(stream);
      }
      try (Lakehouse lakehouse = new Lakehouse(spec)) {
        new LogSetup(lakehouse.source(), spec.log()).teardown();
      }
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static boolean awaitLine(Path file, String text, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.readString(file).contains(text)) {
        return true;
      }
      Thread.sleep(100);
    }
    return false;
  }
}
