package dev.lakehouse.source.replication;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.source.SourceDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Checks that a source can feed a log-mode table, before anything is created: each problem is one
 * line that says what is wrong and how to fix it. Checked: server version (14 or later, for
 * pgoutput's binary option), {@code wal_level}, the user's REPLICATION attribute, the right to
 * create or alter the publication, a free replication slot and WAL sender, every table (exists,
 * is a logged table, its updates and deletes can be captured), and that a replication connection
 * opens.
 */
public final class ReplicationCheck {

  /** The outcome: no problem means ready. */
  public record Report(List<String> problems) {

    public Report {
      problems = List.copyOf(problems);
    }

    public boolean ready() {
      return problems.isEmpty();
    }

    /** Throws a LakehouseException listing every problem ("; "-separated, one line) if any. */
    public void requireReady() {
      if (!ready()) {
        throw new LakehouseException("The source is not ready for log replication: "
            + String.join("; ", problems));
      }
    }
  }

  private static final int MIN_SERVER_VERSION = 140000;

  private ReplicationCheck() {}

  /**
   * @param publication the publication the tables will be (or are) in
   * @param slot the slot that will be (or is) used
   */
  public static Report run(ReplicationEndpoint endpoint, String publication, String slot,
      Collection<TableName> tables) {
    Names.publication(publication);
    Names.slot(slot);
    List<String> problems = new ArrayList<>();
    boolean mayReplicate;
    try (Connection c = endpoint.connect()) {
      String user = endpoint.user();
      int version = intQuery(c, "SELECT current_setting('server_version_num')::int");
      if (version < MIN_SERVER_VERSION) {
        problems.add("PostgreSQL " + stringQuery(c, "SELECT current_setting('server_version')")
            + " is older than 14: log replication uses pgoutput's binary option (PostgreSQL 14+); upgrade the source");
      }
      String walLevel = stringQuery(c, "SELECT current_setting('wal_level')");
      if (!walLevel.equals("logical")) {
        problems.add("wal_level is '" + walLevel + "', not 'logical': run ALTER SYSTEM SET wal_level = logical"
            + " and restart PostgreSQL");
      }
      boolean superuser = boolQuery(c, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user");
      boolean replication = boolQuery(c,
          "SELECT rolreplication FROM pg_catalog.pg_roles WHERE rolname = current_user");
      mayReplicate = superuser || replication;
      if (!mayReplicate) {
        problems.add("user '" + user + "' has neither the REPLICATION attribute nor superuser, so it cannot"
            + " create or read replication slots: ALTER ROLE " + SourceDatabase.ident(user) + " WITH REPLICATION");
      }
      SortedSet<TableName> wanted = new TreeSet<>(tables);
      problems.addAll(publicationProblems(c, user, superuser, publication, wanted));
      problems.addAll(slotProblems(c, slot));
      problems.addAll(tableProblems(c, wanted));
    } catch (SQLException e) {
      problems.add("Cannot check the source at " + endpoint + ": " + SourceDatabase.firstLine(e.getMessage()));
      return new Report(problems);
    } catch (LakehouseException e) {
      problems.add(e.getMessage());
      return new Report(problems);
    }
    if (mayReplicate) {
      try (Connection c = endpoint.connectReplication(); Statement s = c.createStatement()) {
        s.execute("IDENTIFY_SYSTEM");
      } catch (LakehouseException | SQLException e) {
        problems.add("Cannot open a replication connection as '" + endpoint.user() + "' (pg_hba.conf must allow"
            + " it for this database): " + SourceDatabase.firstLine(e.getMessage()));
      }
    }
    return new Report(problems);
  }

  private static List<String> publicationProblems(Connection c, String user, boolean superuser,
      String publication, SortedSet<TableName> wanted) throws SQLException {
    if (superuser) {
      return List.of();
    }
    List<String> problems = new ArrayList<>();
    Optional<SortedSet<TableName>> current = Publication.tables(c, publication);
    if (current.isPresent()) {
      try (PreparedStatement p = c.prepareStatement("""
          SELECT pg_catalog.pg_get_userbyid(pubowner), pg_catalog.pg_has_role(pubowner, 'USAGE')
          FROM pg_catalog.pg_publication WHERE pubname = ?""")) {
        p.setString(1, publication);
        try (ResultSet rs = p.executeQuery()) {
          if (rs.next() && !rs.getBoolean(2) && !current.get().equals(wanted)) {
            problems.add("user '" + user + "' cannot alter publication " + publication + ", owned by '"
                + rs.getString(1) + "': have the owner alter it, or ALTER PUBLICATION " + publication
                + " OWNER TO " + SourceDatabase.ident(user));
          }
        }
      }
    } else if (!boolQuery(c, "SELECT has_database_privilege(current_database(), 'CREATE')")) {
      String database = stringQuery(c, "SELECT current_database()");
      problems.add("user '" + user + "' cannot create publications in database " + database
          + ": GRANT CREATE ON DATABASE " + SourceDatabase.ident(database) + " TO " + SourceDatabase.ident(user));
    }
    SortedSet<TableName> added = new TreeSet<>(wanted);
    current.ifPresent(added::removeAll);
    for (TableName table : added) {
      Optional<String> owner = ownerIfNotOwned(c, table);
      owner.ifPresent(o -> problems.add("user '" + user + "' does not own table " + table + " (owner: '" + o
          + "'), and only a table's owner can add it to a publication: ALTER TABLE " + table.sql()
          + " OWNER TO " + SourceDatabase.ident(user) + ", or have '" + o + "' create the publication"));
    }
    return problems;
  }

  private static Optional<String> ownerIfNotOwned(Connection c, TableName table) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("""
        SELECT pg_catalog.pg_get_userbyid(c.relowner), pg_catalog.pg_has_role(c.relowner, 'USAGE')
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ? AND c.relname = ?""")) {
      p.setString(1, table.schema());
      p.setString(2, table.table());
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() && !rs.getBoolean(2) ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    }
  }

  private static List<String> slotProblems(Connection c, String slot) throws SQLException {
    List<String> problems = new ArrayList<>();
    try (PreparedStatement p = c.prepareStatement("""
        SELECT slot_type, plugin, database, database = current_database()
        FROM pg_catalog.pg_replication_slots WHERE slot_name = ?""")) {
      p.setString(1, slot);
      try (ResultSet rs = p.executeQuery()) {
        if (rs.next()) {
          if (!"logical".equals(rs.getString(1)) || !"pgoutput".equals(rs.getString(2)) || !rs.getBoolean(4)) {
            problems.add("replication slot " + slot + " already exists but is a " + rs.getString(1) + " slot"
                + (rs.getString(2) == null ? "" : " for plugin " + rs.getString(2))
                + (rs.getString(3) == null ? "" : " on database " + rs.getString(3))
                + ", not a pgoutput slot on this database: set lakehouse.log.slot to another name (a slot's name is"
                + " unique on the server, not per database)");
          }
          return problems;
        }
      }
    }
    int max = intQuery(c, "SELECT current_setting('max_replication_slots')::int");
    int used = intQuery(c, "SELECT count(*)::int FROM pg_catalog.pg_replication_slots");
    if (used >= max) {
      problems.add("no free replication slot: all " + max + " (max_replication_slots) are in use; drop unused"
          + " ones (SELECT slot_name, active FROM pg_replication_slots) or raise max_replication_slots and restart");
    }
    int senders = intQuery(c, "SELECT current_setting('max_wal_senders')::int");
    int busy = intQuery(c, "SELECT count(*)::int FROM pg_catalog.pg_stat_replication");
    if (busy >= senders) {
      problems.add("no free WAL sender: all " + senders + " (max_wal_senders) are in use; raise max_wal_senders"
          + " and restart");
    }
    return problems;
  }

  /**
   * Tables that cannot be published usefully: missing, not a table, unlogged, or whose updates and
   * deletes could not be captured. One line per problem.
   */
  static List<String> tableProblems(Connection c, Collection<TableName> tables) throws SQLException {
    List<String> problems = new ArrayList<>();
    for (TableName table : tables) {
      try (PreparedStatement p = c.prepareStatement("""
          SELECT c.relkind, c.relpersistence, c.relreplident,
                 EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
                 EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = ? AND c.relname = ?""")) {
        p.setString(1, table.schema());
        p.setString(2, table.table());
        try (ResultSet rs = p.executeQuery()) {
          if (!rs.next()) {
            problems.add("table " + table + " does not exist");
            continue;
          }
          String kind = rs.getString(1);
          if (!kind.equals("r") && !kind.equals("p")) {
            problems.add(table + " is not a table (relkind '" + kind + "'); only tables can be published");
            continue;
          }
          if (rs.getString(2).equals("u")) {
            problems.add("table " + table + " is UNLOGGED, so its changes never reach the WAL: ALTER TABLE "
                + table.sql() + " SET LOGGED");
            continue;
          }
          String identity = rs.getString(3);
          boolean primaryKey = rs.getBoolean(4);
          boolean identityIndex = rs.getBoolean(5);
          String fix = "run ALTER TABLE " + table.sql() + " REPLICA IDENTITY FULL or add a primary key";
          String consequence = ": its updates and deletes could not be captured (and once it is published,"
              + " PostgreSQL rejects UPDATE and DELETE on it); ";
          if (identity.equals("d") && !primaryKey) {
            problems.add("table " + table + " has no primary key and REPLICA IDENTITY DEFAULT" + consequence + fix);
          } else if (identity.equals("n")) {
            problems.add("table " + table + " has REPLICA IDENTITY NOTHING" + consequence + fix);
          } else if (identity.equals("i") && !identityIndex) {
            problems.add("table " + table + " has REPLICA IDENTITY USING INDEX, but that index is gone"
                + consequence + fix);
          }
        }
      }
    }
    return problems;
  }

  private static String stringQuery(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static int intQuery(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static boolean boolQuery(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      return rs.next() && rs.getBoolean(1);
    }
  }
}
