package dev.lakehouse.quality;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.array_compact;
import static org.apache.spark.sql.functions.array_contains;
import static org.apache.spark.sql.functions.arrays_overlap;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.lakehouse.spec.Identifiers;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;

/**
 * Evaluates a table's rules on a batch: row rules flag rows (one aggregation counts every rule),
 * table rules judge the batch as a whole, and the result says which rows go to quarantine and
 * whether a {@code fail} rule stops the table.
 */
public final class Quality {

  /** A rule's result on one batch. */
  public record Outcome(Rule rule, long checked, long failed) {
    public boolean stops() {
      return failed > 0 && rule.action() == Action.FAIL;
    }
  }

  /** The evaluated batch. Close it to release the rows it keeps in memory. */
  public static final class Evaluation implements AutoCloseable {
    public static final String FAILED_RULES = "_failed_rules";
    public static final String QUARANTINED = "_quarantined";

    private final Dataset<Row> rows;
    private final List<Outcome> outcomes;
    private final long rowCount;
    private final long quarantinedCount;

    Evaluation(Dataset<Row> rows, List<Outcome> outcomes, long rowCount, long quarantinedCount) {
      this.rows = rows;
      this.outcomes = List.copyOf(outcomes);
      this.rowCount = rowCount;
      this.quarantinedCount = quarantinedCount;
    }

    public List<Outcome> outcomes() {
      return outcomes;
    }

    public long rows() {
      return rowCount;
    }

    public long quarantinedRows() {
      return quarantinedCount;
    }

    /** The outcomes of {@code fail} rules that failed: the table must stop, committing nothing. */
    public List<Outcome> stopping() {
      return outcomes.stream().filter(Outcome::stops).toList();
    }

    /** Rows that passed (or only failed warn rules), without the evaluation's columns. */
    public Dataset<Row> passed() {
      return rows.where(not(col(QUARANTINED))).drop(FAILED_RULES, QUARANTINED);
    }

    /** Rows to hold aside, with the names of the rules they failed in {@value #FAILED_RULES}. */
    public Dataset<Row> quarantined() {
      return rows.where(col(QUARANTINED)).drop(QUARANTINED);
    }

    /** The evaluated rows, cached: whoever caches datasets built on them releases them first. */
    public Dataset<Row> cache() {
      return rows;
    }

    @Override
    public void close() {
      rows.unpersist();
    }
  }

  private Quality() {}

  /**
   * Evaluates {@code rules} on {@code rows}. {@code parentKeys} gives, for a relationship rule,
   * the parent table's key values (columns named as the rule's {@code toColumns}); {@code facts}
   * is what table rules judge, given the batch's row count.
   */
  public static Evaluation evaluate(Dataset<Row> rows, List<Rule> rules,
                                    Function<Rule.Relationship, Dataset<Row>> parentKeys,
                                    java.util.function.BiFunction<Long, Dataset<Row>, Rule.TableFacts> facts) {
    Map<Rule.Relationship, String> flags = new HashMap<>();
    Dataset<Row> withLookups = rows;
    int index = 0;
    for (Rule rule : rules) {
      if (rule instanceof Rule.Relationship relationship) {
        String flag = "_dq_parent_" + index++;
        List<Column> parent = new ArrayList<>();
        for (String column : relationship.toColumns()) {
          parent.add(col(Identifiers.quote(column)).as(flag + "_" + parent.size()));
        }
        Dataset<Row> keys = parentKeys.apply(relationship).select(parent.toArray(Column[]::new)).distinct()
            .withColumn(flag, lit(true));
        Column on = lit(true);
        for (int i = 0; i < relationship.columns().size(); i++) {
          on = on.and(col(Identifiers.quote(relationship.columns().get(i))).equalTo(col(flag + "_" + i)));
        }
        withLookups = withLookups.join(keys, on, "left");
        for (int i = 0; i < relationship.columns().size(); i++) {
          withLookups = withLookups.drop(flag + "_" + i);
        }
        flags.put(relationship, flag);
      }
    }
    Rule.Lookups lookups = flags::get;
    List<Rule.RowRule> rowRules = rules.stream().filter(r -> r instanceof Rule.RowRule)
        .map(r -> (Rule.RowRule) r).toList();
    Column[] failures = rowRules.stream().map(r -> when(r.fails(lookups), lit(r.name()))).toArray(Column[]::new);
    Column[] quarantineNames = rowRules.stream().filter(r -> r.action() == Action.QUARANTINE)
        .map(r -> lit(r.name())).toArray(Column[]::new);
    Dataset<Row> evaluated = withLookups
        .withColumn(Evaluation.FAILED_RULES, failures.length == 0
            ? array().cast("array<string>") : array_compact(array(failures)))
        .drop(flags.values().toArray(String[]::new));
    evaluated = evaluated.withColumn(Evaluation.QUARANTINED, quarantineNames.length == 0 ? lit(false)
        : arrays_overlap(col(Evaluation.FAILED_RULES), array(quarantineNames)))
        .persist(StorageLevel.MEMORY_AND_DISK());

    List<Column> sums = new ArrayList<>();
    sums.add(sum(when(col(Evaluation.QUARANTINED), 1).otherwise(0)));
    rowRules.forEach(r -> sums.add(sum(when(array_contains(col(Evaluation.FAILED_RULES), r.name()), 1).otherwise(0))));
    Row counts = evaluated.agg(functions.count(lit(1)), sums.toArray(Column[]::new)).first();
    long rowCount = counts.getLong(0);
    List<Outcome> outcomes = new ArrayList<>();
    for (int i = 0; i < rowRules.size(); i++) {
      outcomes.add(new Outcome(rowRules.get(i), rowCount, counts.isNullAt(i + 2) ? 0 : counts.getLong(i + 2)));
    }
    Rule.TableFacts tableFacts = facts.apply(rowCount, evaluated);
    for (Rule rule : rules) {
      if (rule instanceof Rule.TableRule tableRule) {
        outcomes.add(new Outcome(rule, rowCount, tableRule.failures(tableFacts)));
      }
    }
    return new Evaluation(evaluated, outcomes, rowCount, counts.isNullAt(1) ? 0 : counts.getLong(1));
  }
}
