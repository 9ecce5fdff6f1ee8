package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.bronze.LogSetup;
import dev.lakehouse.spec.TableSpec;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code lakehouse log setup|status|teardown}: the source side of tables in mode = log. */
@Command(name = "log", description = "Logical replication for tables in mode = log: setup, status, teardown.",
    subcommands = {LogCommand.Setup.class, LogCommand.Status.class, LogCommand.Teardown.class})
public final class LogCommand {

  abstract static class LogSubcommand implements java.util.concurrent.Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec commandSpec;

    LakehouseCli root() {
      return (LakehouseCli) commandSpec.parent().parent().userObject();
    }

    @Override
    public Integer call() {
      try (Lakehouse lakehouse = root().open()) {
        List<TableSpec> tables = lakehouse.spec().logTables();
        LogSetup setup = new LogSetup(lakehouse.source(), lakehouse.spec().log());
        run(lakehouse, tables, setup).forEach(commandSpec.commandLine().getOut()::println);
        commandSpec.commandLine().getOut().flush();
        return 0;
      }
    }

    abstract List<String> run(Lakehouse lakehouse, List<TableSpec> tables, LogSetup setup);
  }

  @Command(name = "setup", description = "Check the source (wal_level = logical, privileges, keys), create the"
      + " publication of the log tables and the replication slot.")
  static final class Setup extends LogSubcommand {
    @Override
    List<String> run(Lakehouse lakehouse, List<TableSpec> tables, LogSetup setup) {
      if (tables.isEmpty()) {
        throw new LakehouseException("No table is in mode = log; set lakehouse.tables.<t>.mode = log first");
      }
      return setup.setup(tables);
    }
  }

  @Command(name = "status", description = "The publication's tables and the slot: active, position, retained WAL, lag.")
  static final class Status extends LogSubcommand {
    @Override
    List<String> run(Lakehouse lakehouse, List<TableSpec> tables, LogSetup setup) {
      LogSetup.Status status = setup.status();
      return List.of(
          "publication " + status.publication() + ": " + (status.publishedTables().isEmpty() ? "absent or empty"
              : status.publishedTables()),
          status.slot().map(s -> "slot " + s.name() + ": " + (s.active() ? "active" : "inactive")
              + ", confirmed " + s.confirmedFlushLsn() + ", restart " + s.restartLsn()
              + ", retained WAL " + (s.retainedWalBytes() / 1024) + " kB, lag " + (s.lagBytes() / 1024) + " kB")
              .orElse("slot " + lakehouse.spec().log().slot() + ": absent"));
    }
  }

  @Command(name = "teardown", description = "Drop the slot (its unconfirmed changes are lost) and the publication.")
  static final class Teardown extends LogSubcommand {
    @Override
    List<String> run(Lakehouse lakehouse, List<TableSpec> tables, LogSetup setup) {
      return setup.teardown();
    }
  }
}
