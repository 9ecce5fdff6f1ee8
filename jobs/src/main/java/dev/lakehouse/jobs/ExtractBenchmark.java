package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.acme.AcmeSchema;
import dev.lakehouse.pipeline.Pipeline;
import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.spec.TableSpec;
import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.source.SourceDatabase;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.postgresql.PGConnection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import java.util.concurrent.Callable;

/**
 * {@code lakehouse bench extract}: PostgreSQL's own {@code COPY ... TO STDOUT} into a null sink
 * against the bronze extraction of the same table, in one run on one embedded server.
 */
@Command(name = "extract", description = "COPY TO STDOUT (baseline) against bronze extraction of order_items.")
public final class ExtractBenchmark implements Callable<Integer> {

  @ParentCommand
  BenchCommand bench;

  @Spec
  CommandSpec spec;

  @Option(names = "--rows", defaultValue = "2000000", description = "order_items rows (default: ${DEFAULT-VALUE}).")
  long rows;

  @Option(names = "--partitions", description = "Parallel reads (default: the table's configuration).")
  Integer partitions;

  @Option(names = "--method", description = "copy or jdbc (default: the table's configuration).")
  String method;

  @Option(names = "--warmup", defaultValue = "2", description = "Unmeasured rounds first, so both paths run JIT-compiled code (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--rounds", defaultValue = "5", description = "Measured rounds; the medians are reported (default: ${DEFAULT-VALUE}).")
  int rounds;

  private static final String TABLE = "order_items";

  static double median(long[] values) {
    long[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    int middle = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2.0;
  }

  @Override
  public Integer call() throws Exception {
    if (rounds < 1 || warmup < 0) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--rounds must be at least 1 and --warmup at least 0");
    }
    PrintWriter out = spec.commandLine().getOut();
    LakehouseCli cli = (LakehouseCli) spec.parent().parent().userObject();
    Path work = Files.createTempDirectory("lakehouse-bench-");
    try (EmbeddedSource postgres = EmbeddedSource.startTemporary()) {
      LakehouseConfig base = cli.config();
      SourceSettings source = postgres.settings(base.spec().source());
      out.printf("generating %,d %s rows in embedded PostgreSQL...%n", rows, TABLE);
      out.flush();
      generate(source, rows);

      Map<String, String> settings = new java.util.HashMap<>(Map.of(
          "lakehouse.source.url", source.url(),
          "lakehouse.source.user", source.user(),
          "lakehouse.source.password", source.password()));
      if (partitions != null) {
        settings.put("lakehouse.tables." + TABLE + ".partitions", partitions.toString());
      }
      if (method != null) {
        settings.put("lakehouse.tables." + TABLE + ".method", method);
      }
      LakehouseConfig config = base.with(settings);
      for (int round = 0; round < warmup; round++) {
        out.printf("warm-up round %d of %d (not measured)...%n", round + 1, warmup);
        out.flush();
        copyToNull(source);
        extract(config, work.resolve("warmup-" + round));
      }
      // Each round measures both paths back to back, so a slow moment of the machine hits both;
      // the medians damp the rest of the run-to-run noise.
      long[] copyNanos = new long[rounds];
      long[] extractNanos = new long[rounds];
      for (int round = 0; round < rounds; round++) {
        copyNanos[round] = copyToNull(source);
        extractNanos[round] = extract(config, work.resolve("round-" + round));
        out.printf("round %d: COPY %.2f s, bronze %.2f s%n", round + 1, copyNanos[round] / 1e9, extractNanos[round] / 1e9);
        out.flush();
      }
      TableSpec spec = config.spec().table(TABLE).orElseThrow();
      double copySeconds = median(copyNanos) / 1e9;
      double extractSeconds = median(extractNanos) / 1e9;
      double copyRate = rows / copySeconds;
      double extractRate = rows / extractSeconds;
      out.printf("%nrows: %,d   partitions: %d   method: %s   warm-up rounds: %d   measured rounds: %d (medians)%n",
          rows, spec.partitions(), spec.method().name().toLowerCase(), warmup, rounds);
      out.printf("%-46s %8.2f s %,12.0f rows/s%n", "baseline: COPY (SELECT ...) TO STDOUT -> null", copySeconds, copyRate);
      out.printf("%-46s %8.2f s %,12.0f rows/s%n", "lakehouse bronze " + TABLE + " (source -> Delta)", extractSeconds, extractRate);
      out.printf("ratio (bronze / COPY): %.2f%n", extractRate / copyRate);
      out.flush();
      return 0;
    } finally {
      deleteQuietly(work);
    }
  }

  /** order_items rows shaped like ACME's, generated server-side; then vacuumed so reads set no hint bits. */
  static void generate(SourceSettings source, long rows) throws SQLException {
    String schema = AcmeSchema.schema(source);
    try (Connection c = SourceDatabase.connect(source); Statement s = c.createStatement()) {
      AcmeSchema.create(c, schema);
      s.execute("TRUNCATE " + SourceDatabase.qualified(schema, TABLE));
      s.execute("INSERT INTO " + SourceDatabase.qualified(schema, TABLE)
          + " (order_item_id, order_id, product_id, quantity, unit_price, created_at, updated_at)"
          + " OVERRIDING SYSTEM VALUE"
          + " SELECT i, (i + 2) / 3, 1 + (hashint8(i) & 1023), 1 + abs(hashint8(i * 7) % 5),"
          + "   (abs(hashint8(i * 13) % 100000) / 100.0)::numeric(10,2),"
          + "   timestamptz '2026-01-01 00:00:00+00' - make_interval(secs => " + rows + " - i),"
          + "   timestamptz '2026-01-01 00:00:00+00' - make_interval(secs => " + rows + " - i) + interval '1 minute'"
          + " FROM generate_series(1, " + rows + ") AS i");
      s.execute("VACUUM (FREEZE, ANALYZE) " + SourceDatabase.qualified(schema, TABLE));
    }
  }

  /** The baseline: the same columns through COPY into a sink that discards them. */
  static long copyToNull(SourceSettings source) throws SQLException, IOException {
    try (Connection c = SourceDatabase.connect(source)) {
      long start = System.nanoTime();
      c.unwrap(PGConnection.class).getCopyAPI().copyOut(
          "COPY (SELECT * FROM " + SourceDatabase.qualified(AcmeSchema.schema(source), TABLE) + ") TO STDOUT",
          OutputStream.nullOutputStream());
      return System.nanoTime() - start;
    }
  }

  /** One bronze run of the table into a fresh lakehouse root, control tables included. */
  static long extract(LakehouseConfig config, Path root) {
    LakehouseConfig rooted = config.with(Map.of("lakehouse.root", root.toString()));
    try (Lakehouse lakehouse = new Lakehouse(rooted.spec())) {
      lakehouse.spark();
      long start = System.nanoTime();
      RunResult result = new Pipeline(lakehouse).run(java.util.EnumSet.of(Stage.BRONZE), List.of(TABLE));
      long elapsed = System.nanoTime() - start;
      if (result.failed()) {
        throw new dev.lakehouse.LakehouseException(String.join("; ", result.failureLines()));
      }
      return elapsed;
    }
  }

  static void deleteQuietly(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
