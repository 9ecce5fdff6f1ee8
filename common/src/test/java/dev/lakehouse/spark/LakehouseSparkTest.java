package dev.lakehouse.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.SparkSettings;
import dev.lakehouse.testing.InProcessMaster;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SecurityManager;
import org.apache.spark.SparkConf;
import org.apache.spark.rpc.RpcEnv;
import org.junit.jupiter.api.Test;
import scala.Option;

/**
 * The S3A settings derived from {@code lakehouse.s3}, and the check that a standalone master
 * answers before a session is built; no Spark session needed.
 */
class LakehouseSparkTest {

  private static final Map<String, String> ENV = Map.of("LAKEHOUSE_CONF_DIR", confDir().toString());

  static Path confDir() {
    return dev.lakehouse.testing.ConfDir.find();
  }

  @Test
  void withoutAnEndpointOnlyTheBufferDirectoryIsSet() {
    Map<String, String> settings = LakehouseSpark.s3aSettings(LakehouseConfig.load("local", Map.of(), ENV).spec().spark());
    assertEquals(Map.of("fs.s3a.buffer.dir", LakehouseSpark.S3A_BUFFER_DIR), settings,
        "AWS S3's own defaults hold when no endpoint is configured");
  }

  @Test
  void dockerPointsS3aAtMinioWithPathStyleAndPlainHttp() {
    Map<String, String> settings = LakehouseSpark.s3aSettings(LakehouseConfig.load("docker", Map.of(), ENV).spec().spark());
    assertEquals(Map.of(
        "fs.s3a.endpoint", "http://minio:9000",
        "fs.s3a.endpoint.region", "us-east-1",
        "fs.s3a.path.style.access", "true",
        "fs.s3a.connection.ssl.enabled", "false",
        "fs.s3a.buffer.dir", LakehouseSpark.S3A_BUFFER_DIR), settings);
  }

  @Test
  void setOverridesEachKey() {
    Map<String, String> settings = LakehouseSpark.s3aSettings(LakehouseConfig.load("local", Map.of(
        "lakehouse.s3.endpoint", "https://s3.eu-west-3.amazonaws.com",
        "lakehouse.s3.region", "eu-west-3"), ENV).spec().spark());
    assertEquals("https://s3.eu-west-3.amazonaws.com", settings.get("fs.s3a.endpoint"));
    assertEquals("eu-west-3", settings.get("fs.s3a.endpoint.region"));
    assertEquals("false", settings.get("fs.s3a.path.style.access"));
    assertEquals("true", settings.get("fs.s3a.connection.ssl.enabled"));
  }

  @Test
  void hadoopPutsTheBufferDirectoryUnderJavaIoTmpdir() {
    Configuration hadoop = new Configuration(false);
    hadoop.set("fs.s3a.buffer.dir", LakehouseSpark.S3A_BUFFER_DIR);
    assertEquals(Paths.get(System.getProperty("java.io.tmpdir"), "lakehouse-s3a").toString(),
        Paths.get(hadoop.get("fs.s3a.buffer.dir")).toString());
  }

  @Test
  void aStandaloneMasterThatAnswersPassesAndOneOfSeveralIsEnough() throws IOException {
    try (InProcessMaster master = InProcessMaster.start()) {
      LakehouseSpark.checkReachable("spark://127.0.0.1:" + master.port(), "lakehouse.spark.master", Map.of());
      LakehouseSpark.checkReachable("spark://127.0.0.1:" + closedPort() + ",127.0.0.1:" + master.port(),
          "lakehouse.spark.master", Map.of());
    }
    // Only standalone masters are checked: local and cluster managers have nothing to connect to here.
    LakehouseSpark.checkReachable("local[2]", "lakehouse.spark.master", Map.of());
    LakehouseSpark.checkReachable("yarn", "lakehouse.spark.master", Map.of());
  }

  @Test
  void aStandaloneMasterThatIsNotThereIsOneLineNamingItAndTheSetting() throws IOException {
    int port = closedPort();
    LakehouseException refused = assertThrows(LakehouseException.class,
        () -> LakehouseSpark.checkReachable("spark://127.0.0.1:" + port, "lakehouse.spark.master", Map.of()));
    assertEquals("Cannot reach the Spark master spark://127.0.0.1:" + port + " (lakehouse.spark.master): 127.0.0.1:"
        + port + " refused the connection. Start the master or correct the URL (a master logs it at start and shows it"
        + " on its web UI, usually spark://host:7077), or run in this JVM with lakehouse.spark.master = \"local[2]\"",
        refused.getMessage());
    LakehouseException unknown = assertThrows(LakehouseException.class,
        () -> LakehouseSpark.checkReachable("spark://master.invalid:7077", "spark-submit's --master", Map.of()));
    assertTrue(unknown.getMessage().startsWith("Cannot reach the Spark master spark://master.invalid:7077 (spark-submit's"
        + " --master): master.invalid is not a known host name."), unknown.getMessage());
    LakehouseException port0 = assertThrows(LakehouseException.class,
        () -> LakehouseSpark.checkReachable("spark://127.0.0.1:70x7", "lakehouse.spark.master", Map.of()));
    assertEquals("lakehouse.spark.master: the port of spark://127.0.0.1:70x7 is not a number", port0.getMessage());
  }

  /**
   * A port that accepts connections but is no master: Spark would try three times for 20 s each
   * and then fail with a NullPointerException; the check says which within its timeout.
   */
  @Test
  void somethingElseOnTheMastersPortIsOneLineWithinTheTimeout() throws IOException {
    try (InProcessMaster master = InProcessMaster.start()) {
      int webUi = master.webUiPort();
      long start = System.nanoTime();
      LakehouseException web = assertThrows(LakehouseException.class,
          () -> LakehouseSpark.checkReachable("spark://127.0.0.1:" + webUi, "lakehouse.spark.master", Map.of()));
      assertTrue(web.getMessage().startsWith("Cannot reach the Spark master spark://127.0.0.1:" + webUi
          + " (lakehouse.spark.master): 127.0.0.1:" + webUi + " is not a Spark master: it answered in another protocol"
          + " (a web UI or an HTTP proxy?). Start the master or correct the URL"), web.getMessage());
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(Reachable.TIMEOUT_MS / 1000 + 2),
          "the web UI's answer is recognized at once, not after Spark's retries");
    }
    try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      long start = System.nanoTime();
      LakehouseException mute = assertThrows(LakehouseException.class, () -> LakehouseSpark.checkReachable(
          "spark://127.0.0.1:" + silent.getLocalPort(), "lakehouse.spark.master", Map.of()));
      assertTrue(mute.getMessage().contains("127.0.0.1:" + silent.getLocalPort() + " accepted a connection, but no Spark"
          + " master answered within 5 s."), mute.getMessage());
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "bounded by the timeout");
    }
    // Spark's RPC without a master (a worker's or a driver's port).
    SparkConf conf = new SparkConf(false);
    RpcEnv worker = RpcEnv.create("not-a-master", "127.0.0.1", 0, conf,
        new SecurityManager(conf, Option.empty(), SecurityManager.$lessinit$greater$default$3()), false);
    try {
      int port = worker.address().port();
      LakehouseException other = assertThrows(LakehouseException.class,
          () -> LakehouseSpark.checkReachable("spark://127.0.0.1:" + port, "lakehouse.spark.master", Map.of()));
      assertTrue(other.getMessage().contains("127.0.0.1:" + port + " answers in Spark's protocol but runs no master"
          + " (a worker's port?)."), other.getMessage());
    } finally {
      worker.shutdown();
      worker.awaitTermination();
    }
    // Authentication on: the question needs the application's secret, so Spark asks it (no check here).
    try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      LakehouseSpark.checkReachable("spark://127.0.0.1:" + silent.getLocalPort(), "lakehouse.spark.master",
          Map.of("spark.authenticate", "true"));
    }
  }

  @Test
  void anS3EndpointIsAskedOnlyForAnS3aRootAndNamedWithTheRootWhenAbsent() throws IOException {
    int port = closedPort();
    SparkSettings minio = LakehouseConfig.load("local", Map.of("lakehouse.s3.endpoint", "http://127.0.0.1:" + port), ENV)
        .spec().spark();
    // A local root, or AWS S3 itself (no endpoint): nothing to ask.
    LakehouseSpark.checkStorageReachable("/tmp/lakehouse", minio);
    LakehouseSpark.checkStorageReachable("s3a://bucket/lakehouse",
        LakehouseConfig.load("local", Map.of(), ENV).spec().spark());
    LakehouseException absent = assertThrows(LakehouseException.class,
        () -> LakehouseSpark.checkStorageReachable("s3a://bucket/lakehouse", minio));
    assertEquals("Cannot reach the S3 endpoint http://127.0.0.1:" + port + " (lakehouse.s3.endpoint) of s3a://bucket/lakehouse:"
        + " 127.0.0.1:" + port + " refused the connection", absent.getMessage());
    try (ServerSocket s3 = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      LakehouseSpark.checkStorageReachable("s3a://bucket/lakehouse", LakehouseConfig.load("local",
          Map.of("lakehouse.s3.endpoint", "127.0.0.1:" + s3.getLocalPort(), "lakehouse.s3.ssl", "false"), ENV).spec().spark());
    }
  }

  /** A loopback port nothing listens on (it was just free). */
  private static int closedPort() throws IOException {
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return free.getLocalPort();
    }
  }
}
