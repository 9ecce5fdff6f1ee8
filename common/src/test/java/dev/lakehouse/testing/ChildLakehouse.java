package dev.lakehouse.testing;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.Errors;
import dev.lakehouse.Lakehouse;
import dev.lakehouse.control.CrashPoints;
import dev.lakehouse.pipeline.Pipeline;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Streaming;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehouseSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A lakehouse in a child JVM, for tests that kill the process: {@code main} runs one job on a HOCON
 * specification file, and {@link #start} launches it with the test JVM's class path and the same
 * module flags ({@code --add-opens} and friends) the Surefire configuration gives the test JVM.
 *
 * <p>Modes (arguments after the specification file):
 * <ul>
 *   <li>{@code run}: {@link Pipeline#runAll} once; exit 0, or 1 when a table failed.</li>
 *   <li>{@code stream <seconds>}: the {@link Streaming} loop for that long, then a clean stop.</li>
 *   <li>{@code collect <delta path>}: collects a Delta table to the driver under the
 *       specification's Spark settings (a control for {@code spark.driver.maxResultSize}).</li>
 * </ul>
 * With {@code -Dlakehouse.crash-at=<point>} the child halts with exit code 137 at that point
 * ({@link CrashPoints}), printing {@value #HALTING}{@code <point>} first.
 */
public final class ChildLakehouse {

  /** Printed once the Spark session is up (the child's start-up cost is paid). */
  public static final String READY = "child: spark ready";
  /** Printed right before the streaming loop starts. */
  public static final String STREAMING = "child: streaming";
  /** Printed at the end of a job that finished. */
  public static final String FINISHED = "child: finished";
  /** What {@link CrashPoints} logs before it halts. */
  public static final String HALTING = "Halting at crash point ";
  /** The exit code of a halt at a crash point, and of a process killed with SIGKILL (128 + 9). */
  public static final int KILLED = 137;

  /**
   * Used when the test JVM was started without them (an IDE): the list of
   * {@code spark.jvm.flags} in the parent pom.
   */
  private static final List<String> DEFAULT_FLAGS = List.of("-XX:+IgnoreUnrecognizedVMOptions",
      "--add-modules=jdk.incubator.vector", "--add-opens=java.base/java.lang=ALL-UNNAMED",
      "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED", "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
      "--add-opens=java.base/java.io=ALL-UNNAMED", "--add-opens=java.base/java.net=ALL-UNNAMED",
      "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
      "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED", "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
      "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
      "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
      "-Djdk.reflect.useDirectMethodHandle=false", "-Dio.netty.tryReflectionSetAccessible=true");

  private ChildLakehouse() {}

  public static void main(String[] args) {
    int exit;
    try {
      exit = job(args);
    } catch (Throwable e) {
      System.out.println("child: failed: " + Errors.describe(e));
      e.printStackTrace(System.out);
      exit = 1;
    }
    System.out.println(FINISHED + " (exit " + exit + ")");
    System.out.flush();
    System.exit(exit);
  }

  private static int job(String[] args) throws Exception {
    if (args.length < 2) {
      System.out.println("usage: ChildLakehouse <spec.conf> run | stream <seconds> | collect <delta path>");
      return 2;
    }
    // The property is set aside while the specification is read, so the child does not depend on
    // LakehouseConfig ignoring system properties (CrashPointPropertyTest checks that it does).
    String crashAt = System.clearProperty(CrashPoints.PROPERTY);
    ConfigFactory.invalidateCaches();
    LakehouseSpec spec = LakehouseConfig.of(ConfigFactory.parseFile(Paths.get(args[0]).toFile())).spec();
    if (crashAt != null) {
      System.setProperty(CrashPoints.PROPERTY, crashAt);
    }
    System.out.println("child: pid " + ProcessHandle.current().pid() + ", " + String.join(" ", args)
        + Optional.ofNullable(System.getProperty(CrashPoints.PROPERTY)).map(p -> ", crash at " + p).orElse(""));
    try (Lakehouse lakehouse = new Lakehouse(spec)) {
      lakehouse.spark();
      System.out.println(READY);
      System.out.flush();
      switch (args[1]) {
        case "run" -> {
          RunResult result = new Pipeline(lakehouse).runAll(List.of());
          result.tables().forEach(t -> System.out.println("child: " + t.stage().label() + " " + t.table() + " "
              + t.status() + " " + t.rowsWritten() + " rows" + (t.error() == null ? "" : ": " + t.error())));
          result.notes().forEach(n -> System.out.println("child: note: " + n));
          return result.failed() || !result.notes().isEmpty() ? 1 : 0;
        }
        case "stream" -> {
          Instant deadline = Instant.now().plusSeconds(Long.parseLong(args[2]));
          System.out.println(STREAMING);
          System.out.flush();
          Streaming.Summary summary = new Streaming(lakehouse).run(() -> Instant.now().isAfter(deadline),
              line -> {
                System.out.println("child: " + line);
                System.out.flush();
              });
          System.out.println("child: " + summary);
          return summary.failure() == null ? 0 : 1;
        }
        case "collect" -> {
          long rows = lakehouse.spark().read().format("delta").load(args[2]).collectAsList().size();
          System.out.println("child: collected " + rows + " rows");
          return 0;
        }
        default -> {
          System.out.println("child: unknown mode " + args[1]);
          return 2;
        }
      }
    }
  }

  /** A child process, its output (stdout and stderr together) in {@code log}. */
  public record Child(Process process, Path log, List<String> command) {

    /** Waits until it ends; kills it and fails after {@code timeout}. */
    public int await(Duration timeout) throws InterruptedException {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill();
        throw new AssertionError("the child did not end within " + timeout + "; its output:\n" + output());
      }
      return process.exitValue();
    }

    /** Waits until the output holds {@code line} (true), or the child ended or {@code timeout} passed (false). */
    public boolean awaitLine(String line, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        if (output().contains(line)) {
          return true;
        }
        if (!process.isAlive()) {
          return output().contains(line);
        }
        Thread.sleep(100);
      }
      return false;
    }

    /** Kills it as {@code kill -9} would and waits for it to be gone; returns the exit code. */
    public int kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(60, TimeUnit.SECONDS);
      return process.exitValue();
    }

    public String output() {
      try {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** The last lines of the output, for assertion messages. */
    public String tail(int lines) {
      List<String> all = Arrays.asList(output().split("\\R"));
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }
  }

  /**
   * Starts {@code main} on {@code spec} with {@code args}; with {@code crashAt}, set to halt at that
   * point. The child's temporary files (Spark's local directories, the log capture's spill) go
   * under {@code tmp}, so what a killed child leaves behind stays with the test.
   */
  public static Child start(Path spec, Path log, Path tmp, Optional<String> crashAt, String... args) {
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx1g");
    command.add("-Duser.timezone=UTC");
    command.add("-Djava.io.tmpdir=" + tmp);
    command.addAll(jvmFlags());
    crashAt.ifPresent(point -> command.add("-D" + CrashPoints.PROPERTY + "=" + point));
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(ChildLakehouse.class.getName());
    command.add(spec.toString());
    command.addAll(List.of(args));
    try {
      Files.createDirectories(tmp);
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
      builder.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
      builder.environment().put("TZ", "UTC");
      Process process = builder.start();
      process.getOutputStream().close();
      return new Child(process, log, command);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot start a child JVM", e);
    }
  }

  /**
   * The test JVM's module and reflection flags (Surefire's {@code argLine}, from
   * {@code spark.jvm.flags}), or the same list when it was started without them.
   */
  static List<String> jvmFlags() {
    List<String> flags = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("--add-exports")
            || a.equals("-XX:+IgnoreUnrecognizedVMOptions") || a.startsWith("-Djdk.reflect.useDirectMethodHandle")
            || a.startsWith("-Dio.netty.tryReflectionSetAccessible"))
        .toList();
    return flags.stream().anyMatch(f -> f.startsWith("--add-opens")) ? flags : DEFAULT_FLAGS;
  }
}
