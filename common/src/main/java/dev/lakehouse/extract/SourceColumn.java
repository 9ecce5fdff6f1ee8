package dev.lakehouse.extract;

import org.apache.spark.sql.types.DataType;

/**
 * One column of a source table as the COPY reader extracts it.
 *
 * @param name the PostgreSQL column name, unquoted
 * @param pgType the type name in pg_type (for a domain, its base type)
 * @param sqlType the declared type as PostgreSQL prints it, e.g. {@code numeric(12,2)}
 * @param dataType the Spark type the column becomes
 * @param nullable false only when the column is declared NOT NULL
 * @param selectExpression what the COPY query selects: the quoted name, or a {@code ::text} cast
 * @param wireType how the value arrives in binary COPY
 */
public record SourceColumn(
    String name, String pgType, String sqlType, DataType dataType, boolean nullable,
    String selectExpression, WireType wireType) {}
