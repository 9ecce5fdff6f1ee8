package dev.lakehouse.jobs;

import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;

/** Prints a run's result for people: per stage, a line per table with what it did. */
final class RunPrinter {

  private RunPrinter() {}

  static void print(RunResult result, PrintWriter out) {
    for (Stage stage : Stage.values()) {
      if (!result.ran(stage)) {
        continue;
      }
      List<TableRun> runs = result.of(stage);
      out.printf("%s (%s)%n", stage.label(), seconds(result.stageTimes().get(stage)));
      for (TableRun run : runs) {
        out.printf("  %-34s %s%n", run.table(), describe(run));
      }
    }
    result.notes().forEach(out::println);
    out.printf("run %s: %s in %s%n", result.runId(), result.failed() ? result.failures().size() + " failed" : "ok",
        seconds(result.elapsed()));
    out.flush();
  }

  private static String describe(TableRun run) {
    if (run.failed()) {
      return "FAILED: " + run.error();
    }
    StringBuilder line = new StringBuilder();
    switch (run.stage()) {
      case BRONZE -> line.append("batch ").append(run.batch()).append(", read ").append(run.rowsRead())
          .append(", landed ").append(run.rowsWritten());
      case SILVER -> line.append(run.rowsRead()).append(" in, ").append(run.count("inserted")).append(" inserted, ")
          .append(run.count("updated")).append(" updated, ").append(run.count("deleted")).append(" deleted, ")
          .append(run.count("quarantined")).append(" quarantined");
      case RECONCILE -> line.append(run.rowsRead()).append(" source keys, ").append(run.count("deleted"))
          .append(" soft-deleted");
      case GOLD -> line.append(run.count("inserted")).append(" inserted, ").append(run.count("updated"))
          .append(" updated, ").append(run.count("deleted")).append(" deleted");
      case MAINTAIN -> line.append(run.count("files_before"))
          .append(run.count("files_before") == 1 ? " file" : " files");
    }
    if (run.detail() != null) {
      line.append(" (").append(run.detail()).append(')');
    }
    return line.toString();
  }

  private static String seconds(Duration duration) {
    return duration == null ? "-" : String.format("%.1f s", duration.toMillis() / 1000.0);
  }
}
