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
    List<String> all = new ArrayList<>(Arrays.asList(args));
    all.addAll(common);
    int code = LakehouseCli.commandLine()
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute(all.toArray(String[]::new));
    return new CliRunner(code, out.toString(), err.toString());
  }
}
