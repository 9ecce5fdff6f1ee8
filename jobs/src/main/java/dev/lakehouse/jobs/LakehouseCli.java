package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.config.LakehouseConfig;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TimeZone;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code lakehouse} command line. Each subcommand is a thin job over the common library. */
@Command(name = "lakehouse",
    mixinStandardHelpOptions = true,
    version = "lakehouse 0.1.0",
    description = "PostgreSQL to Delta Lake: bronze, silver and gold tables with SCD Type 2 history.",
    subcommands = {
        SeedCommand.class, SimulateCommand.class, BronzeJob.class, SilverJob.class, ReconcileJob.class, GoldJob.class,
        RunCommand.class, ReportCommand.class, CheckCommand.class,
        SqlCommand.class, TablesCommand.class, DemoJob.class, BenchCommand.class,
        CommandLine.HelpCommand.class})
public final class LakehouseCli {

  private static final Logger LOG = LoggerFactory.getLogger(LakehouseCli.class);

  @Option(names = {"-e", "--env"}, scope = ScopeType.INHERIT, paramLabel = "ENV",
      description = "Configuration overlay conf/ENV.conf (default: $LAKEHOUSE_ENV or local).")
  String env;

  @Option(names = "--set", scope = ScopeType.INHERIT, paramLabel = "KEY=VALUE",
      description = "Override any configuration key, e.g. --set lakehouse.root=/data/lh (repeatable).")
  Map<String, String> overrides = new LinkedHashMap<>();

  public LakehouseConfig config() {
    return LakehouseConfig.load(env, overrides);
  }

  public Lakehouse open() {
    return new Lakehouse(config());
  }

  public static void main(String[] args) {
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    int code = commandLine().execute(args);
    System.exit(code);
  }

  public static CommandLine commandLine() {
    return new CommandLine(new LakehouseCli())
        .setExecutionExceptionHandler(LakehouseCli::handle)
        .setCaseInsensitiveEnumValuesAllowed(true);
  }

  /** Known failures print one line; anything else prints its type too, with detail in the log. */
  private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    PrintWriter err = cmd.getErr();
    if (e instanceof LakehouseException || e instanceof IllegalArgumentException
        || e instanceof com.typesafe.config.ConfigException) {
      err.println("lakehouse: " + oneLine(e.getMessage()));
    } else {
      err.println("lakehouse: " + e.getClass().getSimpleName() + ": " + oneLine(e.getMessage()));
      LOG.debug("Failure detail", e);
    }
    err.flush();
    return 1;
  }

  static String oneLine(String message) {
    return message == null ? "(no message)" : message.replaceAll("\\s*\\R\\s*", " ").trim();
  }

  /** Non-zero (by exception, one line) when any table of a layer failed, after every table had its turn. */
  static <T> int failIfAny(String layer, java.util.List<T> results, java.util.function.Predicate<T> failed,
                           java.util.function.Function<T, String> describe) {
    java.util.List<T> failures = results.stream().filter(failed).toList();
    if (failures.isEmpty()) {
      return 0;
    }
    throw new LakehouseException(layer + " failed for " + failures.size() + " of " + results.size() + " tables: "
        + String.join("; ", failures.stream().map(describe).toList()));
  }

  /** Base for subcommands: reach the global options and open the lakehouse. */
  abstract static class Subcommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    LakehouseCli cli;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }
  }
}
