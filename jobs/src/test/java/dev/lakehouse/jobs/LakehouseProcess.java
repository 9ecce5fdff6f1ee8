package dev.lakehouse.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code lakehouse <args>} in a child JVM, as bin/lakehouse runs it: the build's JVM flags, this
 * module's class path and the command line's own logging configuration
 * ({@code src/main/resources/log4j2.properties}, not the tests'), so what it prints on stdout and
 * stderr is what a user sees.
 */
record LakehouseProcess(int exit, String out, String err) {

  /**
   * A run is short: the client compiler only (C2 cost a run 86 s of CPU against 60 s without it,
   * on 2 cores). C1 alone shrinks the default code cache to 48 MB, which a whole pipeline run
   * fills; the JIT then stops and Spark fails with "Out of space in CodeCache for adapters", so
   * the cache keeps the size it has with both compilers.
   */
  static final List<String> QUICK_JIT = List.of("-XX:TieredStopAtLevel=1", "-XX:ReservedCodeCacheSize=240m");

  /** Runs the command with these extra environment variables and JVM options; stdout and stderr kept apart. */
  static LakehouseProcess run(Map<String, String> environment, List<String> jvmOptions, List<String> args)
      throws IOException, InterruptedException {
    Path out = Files.createTempFile("lakehouse-", ".out");
    Path err = Files.createTempFile("lakehouse-", ".err");
    Process process = start(environment, jvmOptions, args, out, err);
    try {
      if (!process.waitFor(5, TimeUnit.MINUTES)) {
        throw new AssertionError("lakehouse " + args + " did not finish in 5 minutes; output in " + out + ", " + err);
      }
    } finally {
      ChildProcesses.stop(process);
    }
    LakehouseProcess result = new LakehouseProcess(process.exitValue(), Files.readString(out), Files.readString(err));
    Files.deleteIfExists(out);
    Files.deleteIfExists(err);
    return result;
  }

  /** Starts the command, its stdout and stderr going to {@code out} and {@code err}; the caller stops it. */
  static Process start(Map<String, String> environment, List<String> jvmOptions, List<String> args, Path out, Path err)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx1g");
    command.add("-Duser.timezone=UTC");
    command.addAll(QUICK_JIT);
    command.addAll(Arrays.asList(Files.readString(Paths.get("target/jvm.options")).trim().split("\\s+")));
    command.add("-Dlog4j2.configurationFile=" + Paths.get("target/classes/log4j2.properties").toAbsolutePath());
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(LakehouseCli.class.getName());
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    Map<String, String> env = builder.environment();
    env.keySet().removeIf(k -> k.startsWith("LAKEHOUSE_") || k.startsWith("AWS_"));
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.putAll(environment);
    Process process = builder.start();
    process.getOutputStream().close();
    return process;
  }

  String describe() {
    return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
  }
}
