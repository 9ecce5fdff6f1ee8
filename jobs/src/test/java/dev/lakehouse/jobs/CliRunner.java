package dev.lakehouse.jobs;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Runs the command line in this JVM (sharing the test Spark session) and keeps what it printed. */
record CliRunner(int exitCode, String out, String err) {

  static CliRunner run(List<String> common, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    // The subcommand, then the shared options, then the test's own, which win where they overlap.
    List<String> all = new ArrayList<>();
    if (args.length > 0) {
      all.add(args[0]);
    }
    all.addAll(common);
    all.addAll(Arrays.asList(args).subList(Math.min(1, args.length), args.length));
    int code = LakehouseCli.commandLine()
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute(all.toArray(String[]::new));
    return new CliRunner(code, out.toString(), err.toString());
  }
}
