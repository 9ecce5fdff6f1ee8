package dev.lakehouse.source.replication;

import dev.lakehouse.source.SourceDatabase;
import java.util.Objects;

/** A source table by schema and name, as PostgreSQL spells them (case-sensitive, unquoted). */
public record TableName(String schema, String table) implements Comparable<TableName> {

  public TableName {
    Objects.requireNonNull(schema, "schema");
    Objects.requireNonNull(table, "table");
  }

  /** {@code schema.table}, or {@code table} in schema {@code public}; no quoting is understood. */
  public static TableName parse(String qualified) {
    int dot = qualified.indexOf('.');
    return dot < 0
        ? new TableName("public", qualified)
        : new TableName(qualified.substring(0, dot), qualified.substring(dot + 1));
  }

  /** The quoted SQL form, {@code "schema"."table"}. */
  public String sql() {
    return SourceDatabase.qualified(schema, table);
  }

  @Override
  public int compareTo(TableName other) {
    int bySchema = schema.compareTo(other.schema);
    return bySchema != 0 ? bySchema : table.compareTo(other.table);
  }

  @Override
  public String toString() {
    return schema + "." + table;
  }
}
