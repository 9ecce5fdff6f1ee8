package dev.lakehouse.config;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One source table as configured under {@code lakehouse.tables.<name>}. The raw config stays
 * available for the settings of later layers (conforming, quality rules, SCD policy).
 */
public record TableSpec(
    String name,
    String sourceTable,
    List<String> primaryKey,
    LoadMode mode,
    Optional<String> cursor,
    Duration lookback,
    int partitions,
    Optional<String> partitionColumn,
    ExtractMethod method,
    int fetchSize,
    Config config) {

  public enum LoadMode { FULL, INCREMENTAL }

  public enum ExtractMethod { COPY, JDBC }

  static TableSpec from(String name, Config table, Config extractDefaults) {
    Config c = table.withFallback(extractDefaults);
    String where = "lakehouse.tables." + name;
    List<String> key = c.hasPath("primary-key") ? c.getStringList("primary-key") : List.of();
    if (key.isEmpty()) {
      throw new IllegalArgumentException(where + ".primary-key is required");
    }
    LoadMode mode = parseEnum(LoadMode.class, c.hasPath("mode") ? c.getString("mode") : "full", where + ".mode");
    Optional<String> cursor = c.hasPath("cursor") ? Optional.of(c.getString("cursor")) : Optional.empty();
    if (mode == LoadMode.INCREMENTAL && cursor.isEmpty()) {
      throw new IllegalArgumentException(where + ".cursor is required for mode = incremental");
    }
    int partitions = c.getInt("partitions");
    if (partitions < 1) {
      throw new IllegalArgumentException(where + ".partitions must be at least 1");
    }
    return new TableSpec(
        name,
        c.hasPath("source-table") ? c.getString("source-table") : name,
        List.copyOf(key),
        mode,
        cursor,
        c.getDuration("lookback"),
        partitions,
        c.hasPath("partition-column") ? Optional.of(c.getString("partition-column")) : Optional.empty(),
        parseEnum(ExtractMethod.class, c.getString("method"), where + ".method"),
        c.getInt("fetch-size"),
        table);
  }

  private static <E extends Enum<E>> E parseEnum(Class<E> type, String value, String where) {
    for (E constant : type.getEnumConstants()) {
      if (constant.name().equalsIgnoreCase(value.trim())) {
        return constant;
      }
    }
    throw new IllegalArgumentException(where + " must be one of "
        + java.util.Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase()).toList()
        + ", not '" + value + "'");
  }

  public boolean incremental() {
    return mode == LoadMode.INCREMENTAL;
  }

  /** Reads are split over ranges of this column: the cursor for incremental tables, else the first key. */
  public String effectivePartitionColumn() {
    return partitionColumn.orElseGet(() -> incremental() ? cursor.orElseThrow() : primaryKey.get(0));
  }
}
