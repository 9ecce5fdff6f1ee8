package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.acme.AcmeSchema;
import dev.lakehouse.bronze.BronzeLoader;
import dev.lakehouse.bronze.BronzeLoader.TableResult;
import dev.lakehouse.config.LakehouseConfig;
import dev.lakehouse.config.SourceSettings;
import dev.lakehouse.config.TableSpec;
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

  @Option(names = "--warmup", defaultValue = "true", negatable = true, description = "One unmeasured round first (default: ${DEFAULT-VALUE}).")
  boolean warmup;

  private static final String TABLE = "order_items";

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    LakehouseCli cli = (LakehouseCli) spec.parent().parent().userObject();
    Path work = Files.createTempDirectory("lakehouse-bench-");
    try (EmbeddedSource postgres = EmbeddedSource.startTemporary()) {
      LakehouseConfig base = cli.config();
      SourceSettings source = postgres.settings(base.source());
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
      if (warmup) {
        out.println("warm-up round (not measured)...");
        out.flush();
        copyToNull(source);
        extract(base.with(settings), work.resolve("warmup"));
      }
      long copyNanos = copyToNull(source);
      long extractNanos = extract(base.with(settings), work.resolve("measured"));
      TableSpec spec = base.with(settings).table(TABLE).orElseThrow();

      double copyRate = rows / (copyNanos / 1e9);
      double extractRate = rows / (extractNanos / 1e9);
      out.printf("%nrows: %,d   partitions: %d   method: %s%n", rows, spec.partitions(), spec.method().name().toLowerCase());
      out.printf("%-46s %8.2f s %,12.0f rows/s%n", "baseline: COPY (SELECT ...) TO STDOUT -> null", copyNanos / 1e9, copyRate);
      out.printf("%-46s %8.2f s %,12.0f rows/s%n", "lakehouse bronze " + TABLE + " (source -> Delta)", extractNanos / 1e9, extractRate);
      out.printf("ratio (bronze / COPY): %.2f%n", extractRate / copyRate);
      out.flush();
      return 0;
    } finally {
      deleteQuietly(work);
    }
  }

  /** order_items rows shaped like ACME's, generated server-side; then vacuumed so reads set no hint bits. */
  static void generate(SourceSettings source, long rows) throws SQLException {
    try (Connection c = SourceDatabase.connect(source); Statement s = c.createStatement()) {
      AcmeSchema.create(c, source.schema());
      s.execute("TRUNCATE " + SourceDatabase.qualified(source.schema(), TABLE));
      s.execute("INSERT INTO " + SourceDatabase.qualified(source.schema(), TABLE)
          + " (order_item_id, order_id, product_id, quantity, unit_price, created_at, updated_at)"
          + " OVERRIDING SYSTEM VALUE"
          + " SELECT i, (i + 2) / 3, 1 + (hashint8(i) & 1023), 1 + abs(hashint8(i * 7) % 5),"
          + "   (abs(hashint8(i * 13) % 100000) / 100.0)::numeric(10,2),"
          + "   timestamptz '2026-01-01 00:00:00+00' - make_interval(secs => " + rows + " - i),"
          + "   timestamptz '2026-01-01 00:00:00+00' - make_interval(secs => " + rows + " - i) + interval '1 minute'"
          + " FROM generate_series(1, " + rows + ") AS i");
      s.execute("VACUUM (FREEZE, ANALYZE) " + SourceDatabase.qualified(source.schema(), TABLE));
    }
  }

  /** The baseline: the same columns through COPY into a sink that discards them. */
  static long copyToNull(SourceSettings source) throws SQLException, IOException {
    try (Connection c = SourceDatabase.connect(source)) {
      long start = System.nanoTime();
      c.unwrap(PGConnection.class).getCopyAPI().copyOut(
          "COPY (SELECT * FROM " + SourceDatabase.qualified(source.schema(), TABLE) + ") TO STDOUT",
          OutputStream.nullOutputStream());
      return System.nanoTime() - start;
    }
  }

  /** One bronze run of the table into a fresh lakehouse root, control tables included. */
  static long extract(LakehouseConfig config, Path root) {
    LakehouseConfig rooted = config.with(Map.of("lakehouse.root", root.toString()));
    try (Lakehouse lakehouse = new Lakehouse(rooted)) {
      BronzeLoader loader = new BronzeLoader(lakehouse.spark(), lakehouse.source(), lakehouse.paths());
      long start = System.nanoTime();
      List<TableResult> results = loader.load("bench", rooted.tables(List.of(TABLE)));
      long elapsed = System.nanoTime() - start;
      BronzeJob.failures(results);
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
