package dev.lakehouse.source.replication;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The publication a slot's stream reads: which tables' changes pgoutput sends. Create it before the
 * slot: pgoutput looks publications up as of the log position it decodes, so a publication created
 * after that position is not found.
 *
 * <p>A table added later is streamed from the commit of the {@code ALTER PUBLICATION} on; its
 * existing rows must be copied separately (e.g. under a new slot's exported snapshot).
 */
public final class Publication {

  /** What {@link #ensure} did. */
  public enum Outcome { CREATED, ALTERED, UNCHANGED }

  private static final String ALL_ACTIONS = "insert, update, delete, truncate";
  /**
   * A partitioned table's changes are published as its own (the parent's name and columns), not
   * as its partitions': the lakehouse names the parent, and a row moving between partitions stays
   * one update. Without it the publication lists only the partitions.
   */
  private static final String SETTINGS = "publish = '" + ALL_ACTIONS + "', publish_via_partition_root = true";

  private Publication() {}

  /**
   * Makes publication {@code name} publish inserts, updates, deletes and truncates of exactly
   * {@code tables}: creates it, or sets its table list and actions when they differ.
   *
   * <p>Refuses a table whose updates and deletes cannot be published (no primary key under
   * REPLICA IDENTITY DEFAULT, or REPLICA IDENTITY NOTHING): once such a table is in a publication
   * that publishes updates and deletes, PostgreSQL rejects UPDATE and DELETE on it, which would
   * break the source's own application. {@link ReplicationCheck} names these tables.
   */
  public static Outcome ensure(Connection connection, String name, Collection<TableName> tables) {
    Names.publication(name);
    SortedSet<TableName> wanted = new TreeSet<>(tables);
    if (wanted.isEmpty()) {
      throw new IllegalArgumentException("Publication " + name + " needs at least one table");
    }
    try {
      List<String> problems = ReplicationCheck.tableProblems(connection, wanted);
      if (!problems.isEmpty()) {
        throw new LakehouseException("Cannot publish: " + String.join("; ", problems));
      }
      Optional<Definition> current = definition(connection, name);
      String list = wanted.stream().map(TableName::sql).collect(Collectors.joining(", "));
      try (Statement s = connection.createStatement()) {
        if (current.isEmpty()) {
          s.execute("CREATE PUBLICATION " + name + " FOR TABLE " + list + " WITH (" + SETTINGS + ")");
          return Outcome.CREATED;
        }
        if (current.get().allTables()) {
          throw new LakehouseException("Publication " + name + " is FOR ALL TABLES; use another"
              + " publication name, or DROP PUBLICATION " + name + " first");
        }
        boolean altered = false;
        if (!current.get().tables().equals(wanted)) {
          s.execute("ALTER PUBLICATION " + name + " SET TABLE " + list);
          altered = true;
        }
        if (!current.get().publishesAll()) {
          s.execute("ALTER PUBLICATION " + name + " SET (" + SETTINGS + ")");
          altered = true;
        }
        return altered ? Outcome.ALTERED : Outcome.UNCHANGED;
      }
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot create or alter publication " + name, e);
    }
  }

  /** The tables a publication covers (as it resolves them now), or empty if it does not exist. */
  public static Optional<SortedSet<TableName>> tables(Connection connection, String name) {
    Names.publication(name);
    try {
      return definition(connection, name).map(Definition::tables);
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot read publication " + name, e);
    }
  }

  /** Drops the publication if it exists; true if it did. */
  public static boolean drop(Connection connection, String name) {
    Names.publication(name);
    try {
      if (definition(connection, name).isEmpty()) {
        return false;
      }
      try (Statement s = connection.createStatement()) {
        s.execute("DROP PUBLICATION IF EXISTS " + name);
      }
      return true;
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot drop publication " + name, e);
    }
  }

  private record Definition(boolean allTables, boolean publishesAll, SortedSet<TableName> tables) {}

  private static Optional<Definition> definition(Connection connection, String name) throws SQLException {
    boolean allTables;
    boolean publishesAll;
    try (PreparedStatement p = connection.prepareStatement("""
        SELECT puballtables, pubinsert AND pubupdate AND pubdelete AND pubtruncate AND pubviaroot
        FROM pg_catalog.pg_publication WHERE pubname = ?""")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        allTables = rs.getBoolean(1);
        publishesAll = rs.getBoolean(2);
      }
    }
    SortedSet<TableName> tables = new TreeSet<>();
    try (PreparedStatement p = connection.prepareStatement(
        "SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = ?")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          tables.add(new TableName(rs.getString(1), rs.getString(2)));
        }
      }
    }
    return Optional.of(new Definition(allTables, publishesAll, tables));
  }
}
