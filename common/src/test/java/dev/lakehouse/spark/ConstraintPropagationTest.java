package dev.lakehouse.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lag;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.when;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.testing.LakehouseTestBase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The lakehouse's session plans without Spark's constraint propagation (reference.conf): with it,
 * a filter over n expressions that a projection above it aliases grows to 2^n constraints, and an
 * SCD2 dimension's change filter has that shape for n tracked columns.
 */
class ConstraintPropagationTest extends LakehouseTestBase {

  /**
   * An SCD2 dimension's shape: keep a row where any of 24 columns differs from the stored one,
   * below a projection of those columns. With propagation on, planning it grows as 2^24 (16
   * columns took 71 s, 15 took 18.7 s); the timeout turns such a hang into a failure and
   * measures nothing.
   */
  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aChangeFilterOverManyAliasedColumnsPlansAtOnce() {
    int n = 24;
    List<String> columns = new ArrayList<>(List.of("id", "id < 0 AS deleted"));
    List<String> stored = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      columns.add("id * " + i + " AS c" + i);
      stored.add("'c" + i + "', id * " + i + " + id % 2");
    }
    columns.add("named_struct(" + String.join(", ", stored) + ") AS stored");
    Dataset<Row> rows = spark.range(20).selectExpr(columns.toArray(String[]::new));
    List<Column> shaped = new ArrayList<>(List.of(col("id"), col("stored")));
    Column differs = lit(false);
    List<Column> kept = new ArrayList<>(List.of(col("id")));
    for (int i = 0; i < n; i++) {
      String c = "c" + i;
      shaped.add(when(col("deleted"), lag(col(c), 1).over(Window.partitionBy("id").orderBy("id"))).otherwise(col(c)).as(c));
      differs = differs.or(not(col(c).eqNullSafe(col("stored").getField(c))));
      kept.add(col(c));
    }
    Dataset<Row> changed = rows.select(shaped.toArray(Column[]::new)).where(differs).select(kept.toArray(Column[]::new));
    long count = changed.localCheckpoint().count();
    assertEquals(10, count, "the rows with an odd id differ from what is stored");
  }
}
