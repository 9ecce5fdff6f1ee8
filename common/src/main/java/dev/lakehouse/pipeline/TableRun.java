package dev.lakehouse.pipeline;

import dev.lakehouse.control.RunLog;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One table's outcome in one stage: its status, the batch, rows read and written, the stage's own
 * counts by name (inserted, updated, deleted, quarantined...), an error (failed) or a note for
 * people ({@code detail}), and how long the table took.
 */
public record TableRun(Stage stage, String table, RunLog.Status status, long batch, long rowsRead, long rowsWritten,
                       Map<String, Long> counts, String error, String detail, Duration elapsed) {

  public TableRun {
    counts = Collections.unmodifiableMap(new LinkedHashMap<>(counts));
  }

  public boolean failed() {
    return status == RunLog.Status.FAILED;
  }

  public long count(String name) {
    return counts.getOrDefault(name, 0L);
  }
}
