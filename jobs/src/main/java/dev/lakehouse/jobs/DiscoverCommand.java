package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.Discovery;
import dev.lakehouse.source.SourceCatalog;
import dev.lakehouse.source.SourceDatabase;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakehouse discover}: reads the source's catalog and writes a configuration to start from:
 * every table with its key, mode and cursor, and its foreign keys as relationships rules.
 */
@Command(name = "discover",
    description = "Read the source's catalog and print a starting configuration: tables, keys, modes, cursors "
        + "and relationships rules.")
public final class DiscoverCommand extends LakehouseCli.Subcommand {

  @Option(names = "--schemas", split = ",", paramLabel = "SCHEMA",
      description = "Schemas to discover, comma-separated (default: lakehouse.source.schema, else the "
          + "connection's current_schema()).")
  List<String> schemas;

  @Option(names = "--out", paramLabel = "FILE", description = "Write the configuration to FILE instead of printing it.")
  Path outFile;

  @Option(names = "--force", description = "With --out: replace FILE if it exists.")
  boolean force;

  @Override
  public Integer call() {
    if (force && outFile == null) {
      throw new IllegalArgumentException("--force only applies with --out FILE");
    }
    if (outFile != null && !force && Files.exists(outFile)) {
      throw new LakehouseException(outFile + " exists; use --force to replace it");
    }
    try (Lakehouse lakehouse = cli.open(); Connection connection = SourceDatabase.connect(lakehouse.source())) {
      List<String> wanted = schemas == null || schemas.isEmpty()
          ? List.of(defaultSchema(connection, lakehouse.source().schema().orElse("")))
          : schemas.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
      if (wanted.isEmpty()) {
        throw new IllegalArgumentException("--schemas names no schema");
      }
      Discovery.Plan plan = Discovery.plan(SourceCatalog.read(connection, wanted));
      String text = Discovery.render(plan);
      if (outFile == null) {
        out().print(text);
        out().flush();
      } else {
        write(outFile, text, force);
      }
      PrintWriter err = spec.commandLine().getErr();
      err.println("discovered " + plan.summary() + " in " + String.join(", ", wanted)
          + (outFile == null ? "" : "; wrote " + outFile)
          + (plan.tables().isEmpty() ? "; name the schemas to discover with --schemas" : ""));
      err.flush();
      return 0;
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot close the source connection", e);
    }
  }

  /** lakehouse.source.schema when set, else what the connection resolves names in: current_schema(). */
  static String defaultSchema(Connection connection, String configured) {
    if (configured != null && !configured.isBlank()) {
      return configured.trim();
    }
    try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT current_schema()")) {
      rs.next();
      String schema = rs.getString(1);
      if (schema == null) {
        throw new LakehouseException("The connection has no current schema (search_path names none that exists); "
            + "give --schemas");
      }
      return schema;
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read the connection's current schema", e);
    }
  }

  /** Never over an existing file unless forced (CREATE_NEW: no window between the check and the write). */
  private static void write(Path file, String text, boolean force) {
    StandardOpenOption[] options = force
        ? new StandardOpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE}
        : new StandardOpenOption[] {StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE};
    try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, options)) {
      writer.write(text);
    } catch (FileAlreadyExistsException e) {
      throw new LakehouseException(file + " exists; use --force to replace it");
    } catch (IOException e) {
      String reason = e instanceof NoSuchFileException ? "its directory does not exist" : e.getMessage();
      throw new LakehouseException("Cannot write " + file + ": " + reason, e);
    }
  }
}
