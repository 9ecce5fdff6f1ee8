package dev.lakehouse.spec;

import java.util.ArrayList;
import java.util.List;

/**
 * An SCD Type 2 dimension, {@code gold.dim_<name>}, from one lakehouse table
 * ({@code lakehouse.gold.dimensions.<name>}). Columns are silver names.
 *
 * @param naturalKey one member per distinct value
 * @param tracked a change in any of these opens a new version
 * @param overwrite Type 1 columns, corrected in place on every version of the member
 * @param surrogateKey the BIGINT key facts point at
 */
public record DimensionSpec(String name, String source, List<String> naturalKey, List<String> tracked,
                            List<String> overwrite, String surrogateKey) {

  public DimensionSpec {
    naturalKey = List.copyOf(naturalKey);
    tracked = List.copyOf(tracked);
    overwrite = List.copyOf(overwrite);
  }

  public String table() {
    return tableOf(name);
  }

  /** The gold table of the dimension configured as {@code name}. */
  public static String tableOf(String name) {
    return "dim_" + name;
  }

  /** Natural key, tracked and overwrite columns: what the dimension reads from silver. */
  public List<String> sourceColumns() {
    List<String> all = new ArrayList<>(naturalKey);
    all.addAll(tracked);
    all.addAll(overwrite);
    return all;
  }
}
