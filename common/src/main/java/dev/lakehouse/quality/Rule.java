package dev.lakehouse.quality;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;

import java.time.Duration;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.expressions.Window;

/**
 * A data-quality rule: a small value that knows its name, its action, and which rows fail it.
 * Row rules give a boolean column (true = the row fails); NULLs pass every rule but not_null.
 */
public sealed interface Rule {

  String name();

  Action action();

  /** A column that is true for failing rows, given the lookups a rule may need. */
  Column fails(RuleContext context);

  record NotNull(String column, Action action) implements Rule {
    public String name() {
      return "not_null(" + column + ")";
    }

    public Column fails(RuleContext context) {
      return col(column).isNull();
    }
  }

  record Unique(List<String> columns, Action action) implements Rule {
    public String name() {
      return "unique(" + String.join(",", columns) + ")";
    }

    /** Within the batch being applied (already one row per primary key). */
    public Column fails(RuleContext context) {
      Column[] keys = columns.stream().map(org.apache.spark.sql.functions::col).toArray(Column[]::new);
      Column anyNull = lit(false);
      for (String c : columns) {
        anyNull = anyNull.or(col(c).isNull());
      }
      return not(anyNull).and(count(lit(1)).over(Window.partitionBy(keys)).gt(1));
    }
  }

  record AcceptedValues(String column, List<String> values, Action action) implements Rule {
    public String name() {
      return "accepted_values(" + column + ")";
    }

    public Column fails(RuleContext context) {
      return col(column).isNotNull().and(not(col(column).cast("string").isin(values.toArray())));
    }
  }

  record Range(String column, Double min, Double max, Action action) implements Rule {
    public String name() {
      return "range(" + column + ")";
    }

    public Column fails(RuleContext context) {
      Column value = col(column).cast("double");
      Column fails = lit(false);
      if (min != null) {
        fails = fails.or(value.lt(min));
      }
      if (max != null) {
        fails = fails.or(value.gt(max));
      }
      return col(column).isNotNull().and(fails);
    }
  }

  record Pattern(String column, String regex, Action action) implements Rule {
    public String name() {
      return "pattern(" + column + ")";
    }

    public Column fails(RuleContext context) {
      return col(column).isNotNull().and(not(col(column).cast("string").rlike(regex)));
    }
  }

  /** The column must match a key of another silver table (live or soft-deleted). */
  record Relationship(String column, String toTable, String toColumn, Action action) implements Rule {
    public String name() {
      return "relationships(" + column + "->" + toTable + "." + toColumn + ")";
    }

    public Column fails(RuleContext context) {
      return col(column).isNotNull().and(col(context.lookupFlag(this)).isNull());
    }
  }

  /** Table-level: the newest change must be younger than {@code maxAge}. */
  record Freshness(Duration maxAge, Action action) implements Rule {
    public String name() {
      return "freshness(" + human(maxAge) + ")";
    }

    public Column fails(RuleContext context) {
      return lit(false);
    }

    private static String human(Duration d) {
      if (d.toSeconds() % 86400 == 0) {
        return d.toDays() + "d";
      }
      if (d.toSeconds() % 3600 == 0) {
        return d.toHours() + "h";
      }
      return d.toMinutes() + "m";
    }
  }
}
