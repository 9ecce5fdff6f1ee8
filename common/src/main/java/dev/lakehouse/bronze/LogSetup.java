package dev.lakehouse.bronze;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceDatabase;
import dev.lakehouse.source.replication.Publication;
import dev.lakehouse.source.replication.ReplicationCheck;
import dev.lakehouse.source.replication.ReplicationEndpoint;
import dev.lakehouse.source.replication.ReplicationSlot;
import dev.lakehouse.source.replication.TableName;
import dev.lakehouse.spec.LogSettings;
import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.spec.TableSpec;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The source side of log-based extraction: check the server is ready, create the publication
 * (of exactly the log tables) and the slot, report the slot's state, drop them.
 */
public final class LogSetup {

  /** What the source holds for the lakehouse. */
  public record Status(String publication, List<String> publishedTables, Optional<ReplicationSlot.Info> slot) {}

  private final SourceSettings source;
  private final LogSettings settings;

  public LogSetup(SourceSettings source, LogSettings settings) {
    this.source = source;
    this.settings = settings;
  }

  private ReplicationEndpoint endpoint() {
    return ReplicationEndpoint.of(source.url(), source.jdbcProperties());
  }

  private List<TableName> names(Connection connection, List<TableSpec> tables) throws SQLException {
    List<TableName> names = new ArrayList<>();
    for (TableSpec table : tables) {
      names.add(new TableName(SourceDatabase.schemaOf(connection, source, table), table.sourceTable()));
    }
    return names;
  }

  /**
   * Checks the server and the tables, then makes the publication name exactly the log tables and
   * creates the slot if it does not exist. Returns what it did, a line each.
   */
  public List<String> setup(List<TableSpec> tables) {
    List<String> done = new ArrayList<>();
    try (Connection connection = SourceDatabase.connect(source)) {
      List<TableName> names = names(connection, tables);
      ReplicationCheck.run(endpoint(), settings.publication(), settings.slot(), names).requireReady();
      Publication.Outcome outcome = Publication.ensure(connection, settings.publication(), names);
      done.add("publication " + settings.publication() + ": " + outcome.name().toLowerCase() + " (" + names.size()
          + " tables)");
      if (ReplicationSlot.info(connection, settings.slot()).isEmpty()) {
        try (ReplicationSlot slot = ReplicationSlot.create(endpoint(), settings.slot())) {
          done.add("slot " + settings.slot() + ": created at " + slot.consistentPoint());
        }
      } else {
        done.add("slot " + settings.slot() + ": exists");
      }
      for (TableName name : names) {
        if (partitioned(connection, name)) {
          done.add("note: " + name + " is partitioned: the log brings no change for a TRUNCATE, DETACH or DROP of"
              + " one partition, nor for the rows of a table ATTACHed as one; silver keeps the former live and"
              + " never gets the latter");
        }
      }
      return done;
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot set up log extraction", e);
    }
  }

  /**
   * A partitioned table is published through its parent (publish_via_partition_root): changes of
   * rows in any partition arrive as the parent's, but pgoutput skips a TRUNCATE of one partition,
   * and partition DDL writes no row change at all.
   */
  private static boolean partitioned(Connection connection, TableName name) throws SQLException {
    try (var query = connection.prepareStatement("SELECT relkind = 'p' FROM pg_catalog.pg_class WHERE oid = ?::regclass")) {
      query.setString(1, name.sql());
      try (var rs = query.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  /** The publication's tables and the slot's state (position, retained WAL, lag). */
  public Status status() {
    try (Connection connection = SourceDatabase.connect(source)) {
      List<String> tables = Publication.tables(connection, settings.publication()).map(set -> set.stream()
          .map(TableName::toString).toList()).orElse(List.of());
      return new Status(settings.publication(), tables, ReplicationSlot.info(connection, settings.slot()));
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read the replication state", e);
    }
  }

  /** Drops the slot (its unconfirmed changes are gone) and the publication. */
  public List<String> teardown() {
    List<String> done = new ArrayList<>();
    try (Connection connection = SourceDatabase.connect(source)) {
      done.add("slot " + settings.slot() + ": " + (ReplicationSlot.drop(connection, settings.slot(),
          java.time.Duration.ofSeconds(30)) ? "dropped" : "absent"));
      done.add("publication " + settings.publication() + ": "
          + (Publication.drop(connection, settings.publication()) ? "dropped" : "absent"));
      return done;
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot tear down log extraction", e);
    }
  }

  /** Before reading: the slot exists and the publication names every log table. */
  public void requireReady(List<TableSpec> tables) {
    try (Connection connection = SourceDatabase.connect(source)) {
      Optional<ReplicationSlot.Info> slot = ReplicationSlot.info(connection, settings.slot());
      if (slot.isEmpty()) {
        throw new LakehouseException("Replication slot " + settings.slot() + " does not exist on " + source.safeUrl()
            + "; run lakehouse log setup first");
      }
      String database = connection.getCatalog();
      if (!database.equals(slot.get().database())) {
        // Slot names are per server: another database's lakehouse (or tool) may hold this one.
        throw new LakehouseException("Replication slot " + settings.slot() + " on " + source.safeUrl() + " belongs to"
            + " database " + slot.get().database() + ", not " + database + "; set lakehouse.log.slot to another name"
            + " and run lakehouse log setup");
      }
      Set<TableName> published = Publication.tables(connection, settings.publication())
          .<Set<TableName>>map(Set::copyOf).orElseThrow(() -> new LakehouseException("Publication "
              + settings.publication() + " does not exist on " + source.safeUrl() + "; run lakehouse log setup first"));
      for (TableName name : names(connection, tables)) {
        if (!published.contains(name)) {
          throw new LakehouseException("Table " + name + " is in mode = log but not in publication "
              + settings.publication() + "; run lakehouse log setup again");
        }
      }
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read the replication state", e);
    }
  }
}
