package dev.lakehouse.spark;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;

/**
 * Compiled query code only for a stage that works on many rows. Spark compiles every query stage,
 * and the projections, predicates and orderings in it, to classes of its own before running it:
 * tens to hundreds of milliseconds of CPU per distinct plan, paid back per row. A run on a small
 * lakehouse runs hundreds of distinct plans over few rows, so compiling is much of its time; a
 * large one reads millions of rows in each MERGE and mart and needs the compiled code. Measured
 * with {@code bench pipeline} on 2 cores (README): on a 100,000-item source, interpreted took 22%
 * less time for the initial load and for a 1,000-change cycle, and 34% less for a run with
 * nothing new; on a 10,000,000-item source a 10,000-change cycle took 353 s with silver and gold
 * interpreted against 199 s compiled. Interpreted means whole-stage code generation off and
 * interpreted expressions ({@code spark.sql.codegen.factoryMode}, which Spark marks internal;
 * its interpreted objects are the ones Spark itself falls back to when a compile fails).
 * Whole-stage code generation off alone measured no faster. The configuration's own choice wins
 * when it names either setting.
 */
public final class CodeGeneration {

  public static final String WHOLE_STAGE = "spark.sql.codegen.wholeStage";
  public static final String FACTORY_MODE = "spark.sql.codegen.factoryMode";
  private static final Map<String, Optional<String>> INTERPRETED =
      Map.of(WHOLE_STAGE, Optional.of("false"), FACTORY_MODE, Optional.of("NO_CODEGEN"));

  private CodeGeneration() {}

  /**
   * Runs {@code stage} interpreted when it is known to work on fewer than {@code minRows} rows
   * (compiled when the count is unknown, {@code minRows} is 0 or the configuration sets either
   * setting), then restores the session. {@code rows} is asked only when the choice depends on it.
   */
  public static <T> T forRows(SparkSession spark, Map<String, String> configured, long minRows,
                              Supplier<OptionalLong> rows, Supplier<T> stage) {
    boolean configuredChoice = INTERPRETED.keySet().stream().anyMatch(configured::containsKey);
    if (configuredChoice || minRows <= 0) {
      return stage.get();
    }
    OptionalLong count = rows.get();
    if (count.isEmpty() || count.getAsLong() >= minRows) {
      return stage.get();
    }
    return SessionSettings.with(spark, INTERPRETED, stage);
  }

  /** The settings a session made for part of a stage's work takes from the stage's session. */
  static Set<String> settings() {
    return INTERPRETED.keySet();
  }
}
