package dev.lakehouse.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LakehouseConfigTest {

  private static final Map<String, String> ENV = Map.of("LAKEHOUSE_CONF_DIR", confDir().toString());

  static Path confDir() {
    return dev.lakehouse.testing.ConfDir.find();
  }

  @Test
  void shippedConfigurationDeclaresTheAcmeTables() {
    LakehouseConfig config = LakehouseConfig.load(null, Map.of(), ENV);
    assertEquals("local", config.env());
    assertEquals(List.of("customers", "order_items", "orders", "products"),
        config.tables().stream().map(TableSpec::name).toList());
    TableSpec orders = config.table("orders").orElseThrow();
    assertEquals(TableSpec.LoadMode.INCREMENTAL, orders.mode());
    assertEquals("updated_at", orders.cursor().orElseThrow());
    assertEquals(List.of("order_id"), orders.primaryKey());
    assertEquals(Duration.ofMinutes(10), orders.lookback());
    assertEquals(TableSpec.LoadMode.FULL, config.table("products").orElseThrow().mode());
    // Defaults from reference.conf reach every table.
    assertEquals(TableSpec.ExtractMethod.COPY, orders.method());
    assertEquals(10000, orders.fetchSize());
    assertEquals("local[2]", config.sparkMaster());
    assertEquals("UTC", config.sparkConf().get("spark.sql.session.timeZone"));
  }

  @Test
  void layersOverrideInOrderOverlayThenEnvironmentThenSet() {
    Map<String, String> env = Map.of(
        "LAKEHOUSE_CONF_DIR", confDir().toString(),
        "LAKEHOUSE_ROOT", "/tmp/from-env",
        "LAKEHOUSE_SOURCE_URL", "jdbc:postgresql://db.example:5432/acme",
        "LAKEHOUSE_SOURCE_PASSWORD", "s3cret");
    LakehouseConfig fromEnv = LakehouseConfig.load("docker", Map.of(), env);
    assertEquals("docker", fromEnv.env());
    assertEquals("/tmp/from-env", fromEnv.root(), "environment beats the overlay");
    assertEquals("jdbc:postgresql://db.example:5432/acme", fromEnv.source().url());
    assertEquals("lakehouse", fromEnv.source().user(), "overlay beats application.conf");

    LakehouseConfig fromSet = LakehouseConfig.load("docker", Map.of(
        "lakehouse.root", "s3a://bucket/x/",
        "lakehouse.tables.orders.partitions", "7",
        "lakehouse.tables.orders.primary-key", "[order_id, order_date]",
        "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"", "3"), env);
    assertEquals("s3a://bucket/x", fromSet.root(), "--set beats the environment");
    assertEquals(7, fromSet.table("orders").orElseThrow().partitions());
    assertEquals(List.of("order_id", "order_date"), fromSet.table("orders").orElseThrow().primaryKey());
    assertEquals("3", fromSet.sparkConf().get("spark.sql.shuffle.partitions"));
  }

  @Test
  void envFromVariableAndUnknownEnvIsAnError() {
    Map<String, String> env = Map.of("LAKEHOUSE_CONF_DIR", confDir().toString(), "LAKEHOUSE_ENV", "docker");
    assertEquals("docker", LakehouseConfig.load(null, Map.of(), env).env());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LakehouseConfig.load("staging", Map.of(), ENV));
    assertTrue(e.getMessage().contains("staging"), e.getMessage());
  }

  @Test
  void passwordNeverAppearsInToStringOrSafeUrl() {
    LakehouseConfig config = LakehouseConfig.load("local", Map.of(
        "lakehouse.source.url", "jdbc:postgresql://h/db?user=u&password=hunter2",
        "lakehouse.source.password", "hunter2"), ENV);
    SourceSettings source = config.source();
    assertFalse(source.toString().contains("hunter2"), source.toString());
    assertFalse(source.safeUrl().contains("hunter2"), source.safeUrl());
  }

  @Test
  void relativeRootBecomesAbsoluteAndTablesValidate() {
    LakehouseConfig config = LakehouseConfig.load("local", Map.of("lakehouse.root", "target/lh"), ENV);
    assertTrue(Paths.get(config.root()).isAbsolute());
    assertTrue(config.paths().bronze("orders").endsWith("/target/lh/bronze/orders"));

    IllegalArgumentException noCursor = assertThrows(IllegalArgumentException.class, () ->
        LakehouseConfig.load("local", Map.of("lakehouse.tables.extra.primary-key", "[id]",
            "lakehouse.tables.extra.mode", "incremental"), ENV).tables());
    assertTrue(noCursor.getMessage().contains("lakehouse.tables.extra.cursor"), noCursor.getMessage());

    IllegalArgumentException badMode = assertThrows(IllegalArgumentException.class, () ->
        LakehouseConfig.load("local", Map.of("lakehouse.tables.orders.mode", "sometimes"), ENV).tables());
    assertTrue(badMode.getMessage().contains("full"), badMode.getMessage());

    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () ->
        LakehouseConfig.load("local", Map.of(), ENV).tables(List.of("invoices")));
    assertTrue(unknown.getMessage().contains("invoices"), unknown.getMessage());
  }
}
