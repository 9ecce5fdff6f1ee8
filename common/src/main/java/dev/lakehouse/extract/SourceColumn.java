package dev.lakehouse.extract;

import org.apache.spark.sql.types.DataType;

/**
 * One column of a source table as the COPY reader extracts it.
 *
 * @param name the PostgreSQL column name, unquoted
 * @param pgType the type name in pg_type (for a domain, its base type; for an array, the array
 *     type's name, e.g. {@code _int4})
 * @param sqlType the declared type as PostgreSQL prints it, e.g. {@code numeric(12,2)}
 * @param dataType the Spark type the column becomes
 * @param nullable false only when the column is declared NOT NULL
 * @param selectExpression what the COPY query selects: the quoted name, or a cast of it
 *     ({@code ::text}, {@code ::text[]}, {@code ::numeric}) aliased to the quoted name
 * @param wireType how the value arrives in binary COPY
 * @param elementWireType how an {@link WireType#ARRAY}'s elements arrive; null for other columns
 * @param relation the table, view or other relation the column belongs to ({@code schema.name},
 *     unquoted), named in value errors; null when unknown
 */
public record SourceColumn(
    String name, String pgType, String sqlType, DataType dataType, boolean nullable,
    String selectExpression, WireType wireType, WireType elementWireType, String relation) {

  /**
   * Whether the COPY query selects the column as it is, with no server-side cast, so its values
   * arrive in the column type's own binary send format: the format logical replication (pgoutput
   * with {@code binary 'true'}) delivers too, which {@link PgBinaryDecoder} then decodes as COPY
   * does. False for columns read through a cast ({@code ::text}, {@code ::text[]}, {@code ::numeric}
   * for money): the raw send format of their type is not what the decoder expects.
   */
  public boolean selectedAsIs() {
    return selectExpression.equals(dev.lakehouse.source.SourceDatabase.ident(name));
  }

  /** A column that is not an array, of no named relation. */
  public SourceColumn(String name, String pgType, String sqlType, DataType dataType, boolean nullable,
      String selectExpression, WireType wireType) {
    this(name, pgType, sqlType, dataType, nullable, selectExpression, wireType, null, null);
  }
}
