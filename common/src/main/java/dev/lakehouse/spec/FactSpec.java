package dev.lakehouse.spec;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A fact table, {@code gold.<name>}, declared in {@code lakehouse.gold.facts.<name>}.
 *
 * @param grain the query's columns that identify a fact row (the MERGE key)
 * @param query Spark SQL over {@code silver.<table>}, which shows live rows only
 * @param dimensions dimension keys resolved as of a time column of the query
 * @param dates date columns that become {@code <column>_key} (yyyymmdd) and feed {@code gold.dim_date}
 * @param touchedBy which fact rows a change of each input table touches
 * @param inputs the lakehouse tables the query reads
 */
public record FactSpec(String name, List<String> grain, String query, List<DimensionRef> dimensions,
                       List<String> dates, List<TouchedBy> touchedBy, Set<String> inputs) {

  /**
   * The fact's {@code key} columns (in the dimension's natural-key order) become the surrogate key
   * column {@code column} of the dimension version valid at the query's {@code asOf} column.
   */
  public record DimensionRef(String dimension, List<String> key, String asOf, String column) {
    public DimensionRef {
      key = List.copyOf(key);
    }
  }

  /** A change of {@code table} touches the fact rows whose {@code column} equals its {@code sourceColumn}. */
  public record TouchedBy(String table, String column, String sourceColumn) {}

  public FactSpec {
    grain = List.copyOf(grain);
    dimensions = List.copyOf(dimensions);
    dates = List.copyOf(dates);
    touchedBy = List.copyOf(touchedBy);
    inputs = Set.copyOf(inputs);
  }

  public static String dateKey(String dateColumn) {
    return dateColumn + "_key";
  }

  /** The references whose key includes this query column (one key may be resolved as of several times). */
  public List<DimensionRef> dimensionsOf(String queryColumn) {
    return dimensions.stream().filter(d -> d.key().contains(queryColumn)).toList();
  }

  /**
   * The fact table's columns for a query with these output columns: each dimension reference's key
   * columns replaced (where the first of them stood) by its surrogate key column (every
   * reference's, when one key is resolved as of several times), each date column by its
   * date key, everything else as the query has it. Grain columns always stay (they identify the
   * row), with their surrogate or date key after them.
   */
  public List<String> outputColumns(List<String> queryColumns) {
    List<String> out = new ArrayList<>();
    for (String column : queryColumns) {
      List<DimensionRef> refs = dimensionsOf(column);
      if (grain.contains(column)) {
        out.add(column);
      }
      if (!refs.isEmpty()) {
        refs.stream().map(DimensionRef::column).filter(c -> !out.contains(c)).forEach(out::add);
      } else if (dates.contains(column)) {
        out.add(dateKey(column));
      } else if (!grain.contains(column)) {
        out.add(column);
      }
    }
    return out;
  }
}
