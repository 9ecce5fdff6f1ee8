package dev.lakehouse.quality;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;

import dev.lakehouse.spec.Identifiers;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.expressions.Window;

/**
 * A data-quality rule: a small value that knows its name, its action, and what fails it. Row rules
 * flag rows (NULLs pass every row rule but not_null); table rules judge the table as a whole.
 * Column names are silver's.
 */
public sealed interface Rule {

  String name();

  Action action();

  /** The silver columns the rule reads on its own table. */
  List<String> columns();

  /** A rule evaluated on each row: {@link #fails} is true for failing rows. */
  sealed interface RowRule extends Rule {
    Column fails(Lookups lookups);
  }

  /** A rule about the table as a whole: how many failures it counts (0 when it holds). */
  sealed interface TableRule extends Rule {
    long failures(TableFacts facts);
  }

  /** What row rules need from outside the rows: the column a relationship lookup adds. */
  interface Lookups {
    String flagColumn(Relationship rule);
  }

  /** What table rules need to know about the batch: its rows and its newest change. */
  record TableFacts(long rows, Optional<Instant> newestChange, Instant now) {}

  private static Column c(String column) {
    return col(Identifiers.quote(column));
  }

  record NotNull(String column, Action action) implements RowRule {
    public String name() {
      return "not_null(" + column + ")";
    }

    public List<String> columns() {
      return List.of(column);
    }

    public Column fails(Lookups lookups) {
      return c(column).isNull();
    }
  }

  /** Within the batch being applied (already one row per primary key). */
  record Unique(List<String> columns, Action action) implements RowRule {
    public Unique {
      columns = List.copyOf(columns);
    }

    public String name() {
      return "unique(" + String.join(",", columns) + ")";
    }

    public Column fails(Lookups lookups) {
      Column[] keys = columns.stream().map(Rule::c).toArray(Column[]::new);
      Column anyNull = lit(false);
      for (String column : columns) {
        anyNull = anyNull.or(c(column).isNull());
      }
      return not(anyNull).and(count(lit(1)).over(Window.partitionBy(keys)).gt(1));
    }
  }

  record AcceptedValues(String column, List<String> values, Action action) implements RowRule {
    public AcceptedValues {
      values = List.copyOf(values);
    }

    public String name() {
      return "accepted_values(" + column + ")";
    }

    public List<String> columns() {
      return List.of(column);
    }

    public Column fails(Lookups lookups) {
      return c(column).isNotNull().and(not(c(column).cast("string").isin(values.toArray())));
    }
  }

  record Range(String column, Double min, Double max, Action action) implements RowRule {
    public String name() {
      return "range(" + column + ")";
    }

    public List<String> columns() {
      return List.of(column);
    }

    public Column fails(Lookups lookups) {
      Column value = c(column).cast("double");
      Column fails = lit(false);
      if (min != null) {
        fails = fails.or(value.lt(min));
      }
      if (max != null) {
        fails = fails.or(value.gt(max));
      }
      return c(column).isNotNull().and(fails);
    }
  }

  record Pattern(String column, String regex, Action action) implements RowRule {
    public String name() {
      return "pattern(" + column + ")";
    }

    public List<String> columns() {
      return List.of(column);
    }

    public Column fails(Lookups lookups) {
      return c(column).isNotNull().and(not(c(column).cast("string").rlike(regex)));
    }
  }

  /**
   * The columns must match a key of another silver table (live or soft-deleted). A row with a
   * NULL in any of them passes, as a foreign key would.
   */
  record Relationship(List<String> columns, String toTable, List<String> toColumns, Action action) implements RowRule {
    public Relationship {
      columns = List.copyOf(columns);
      toColumns = List.copyOf(toColumns);
    }

    public String name() {
      return "relationships(" + String.join(",", columns) + "->" + toTable + "." + String.join(",", toColumns) + ")";
    }

    public Column fails(Lookups lookups) {
      Column present = lit(true);
      for (String column : columns) {
        present = present.and(c(column).isNotNull());
      }
      return present.and(col(lookups.flagColumn(this)).isNull());
    }
  }

  /**
   * A configured silver cast that could not convert a value (e.g. 'abc' as an int): built in, every
   * cast is checked. {@code flagColumn} holds the value as it arrived (as text) on the rows where it
   * failed, NULL elsewhere. On a {@code key} column a value that converts only with a loss ('007' or
   * 7.5 as an int) fails too: two source keys would become one silver row.
   */
  record Cast(String column, String type, String flagColumn, Action action, boolean key) implements RowRule {
    public String name() {
      return "cast(" + column + " AS " + type + ")";
    }

    public List<String> columns() {
      return List.of(column);
    }

    public Column fails(Lookups lookups) {
      return col(flagColumn).isNotNull();
    }
  }

  /**
   * A value the source holds that no Spark value of its column can (NaN in a {@code numeric}, an
   * infinite date, ...), which the log capture kept as text: {@code flagColumn} maps each such
   * column to its text, NULL on the other rows. Built in, and it always quarantines: the log holds
   * the value for good, so stopping the table would stop it for good too.
   */
  record Representable(String flagColumn) implements RowRule {
    public String name() {
      return "representable";
    }

    public Action action() {
      return Action.QUARANTINE;
    }

    public List<String> columns() {
      return List.of();
    }

    public Column fails(Lookups lookups) {
      return col(flagColumn).isNotNull();
    }
  }

  /**
   * A key arrived in more than one version within one bronze batch (the latest is applied): the
   * surviving row carries how many versions its key had in {@code versionsColumn}, so the failures
   * count keys. Always a warning.
   */
  record OneVersionPerBatch(List<String> columns, String versionsColumn) implements RowRule {
    public OneVersionPerBatch {
      columns = List.copyOf(columns);
    }

    public String name() {
      return "one_version_per_batch(" + String.join(",", columns) + ")";
    }

    public Action action() {
      return Action.WARN;
    }

    public Column fails(Lookups lookups) {
      return col(versionsColumn).gt(1);
    }
  }

  /** The newest change must be younger than {@code maxAge}; an empty table is stale. */
  record Freshness(Duration maxAge, Action action) implements TableRule {
    public String name() {
      return "freshness(" + dev.lakehouse.spec.Durations.written(maxAge) + ")";
    }

    public List<String> columns() {
      return List.of();
    }

    public long failures(TableFacts facts) {
      return facts.newestChange().map(n -> Duration.between(n, facts.now()).compareTo(maxAge) > 0).orElse(true) ? 1 : 0;
    }
  }
}
