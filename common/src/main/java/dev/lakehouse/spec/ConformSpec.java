package dev.lakehouse.spec;

import dev.lakehouse.quality.Action;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How silver shapes a table's rows ({@code lakehouse.tables.<t>.silver}): renames (source name to
 * silver name), casts (silver name to a Spark SQL type), trimmed strings, lower- or upper-cased
 * columns (silver names). {@code onCastError}: what a value a cast cannot convert does to its row
 * (fail: the table stops; quarantine: the row is held aside). {@code keys}: the silver names of the
 * table's key columns, which {@code trim} leaves as the source holds them: the source keeps its key
 * unique as it is, and two keys that differ only in blanks must not become one row.
 * {@code foreignKeys}: the silver names of columns a relationships rule points at a column that
 * its own table does not trim (usually that table's key). {@code trim} leaves them too, so a
 * reference {@code 'a1 '} still finds the key {@code 'a1 '} in quality checks and in gold's joins.
 */
public record ConformSpec(Map<String, String> renames, Map<String, String> casts, boolean trim,
                          List<String> lowercase, List<String> uppercase, Action onCastError, List<String> keys,
                          List<String> foreignKeys) {

  public static final ConformSpec NONE =
      new ConformSpec(Map.of(), Map.of(), true, List.of(), List.of(), Action.FAIL, List.of(), List.of());

  public ConformSpec {
    renames = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(renames));
    casts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(casts));
    lowercase = List.copyOf(lowercase);
    uppercase = List.copyOf(uppercase);
    keys = List.copyOf(keys);
    foreignKeys = List.copyOf(foreignKeys);
  }

  /** This shaping, with these columns also left untrimmed as references to untrimmed columns. */
  public ConformSpec withForeignKeys(List<String> columns) {
    return new ConformSpec(renames, casts, trim, lowercase, uppercase, onCastError, keys, columns);
  }

  /** Whether silver trims this (string) column. */
  public boolean trims(String silverName) {
    return trim && !keys.contains(silverName) && !foreignKeys.contains(silverName);
  }

  /** The name a source column has in silver. */
  public String silverName(String sourceName) {
    return renames.getOrDefault(sourceName, sourceName);
  }

  /** This shaping for only these source columns (their renames, and the rest by their silver names). */
  public ConformSpec forColumns(java.util.Collection<String> sourceColumns) {
    Map<String, String> keptRenames = new LinkedHashMap<>(renames);
    keptRenames.keySet().retainAll(sourceColumns);
    java.util.Set<String> silverNames = new java.util.HashSet<>();
    sourceColumns.forEach(c -> silverNames.add(silverName(c)));
    Map<String, String> keptCasts = new LinkedHashMap<>(casts);
    keptCasts.keySet().retainAll(silverNames);
    return new ConformSpec(keptRenames, keptCasts, trim, lowercase.stream().filter(silverNames::contains).toList(),
        uppercase.stream().filter(silverNames::contains).toList(), onCastError,
        keys.stream().filter(silverNames::contains).toList(), foreignKeys.stream().filter(silverNames::contains).toList());
  }
}
