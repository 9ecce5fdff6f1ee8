package dev.lakehouse.spark;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.execution.LogicalRDD;
import org.apache.spark.storage.StorageLevel;

/** Datasets a step computes once and reuses, and their release. */
public final class Cached {

  private Cached() {}

  /**
   * Computes {@code rows} now and returns them as a dataset with no lineage (a local checkpoint,
   * memory and disk). Later plans built on it, a MERGE above all, start from these rows instead of
   * re-planning every Delta scan behind them: Delta prepares each scan of a table with deletion
   * vectors by listing its files, and a MERGE plans its source several times; measured, that was
   * hundreds of file listings and most of an incremental gold run. It is also the way to hold rows
   * read from a table that the step then writes: after a write Spark plans every cached dataset
   * that reads the written table again (its cache manager keeps such entries valid), and Delta lists
   * the table's files to do it, about a second after each MERGE; a local checkpoint reads no table.
   * Released by {@link #release}.
   */
  public static Dataset<Row> materialize(Dataset<Row> rows, List<Dataset<Row>> held) {
    Dataset<Row> cut = rows.localCheckpoint(true, StorageLevel.MEMORY_AND_DISK());
    synchronized (held) {
      held.add(cut);
    }
    return cut;
  }

  /**
   * Releases newest first. A cached dataset built on an older cached one would otherwise be
   * re-planned and re-cached by Spark when the older one goes (its cache manager keeps dependent
   * entries valid), which costs a query plan per dependant.
   */
  public static void release(List<? extends Dataset<?>> held) {
    List<? extends Dataset<?>> copy;
    synchronized (held) {
      copy = new ArrayList<>(held);
      held.clear();
    }
    for (int i = copy.size() - 1; i >= 0; i--) {
      Dataset<?> rows = copy.get(i);
      if (rows.queryExecution().logical() instanceof LogicalRDD checkpoint) {
        checkpoint.rdd().unpersist(false);
      } else {
        rows.unpersist();
      }
    }
  }
}
