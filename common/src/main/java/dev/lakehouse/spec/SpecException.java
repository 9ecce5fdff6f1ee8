package dev.lakehouse.spec;

import dev.lakehouse.LakehouseException;
import java.util.List;

/**
 * The specification has problems: each names the configuration key path it is about. Nothing has
 * run when this is thrown.
 */
public final class SpecException extends LakehouseException {

  private final List<String> problems;

  public SpecException(List<String> problems) {
    super(summary(problems));
    this.problems = List.copyOf(problems);
  }

  /** One line per problem, e.g. {@code lakehouse.tables.orders.cursor: no column 'updatd_at' in ...}. */
  public List<String> problems() {
    return problems;
  }

  private static String summary(List<String> problems) {
    if (problems.size() == 1) {
      return problems.get(0);
    }
    return problems.get(0) + " (and " + (problems.size() - 1) + " more problem"
        + (problems.size() == 2 ? "" : "s") + "; lakehouse validate lists them all)";
  }
}
