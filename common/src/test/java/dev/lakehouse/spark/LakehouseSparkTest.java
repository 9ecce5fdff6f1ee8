package dev.lakehouse.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.spec.LakehouseConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/** The S3A settings derived from {@code lakehouse.s3}; no Spark session needed. */
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
}
