package dev.lakehouse.quality;

import com.typesafe.config.Config;
import java.util.ArrayList;
import java.util.List;

/** Reads a table's {@code quality = [ {rule = ..., action = ...}, ... ]} list. */
public final class Rules {

  private Rules() {}

  public static List<Rule> from(String table, Config tableConfig) {
    List<Rule> rules = new ArrayList<>();
    if (!tableConfig.hasPath("quality")) {
      return rules;
    }
    int index = 0;
    for (Config c : tableConfig.getConfigList("quality")) {
      String where = "lakehouse.tables." + table + ".quality[" + index++ + "]";
      if (!c.hasPath("rule")) {
        throw new IllegalArgumentException(where + ": 'rule' is required");
      }
      Action action = Action.parse(c.hasPath("action") ? c.getString("action") : "warn", where);
      String kind = c.getString("rule");
      switch (kind) {
        case "not_null" -> columns(c, where).forEach(col -> rules.add(new Rule.NotNull(col, action)));
        case "unique" -> rules.add(new Rule.Unique(columns(c, where), action));
        case "accepted_values" -> rules.add(new Rule.AcceptedValues(c.getString("column"), c.getStringList("values"), action));
        case "range" -> rules.add(new Rule.Range(c.getString("column"),
            c.hasPath("min") ? c.getDouble("min") : null, c.hasPath("max") ? c.getDouble("max") : null, action));
        case "pattern" -> rules.add(new Rule.Pattern(c.getString("column"), c.getString("regex"), action));
        case "relationships" -> rules.add(new Rule.Relationship(c.getString("column"), c.getString("to"),
            c.hasPath("to-column") ? c.getString("to-column") : c.getString("column"), action));
        case "freshness" -> {
          if (action == Action.QUARANTINE) {
            throw new IllegalArgumentException(where + ": freshness is about the table; use warn or fail");
          }
          rules.add(new Rule.Freshness(c.getDuration("max-age"), action));
        }
        default -> throw new IllegalArgumentException(where + ": unknown rule '" + kind
            + "'; rules are not_null, unique, accepted_values, relationships, range, pattern, freshness");
      }
    }
    return rules;
  }

  private static List<String> columns(Config c, String where) {
    if (c.hasPath("columns")) {
      return c.getStringList("columns");
    }
    if (c.hasPath("column")) {
      return List.of(c.getString("column"));
    }
    throw new IllegalArgumentException(where + ": 'column' or 'columns' is required");
  }
}
