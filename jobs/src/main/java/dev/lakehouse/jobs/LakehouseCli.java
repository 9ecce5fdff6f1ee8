package dev.lakehouse.jobs;

import dev.lakehouse.Errors;
import dev.lakehouse.Lakehouse;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.SpecException;
import java.io.PrintWriter;
import java.nio.file.Path;
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

/**
 * The {@code lakehouse} command line. Each subcommand is a thin adapter: read the specification,
 * ask the engine, print the typed result. Exit codes: 0 done, 1 the run failed (one line per
 * failure on stderr), 2 the command line itself is wrong.
 */
@Command(name = "lakehouse",
    // Inherited, so every subcommand has --help, which the usage errors point to.
    scope = ScopeType.INHERIT,
    mixinStandardHelpOptions = true,
    version = "lakehouse 0.2.0",
    description = "PostgreSQL to Delta Lake: bronze, silver and gold tables with SCD Type 2 history.",
    subcommands = {
        ValidateCommand.class, DiscoverCommand.class,
        StageCommands.Run.class, StageCommands.Bronze.class, StageCommands.Silver.class, StageCommands.Reconcile.class,
        StageCommands.Gold.class, StageCommands.Maintain.class, StreamCommand.class, LogCommand.class,
        ReportCommand.class, CheckCommand.class, SqlCommand.class, TablesCommand.class,
        SeedCommand.class, SimulateCommand.class, DemoJob.class, BenchCommand.class,
        CommandLine.HelpCommand.class})
public final class LakehouseCli {

  private static final Logger LOG = LoggerFactory.getLogger(LakehouseCli.class);
  public static final int FAILED = 1;
  public static final int USAGE = 2;

  @Option(names = {"-e", "--env"}, scope = ScopeType.INHERIT, paramLabel = "ENV",
      description = "Configuration overlay conf/ENV.conf (default: $LAKEHOUSE_ENV or local).")
  String env;

  @Option(names = "--conf", scope = ScopeType.INHERIT, paramLabel = "FILE",
      description = "The specification to use instead of conf/application.conf; what it sets wins over conf/ENV.conf.")
  Path conf;

  @Option(names = "--set", scope = ScopeType.INHERIT, paramLabel = "KEY=VALUE",
      description = "Override any configuration key, e.g. --set lakehouse.root=/data/lh (repeatable).")
  Map<String, String> overrides = new LinkedHashMap<>();

  @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
      description = "On failure, print the stack trace too.")
  boolean verbose;

  public LakehouseConfig config() {
    return LakehouseConfig.load(env, conf, overrides, System.getenv());
  }

  public Lakehouse open() {
    return new Lakehouse(config().spec());
  }

  public static void main(String[] args) {
    TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    int code = commandLine().execute(args);
    System.exit(code);
  }

  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new LakehouseCli())
        .setExecutionExceptionHandler(LakehouseCli::handle)
        .setCaseInsensitiveEnumValuesAllowed(true);
    commandLine.setParameterExceptionHandler((e, args) -> {
      PrintWriter err = e.getCommandLine().getErr();
      err.println("lakehouse: " + Errors.oneLine(e.getMessage()) + " (see "
          + e.getCommandLine().getCommandSpec().qualifiedName() + " --help)");
      err.flush();
      return USAGE;
    });
    return commandLine;
  }

  /** Every failure is one line on stderr (a line per problem of the specification); detail only with --verbose. */
  private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    PrintWriter err = cmd.getErr();
    if (e instanceof SpecException spec) {
      spec.problems().forEach(p -> err.println("lakehouse: " + Errors.oneLine(p)));
    } else {
      err.println("lakehouse: " + Errors.describe(e));
    }
    LOG.debug("Failure detail", e);
    if (parsed != null && parsed.matchedOption("--verbose") != null) {
      e.printStackTrace(err);
    }
    err.flush();
    return FAILED;
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
