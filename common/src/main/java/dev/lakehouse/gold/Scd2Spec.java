package dev.lakehouse.gold;

import dev.lakehouse.spec.DimensionSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a Type 2 dimension tracks, by column name.
 *
 * @param name dimension name, e.g. {@code customer}
 * @param surrogateKey the BIGINT key facts point at, e.g. {@code customer_sk}
 * @param naturalKey the source key columns; one dimension member per distinct value
 * @param tracked a change in any of these opens a new version
 * @param overwrite Type 1 columns: corrected in place on every version of the member
 */
public record Scd2Spec(
    String name, String surrogateKey, List<String> naturalKey, List<String> tracked, List<String> overwrite) {

  public Scd2Spec {
    naturalKey = List.copyOf(naturalKey);
    tracked = List.copyOf(tracked);
    overwrite = List.copyOf(overwrite);
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("dimension name is required");
    }
    if (surrogateKey == null || surrogateKey.isBlank()) {
      throw new IllegalArgumentException(name + ": surrogate-key is required");
    }
    if (naturalKey.isEmpty()) {
      throw new IllegalArgumentException(name + ": natural-key needs at least one column");
    }
    // Case-insensitive, like Spark's default resolution: `City` and `city` are one column.
    Set<String> seen = new HashSet<>();
    for (String column : allColumns(surrogateKey, naturalKey, tracked, overwrite)) {
      if (!seen.add(column.toLowerCase())) {
        throw new IllegalArgumentException(name + ": column '" + column + "' is listed twice");
      }
      if (Scd2Columns.RESERVED.contains(column.toLowerCase())) {
        throw new IllegalArgumentException(name + ": column '" + column + "' is reserved by the SCD2 engine");
      }
    }
  }

  public static Scd2Spec of(String name, List<String> naturalKey, List<String> tracked, List<String> overwrite) {
    return new Scd2Spec(name, name + "_sk", naturalKey, tracked, overwrite);
  }

  /** The SCD2 view of a configured dimension. */
  public static Scd2Spec of(DimensionSpec dimension) {
    return new Scd2Spec(dimension.name(), dimension.surrogateKey(), dimension.naturalKey(), dimension.tracked(),
        dimension.overwrite());
  }

  /** Tracked then overwrite columns: everything a version carries besides its key. */
  public List<String> attributes() {
    List<String> all = new ArrayList<>(tracked);
    all.addAll(overwrite);
    return all;
  }

  /** The dimension table's columns, in table order. */
  public List<String> dimensionColumns() {
    List<String> all = allColumns(surrogateKey, naturalKey, tracked, overwrite);
    all.addAll(Scd2Columns.HOUSEKEEPING);
    return all;
  }

  private static List<String> allColumns(
      String surrogateKey, List<String> naturalKey, List<String> tracked, List<String> overwrite) {
    List<String> all = new ArrayList<>();
    all.add(surrogateKey);
    all.addAll(naturalKey);
    all.addAll(tracked);
    all.addAll(overwrite);
    return all;
  }
}
