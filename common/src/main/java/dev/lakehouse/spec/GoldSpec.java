package dev.lakehouse.spec;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What gold builds: dimensions, facts and marts, each keyed by name. Marts are in dependency
 * order (a mart that reads another comes after it). Any of them may be empty.
 */
public record GoldSpec(Map<String, DimensionSpec> dimensions, Map<String, FactSpec> facts,
                       Map<String, MartSpec> marts) {

  public static final GoldSpec NONE = new GoldSpec(Map.of(), Map.of(), Map.of());

  public GoldSpec {
    dimensions = Collections.unmodifiableMap(new LinkedHashMap<>(dimensions));
    facts = Collections.unmodifiableMap(new LinkedHashMap<>(facts));
    marts = Collections.unmodifiableMap(new LinkedHashMap<>(marts));
  }

  public boolean isEmpty() {
    return dimensions.isEmpty() && facts.isEmpty() && marts.isEmpty();
  }

  /** Whether gold needs the calendar: some fact has a date role. */
  public boolean hasDates() {
    return facts.values().stream().anyMatch(f -> !f.dates().isEmpty());
  }
}
