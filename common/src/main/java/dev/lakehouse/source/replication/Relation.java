package dev.lakehouse.source.replication;

import java.util.List;

/**
 * A published table's shape as pgoutput describes it in a Relation message: sent before the
 * first change of the table in each streaming session, and again before the first change after
 * the table's definition changed (a column added, dropped or retyped, the replica identity
 * changed). Changes carry the Relation that was current when they were decoded, so a tuple's
 * values always line up with {@link #columns()}.
 *
 * @param oid the table's OID (unsigned 32 bits)
 * @param namespace the schema ({@code pg_catalog} is sent as an empty string and mapped back here)
 * @param replicaIdentity what an UPDATE or DELETE sends of the old row
 * @param columns the table's live columns, in order (dropped and generated columns are left out)
 */
public record Relation(long oid, String namespace, String name, ReplicaIdentity replicaIdentity,
    List<Column> columns) {

  public Relation {
    columns = List.copyOf(columns);
  }

  /** The columns' names, in the log's order. */
  public List<String> columnNames() {
    return columns.stream().map(Column::name).toList();
  }

  /**
   * @param typeOid the column's type (for a domain, the domain's OID; a Type message names
   *     non-built-in types)
   * @param typeModifier {@code atttypmod}: e.g. numeric precision and scale, varchar length; -1 if none
   * @param key part of the replica identity (the primary key, the chosen index, or every column
   *     under REPLICA IDENTITY FULL)
   */
  public record Column(String name, int typeOid, int typeModifier, boolean key) {}

  /** {@code relreplident}. */
  public enum ReplicaIdentity {
    /** The primary key's columns (none if the table has no primary key). */
    DEFAULT('d'),
    /** Nothing: updates and deletes carry no old values. */
    NOTHING('n'),
    /** The whole old row. */
    FULL('f'),
    /** The columns of a chosen unique index. */
    INDEX('i');

    private final char code;

    ReplicaIdentity(char code) {
      this.code = code;
    }

    public char code() {
      return code;
    }

    public static ReplicaIdentity of(char code) {
      for (ReplicaIdentity identity : values()) {
        if (identity.code == code) {
          return identity;
        }
      }
      throw new IllegalArgumentException("Unknown replica identity '" + code + "'");
    }
  }

  public TableName table() {
    return new TableName(namespace, name);
  }

  /** The position of a column by name, or -1. */
  public int indexOf(String column) {
    for (int i = 0; i < columns.size(); i++) {
      if (columns.get(i).name().equals(column)) {
        return i;
      }
    }
    return -1;
  }

  public List<String> keyColumns() {
    return columns.stream().filter(Column::key).map(Column::name).toList();
  }
}
