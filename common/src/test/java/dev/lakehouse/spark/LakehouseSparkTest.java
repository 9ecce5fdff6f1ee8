package dev.lakehouse.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.SparkSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

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
  void aStandaloneMasterThatAcceptsConnectionsPassesAndOneOfSeveralIsEnough() throws IOException {
    try (ServerSocket master = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      LakehouseSpark.checkReachable("spark://127.0.0.1:" + master.getLocalPort(), "lakehouse.spark.master");
      LakehouseSpark.checkReachable("spark://127.0.0.1:" + closedPort() + ",127.0.0.1:" + master.getLocalPort(),
          "lakehouse.spark.master");
    }
    // Only standalone masters are checked: local and cluster managers have nothing to connect to here.
    LakehouseSpark.checkReachable("local[2]", "lakehouse.spark.master");
    LakehouseSpark.checkReachable("yarn", "lakehouse.spark.master");
  }

  @Test
  void aStandaloneMasterThatIsNotThereIsOneLineNamingItAndTheSetting() throws IOException {
    int port = closedPort();
    LakehouseException refused = assertThrows(LakehouseException.class,
        () -> LakehouseSpark.checkReachable("spark://127.0.0.1:" + port, "lakehouse.spark.master"));
    assertEquals("Cannot reach the Spark master spark://127.0.0.1:" + port + " (lakehouse.spark.master): 127.0.0.1:"
        + port + " refused the connection. Start the master, or run in this JVM with lakehouse.spark.master = \"local[2]\"",
        refused.getMessage());
    LakehouseException unknown = assertThrows(LakehouseException.class,
        () -> LakehouseSpark.checkReachable("spark://master.invalid:7077", "spark-submit's --master"));
    assertTrue(unknown.getMessage().startsWith("Cannot reach the Spark master spark://master.invalid:7077 (spark-submit's"
        + " --master): master.invalid is not a known host name."), unknown.getMessage());
    LakehouseException port0 = assertThrows(LakehouseException.class,
        () -> LakehouseSpark.checkReachable("spark://127.0.0.1:70x7", "lakehouse.spark.master"));
    assertEquals("lakehouse.spark.master: the port of spark://127.0.0.1:70x7 is not a number", port0.getMessage());
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
