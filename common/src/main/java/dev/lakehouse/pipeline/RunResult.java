package dev.lakehouse.pipeline;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** What a run did: every table's outcome per stage, each stage's time, and notes (a stage skipped and why). */
public record RunResult(String runId, List<TableRun> tables, Map<Stage, Duration> stageTimes, List<String> notes,
                        Duration elapsed) {

  public RunResult {
    tables = List.copyOf(tables);
    stageTimes = Collections.unmodifiableMap(new java.util.LinkedHashMap<>(stageTimes));
    notes = List.copyOf(notes);
  }

  public List<TableRun> of(Stage stage) {
    return tables.stream().filter(t -> t.stage() == stage).toList();
  }

  public boolean ran(Stage stage) {
    return stageTimes.containsKey(stage);
  }

  public List<TableRun> failures() {
    return tables.stream().filter(TableRun::failed).toList();
  }

  public boolean failed() {
    return !failures().isEmpty();
  }

  /** One line per failed table: {@code stage table: error}. */
  public List<String> failureLines() {
    List<String> lines = new ArrayList<>();
    for (TableRun t : failures()) {
      lines.add(t.stage().label() + " " + t.table() + ": " + t.error());
    }
    return lines;
  }
}
