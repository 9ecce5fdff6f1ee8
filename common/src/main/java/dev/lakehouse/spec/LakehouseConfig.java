package dev.lakehouse.spec;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import dev.lakehouse.LakehouseException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The layered configuration, read once into a typed {@link LakehouseSpec}. Later layers win:
 * {@code reference.conf} (engine defaults), {@code conf/application.conf}, {@code conf/<env>.conf},
 * environment variables, {@code --set key=value}; a {@code --conf FILE} of the user's own replaces
 * {@code conf/application.conf} and sits above {@code conf/<env>.conf}. Only this class and
 * {@link SpecReader} touch HOCON.
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
  private final LakehouseSpec spec;

  private LakehouseConfig(Config config, String env) {
    this.config = config;
    this.env = env;
    this.spec = SpecReader.read(config);
  }

  /** Loads with the process environment and {@code ./conf} (or {@code LAKEHOUSE_CONF_DIR}, or the jar's copy). */
  public static LakehouseConfig load(String env, Map<String, String> overrides) {
    return load(env, overrides, System.getenv());
  }

  public static LakehouseConfig load(String env, Map<String, String> overrides, Map<String, String> environment) {
    return load(env, null, overrides, environment);
  }

  /**
   * As {@link #load(String, Map, Map)}, with {@code specFile} (when not null) in place of
   * {@code conf/application.conf}: a source of the user's own. The environment overlay still
   * applies beneath it: what the file sets wins, what it leaves out comes from the overlay.
   */
  public static LakehouseConfig load(String env, Path specFile, Map<String, String> overrides,
                                     Map<String, String> environment) {
    String chosenEnv = firstNonBlank(env, environment.get("LAKEHOUSE_ENV"), DEFAULT_ENV);
    Config files = specFile == null ? confFile("application", environment) : specFile(specFile);
    Config overlay = confFile(chosenEnv, environment);
    if (overlay.isEmpty() && !DEFAULT_ENV.equals(chosenEnv)) {
      throw new LakehouseException("Unknown environment '" + chosenEnv + "': no conf/" + chosenEnv + ".conf");
    }
    // The user's own file is above the environment overlay: conf/local.conf's root and Spark
    // settings are defaults for the shipped example, and a root written in one's own file must not
    // lose, silently, to target/lakehouse. The overlay still fills what the file leaves out.
    Config layers = specFile == null ? overlay.withFallback(files) : files.withFallback(overlay);
    Config merged = overridesConfig(overrides)
        .withFallback(environmentConfig(environment))
        .withFallback(layers)
        .withFallback(reference());
    return new LakehouseConfig(resolve(merged), chosenEnv);
  }

  /** For tests and embedding: a configuration built from a ready Config (reference.conf underneath). */
  public static LakehouseConfig of(Config config) {
    Config merged = resolve(config.withFallback(reference()));
    return new LakehouseConfig(merged, merged.hasPath("lakehouse.env") ? merged.getString("lakehouse.env") : DEFAULT_ENV);
  }

  /** A copy with some keys replaced, e.g. a test pointing the source at its own database. */
  public LakehouseConfig with(Map<String, String> overrides) {
    return new LakehouseConfig(resolve(overridesConfig(overrides).withFallback(config)), env);
  }

  /**
   * reference.conf alone. ConfigFactory.defaultReference() would lay the JVM's system properties
   * over it, so -Dlakehouse.crash-at=... (or any -Dlakehouse.* a launcher passes) became a
   * configuration key, beneath the files and not one of the documented layers.
   */
  private static Config reference() {
    return ConfigFactory.defaultReferenceUnresolved();
  }

  private static Config resolve(Config config) {
    try {
      return config.resolve(ConfigResolveOptions.defaults().setAllowUnresolved(false));
    } catch (ConfigException e) {
      throw new SpecException(List.of(oneLine(e.getMessage())));
    }
  }

  private static Config confFile(String name, Map<String, String> environment) {
    ConfigParseOptions options = ConfigParseOptions.defaults().setAllowMissing(true);
    String dir = environment.get("LAKEHOUSE_CONF_DIR");
    Path confDir = Paths.get(dir != null && !dir.isBlank() ? dir : "conf");
    try {
      if (Files.isDirectory(confDir)) {
        return ConfigFactory.parseFile(confDir.resolve(name + ".conf").toFile(), options);
      }
      return ConfigFactory.parseResources("conf/" + name + ".conf", options);
    } catch (ConfigException e) {
      throw new SpecException(List.of(oneLine(e.getMessage())));
    }
  }

  private static Config specFile(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new LakehouseException("Cannot read --conf " + file + ": no such file");
    }
    try {
      return ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      throw new SpecException(List.of(oneLine(e.getMessage())));
    }
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
      String value = entry.getValue() == null ? "" : entry.getValue().trim();
      Config one;
      try {
        // Lists, objects and quoted strings ("Box Office", as in a .conf file) are parsed as HOCON;
        // anything else stays a string as typed (URLs contain "//").
        boolean quoted = value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"");
        one = value.startsWith("[") || value.startsWith("{") || quoted
            ? ConfigFactory.parseString(entry.getKey() + " = " + value)
            : ConfigFactory.parseMap(Map.of(entry.getKey(), entry.getValue()), "--set");
      } catch (ConfigException e) {
        throw new LakehouseException("Cannot parse --set " + entry.getKey() + "=...: " + oneLine(e.getMessage()));
      }
      result = one.withFallback(result);
    }
    return result;
  }

  private static String oneLine(String message) {
    return message == null ? "" : message.replaceAll("\\s*\\R\\s*", " ").trim();
  }

  private static String firstNonBlank(String... values) {
    for (String value : values) {
      if (value != null && !value.isBlank()) {
        return value;
      }
    }
    return null;
  }

  public String env() {
    return env;
  }

  /** The typed, validated specification. */
  public LakehouseSpec spec() {
    return spec;
  }

  public LakehousePaths paths() {
    return spec.paths();
  }
}
