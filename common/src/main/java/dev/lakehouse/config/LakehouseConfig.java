package dev.lakehouse.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The layered configuration. Later layers win: {@code reference.conf} (library defaults),
 * {@code conf/application.conf}, {@code conf/<env>.conf}, environment variables, {@code --set key=value}.
 */
public final class LakehouseConfig {

  /** Environment variables that override configuration keys; secrets come only from here. */
  public static final Map<String, String> ENVIRONMENT_KEYS = Map.of(
      "LAKEHOUSE_SOURCE_URL", "lakehouse.source.url",
      "LAKEHOUSE_SOURCE_USER", "lakehouse.source.user",
      "LAKEHOUSE_SOURCE_PASSWORD", "lakehouse.source.password",
      "LAKEHOUSE_ROOT", "lakehouse.root");

  public static final String DEFAULT_ENV = "local";

  private final Config config;
  private final String env;

  private LakehouseConfig(Config config, String env) {
    this.config = config;
    this.env = env;
  }

  /** Loads with the process environment and {@code ./conf} (or {@code LAKEHOUSE_CONF_DIR}, or the jar's copy). */
  public static LakehouseConfig load(String env, Map<String, String> overrides) {
    return load(env, overrides, System.getenv());
  }

  public static LakehouseConfig load(String env, Map<String, String> overrides, Map<String, String> environment) {
    String chosenEnv = firstNonBlank(env, environment.get("LAKEHOUSE_ENV"), DEFAULT_ENV);
    Config files = confFile("application", environment);
    Config overlay = confFile(chosenEnv, environment);
    if (overlay.isEmpty() && !DEFAULT_ENV.equals(chosenEnv)) {
      throw new IllegalArgumentException("Unknown environment '" + chosenEnv + "': no conf/" + chosenEnv + ".conf");
    }
    Config merged = overridesConfig(overrides)
        .withFallback(environmentConfig(environment))
        .withFallback(overlay)
        .withFallback(files)
        .withFallback(ConfigFactory.defaultReference())
        .resolve(ConfigResolveOptions.defaults().setAllowUnresolved(false));
    return new LakehouseConfig(merged, chosenEnv);
  }

  /** For tests and embedding: a configuration built from a ready Config (reference.conf underneath). */
  public static LakehouseConfig of(Config config) {
    Config merged = config.withFallback(ConfigFactory.defaultReference()).resolve();
    return new LakehouseConfig(merged, merged.getString("lakehouse.env"));
  }

  /** A copy with some keys replaced, e.g. a test pointing the source at its own database. */
  public LakehouseConfig with(Map<String, String> overrides) {
    return new LakehouseConfig(overridesConfig(overrides).withFallback(config).resolve(), env);
  }

  private static Config confFile(String name, Map<String, String> environment) {
    ConfigParseOptions options = ConfigParseOptions.defaults().setAllowMissing(true);
    String dir = environment.get("LAKEHOUSE_CONF_DIR");
    Path confDir = Paths.get(dir != null && !dir.isBlank() ? dir : "conf");
    if (Files.isDirectory(confDir)) {
      return ConfigFactory.parseFile(confDir.resolve(name + ".conf").toFile(), options);
    }
    return ConfigFactory.parseResources("conf/" + name + ".conf", options);
  }

  private static Config environmentConfig(Map<String, String> environment) {
    Map<String, String> values = new LinkedHashMap<>();
    ENVIRONMENT_KEYS.forEach((variable, key) -> {
      String value = environment.get(variable);
      if (value != null && !value.isEmpty()) {
        values.put(key, value);
      }
    });
    return ConfigFactory.parseMap(values, "environment variables");
  }

  private static Config overridesConfig(Map<String, String> overrides) {
    Config result = ConfigFactory.empty();
    for (Map.Entry<String, String> entry : overrides.entrySet()) {
      String value = entry.getValue().trim();
      Config one;
      try {
        // Lists and objects are parsed as HOCON; anything else stays a string (URLs contain "//").
        one = value.startsWith("[") || value.startsWith("{")
            ? ConfigFactory.parseString(entry.getKey() + " = " + value)
            : ConfigFactory.parseMap(Map.of(entry.getKey(), entry.getValue()), "--set");
      } catch (ConfigException e) {
        throw new IllegalArgumentException("Cannot parse --set " + entry.getKey() + "=...: " + e.getMessage(), e);
      }
      result = one.withFallback(result);
    }
    return result;
  }

  private static String firstNonBlank(String... values) {
    for (String value : values) {
      if (value != null && !value.isBlank()) {
        return value;
      }
    }
    return null;
  }

  public Config raw() {
    return config;
  }

  public String env() {
    return env;
  }

  /** The lakehouse root: a URI such as s3a://bucket/prefix, or an absolute local path. */
  public String root() {
    String root = config.getString("lakehouse.root").trim();
    if (root.isEmpty()) {
      throw new IllegalArgumentException("lakehouse.root is empty");
    }
    if (root.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
      return root.replaceAll("/+$", "");
    }
    if (root.startsWith("file:")) {
      root = root.substring("file:".length());
    }
    return Paths.get(root).toAbsolutePath().normalize().toString();
  }

  public LakehousePaths paths() {
    return new LakehousePaths(root());
  }

  public SourceSettings source() {
    return SourceSettings.from(config.getConfig("lakehouse.source"));
  }

  public String sparkMaster() {
    return config.getString("lakehouse.spark.master");
  }

  public String sparkAppName() {
    return config.getString("lakehouse.spark.app-name");
  }

  public Map<String, String> sparkConf() {
    Map<String, String> conf = new LinkedHashMap<>();
    Config spark = config.getConfig("lakehouse.spark.conf");
    // Keys contain dots, so read them as quoted root-level entries rather than paths.
    spark.root().forEach((key, value) -> conf.put(key, String.valueOf(value.unwrapped())));
    return conf;
  }

  /** Every configured source table, by name (HOCON objects keep no order). */
  public List<TableSpec> tables() {
    Config tables = config.getConfig("lakehouse.tables");
    Config defaults = config.getConfig("lakehouse.extract");
    List<TableSpec> specs = new ArrayList<>();
    for (String name : new java.util.TreeSet<>(tables.root().keySet())) {
      specs.add(TableSpec.from(name, tables.getConfig(quote(name)), defaults));
    }
    return specs;
  }

  public Optional<TableSpec> table(String name) {
    return tables().stream().filter(t -> t.name().equals(name)).findFirst();
  }

  /** The named tables, or all when none are named; an unknown name is an error that lists the known ones. */
  public List<TableSpec> tables(List<String> names) {
    if (names == null || names.isEmpty()) {
      return tables();
    }
    List<TableSpec> chosen = new ArrayList<>();
    for (String name : names) {
      chosen.add(table(name).orElseThrow(() -> new IllegalArgumentException(
          "No table '" + name + "' in lakehouse.tables; configured: "
              + tables().stream().map(TableSpec::name).toList())));
    }
    return chosen;
  }

  public java.time.Duration lockLease() {
    return config.getDuration("lakehouse.lock.lease");
  }

  static String quote(String key) {
    return "\"" + key.replace("\"", "\\\"") + "\"";
  }
}
