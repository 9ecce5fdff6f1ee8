package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.bronze.BronzeLoader.TableResult;
import dev.lakehouse.control.RunId;
import java.time.Instant;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code lakehouse run}: the whole pipeline, layer by layer. */
@Command(name = "run", description = "Run the pipeline: bronze (then silver and gold as they exist).")
public final class RunCommand extends LakehouseCli.Subcommand {

  @Override
  public Integer call() {
    try (Lakehouse lakehouse = cli.open()) {
      String runId = RunId.next(Instant.now());
      List<TableResult> bronze = BronzeJob.run(lakehouse, List.of(), runId);
      BronzeJob.print(out(), bronze);
      return BronzeJob.failures(bronze);
    }
  }
}
