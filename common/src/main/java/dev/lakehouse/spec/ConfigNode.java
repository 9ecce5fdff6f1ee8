package dev.lakehouse.spec;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * One object of the configuration, with its key path, read by {@link SpecReader}: typed getters
 * that record a problem naming the full key path (and the file and line) instead of throwing, so
 * one read reports every mistake at once.
 */
final class ConfigNode {

  private final Config config;
  private final String path;
  private final List<String> problems;

  ConfigNode(Config config, String path, List<String> problems) {
    this.config = config;
    this.path = path;
    this.problems = problems;
  }

  String path() {
    return path;
  }

  String path(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  void problem(String key, String message) {
    problems.add((key == null ? path : path(key)) + ": " + message + origin(key));
  }

  private String origin(String key) {
    try {
      ConfigValue value = key == null ? config.root() : config.getValue(quote(key));
      String description = value.origin().description();
      return description == null || description.startsWith("merge of") || description.contains("hardcoded")
          ? "" : " (" + description.replaceAll(": (\\d+)", ":$1") + ")";
    } catch (ConfigException e) {
      return "";
    }
  }

  boolean has(String key) {
    return config.hasPath(quote(key));
  }

  Set<String> keys() {
    return new TreeSet<>(config.root().keySet());
  }

  /** Records a problem for each key not in {@code known}, with a suggestion when one is close. */
  void allowOnly(Set<String> known) {
    for (String key : keys()) {
      if (!known.contains(key)) {
        String suggestion = closest(key, known);
        problem(key, "unknown setting" + (suggestion == null ? "; known: " + new TreeSet<>(known)
            : " (did you mean " + suggestion + "?)"));
      }
    }
  }

  ConfigNode child(String key) {
    if (!has(key)) {
      return new ConfigNode(ConfigFactory.empty(), path(key), problems);
    }
    try {
      return new ConfigNode(config.getConfig(quote(key)), path(key), problems);
    } catch (ConfigException.WrongType e) {
      problem(key, "must be an object { ... }");
      return new ConfigNode(ConfigFactory.empty(), path(key), problems);
    }
  }

  /** The object children of this node, in key order. */
  Map<String, ConfigNode> children() {
    Map<String, ConfigNode> children = new LinkedHashMap<>();
    for (String key : keys()) {
      children.put(key, child(key));
    }
    return children;
  }

  String string(String key, String fallback) {
    if (!has(key)) {
      return fallback;
    }
    ConfigValue value = config.getValue(quote(key));
    if (value.valueType() == ConfigValueType.OBJECT || value.valueType() == ConfigValueType.LIST) {
      problem(key, "must be a single value, not " + value.valueType().name().toLowerCase());
      return fallback;
    }
    return String.valueOf(value.unwrapped());
  }

  String requiredString(String key) {
    if (!has(key)) {
      problem(key, "is required");
      return null;
    }
    String value = string(key, null);
    if (value != null && value.isBlank()) {
      problem(key, "must not be empty");
      return null;
    }
    return value;
  }

  Optional<String> optionalString(String key) {
    String value = string(key, null);
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value);
  }

  List<String> strings(String key) {
    if (!has(key)) {
      return List.of();
    }
    try {
      return List.copyOf(config.getStringList(quote(key)));
    } catch (ConfigException.WrongType e) {
      problem(key, "must be a list of names, e.g. [a, b]");
      return List.of();
    }
  }

  int integer(String key, int fallback) {
    if (!has(key)) {
      return fallback;
    }
    try {
      return config.getInt(quote(key));
    } catch (ConfigException.WrongType e) {
      problem(key, "must be a whole number, not '" + string(key, "") + "'");
      return fallback;
    }
  }

  Double number(String key) {
    if (!has(key)) {
      return null;
    }
    try {
      return config.getDouble(quote(key));
    } catch (ConfigException.WrongType e) {
      problem(key, "must be a number, not '" + string(key, "") + "'");
      return null;
    }
  }

  boolean bool(String key, boolean fallback) {
    if (!has(key)) {
      return fallback;
    }
    try {
      return config.getBoolean(quote(key));
    } catch (ConfigException.WrongType e) {
      problem(key, "must be true or false, not '" + string(key, "") + "'");
      return fallback;
    }
  }

  Duration duration(String key, Duration fallback) {
    if (!has(key)) {
      return fallback;
    }
    try {
      return config.getDuration(quote(key));
    } catch (ConfigException.BadValue | ConfigException.WrongType e) {
      problem(key, "must be a duration such as 10m, 2h or 3d, not '" + string(key, "") + "'");
      return fallback;
    }
  }

  boolean isObject(String key) {
    return has(key) && config.getValue(quote(key)).valueType() == ConfigValueType.OBJECT;
  }

  boolean isNumber(String key) {
    return has(key) && config.getValue(quote(key)).valueType() == ConfigValueType.NUMBER;
  }

  /** A list of objects, each with its indexed path. */
  List<ConfigNode> objects(String key) {
    if (!has(key)) {
      return List.of();
    }
    List<ConfigNode> nodes = new ArrayList<>();
    try {
      List<? extends Config> list = config.getConfigList(quote(key));
      for (int i = 0; i < list.size(); i++) {
        nodes.add(new ConfigNode(list.get(i), path(key) + "[" + i + "]", problems));
      }
    } catch (ConfigException.WrongType e) {
      problem(key, "must be a list of objects, e.g. [ { rule = not_null, columns = [a] } ]");
    }
    return nodes;
  }

  /** String-valued entries of an object, e.g. {@code rename { a = b }}. */
  Map<String, String> stringMap(String key) {
    Map<String, String> map = new LinkedHashMap<>();
    ConfigNode child = child(key);
    for (String k : child.keys()) {
      String value = child.string(k, null);
      if (value != null) {
        map.put(k, value);
      }
    }
    return map;
  }

  <E extends Enum<E>> E choice(String key, Class<E> type, E fallback) {
    String value = string(key, null);
    if (value == null) {
      return fallback;
    }
    for (E constant : type.getEnumConstants()) {
      if (constant.name().equalsIgnoreCase(value.trim())) {
        return constant;
      }
    }
    problem(key, "must be one of " + java.util.Arrays.stream(type.getEnumConstants())
        .map(e -> e.name().toLowerCase()).toList() + ", not '" + value + "'");
    return fallback;
  }

  static String quote(String key) {
    return "\"" + key.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /** The known key within edit distance 2, if any. */
  static String closest(String key, Set<String> known) {
    String best = null;
    int bestDistance = 3;
    for (String candidate : known) {
      int d = distance(key.toLowerCase(), candidate.toLowerCase());
      if (d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
    return best;
  }

  private static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
