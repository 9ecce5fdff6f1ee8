package dev.lakehouse.spec;

import java.util.Set;

/**
 * A mart, {@code gold.<name>}: Spark SQL over gold (and silver) tables, rebuilt when one of its
 * inputs changed.
 *
 * @param inputs the tables the query reads, qualified ({@code gold.fact_x}, {@code silver.t})
 */
public record MartSpec(String name, String query, Set<String> inputs) {
  public MartSpec {
    inputs = Set.copyOf(inputs);
  }
}
