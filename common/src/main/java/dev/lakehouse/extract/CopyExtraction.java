package dev.lakehouse.extract;

import dev.lakehouse.spec.SourceSettings;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/** The driver-side entry point of the fast extraction path. */
public final class CopyExtraction {

  private CopyExtraction() {}

  /**
   * A lazy Dataset over the given SELECTs, one Spark partition each, read through binary COPY.
   * Every SELECT must return {@code columns} in order, as {@link SourceColumns#selectList} does.
   * With a snapshot id, every partition reads that one snapshot; the transaction that exported it
   * (see {@link ExportedSnapshot}) must stay open until the Dataset's action has finished.
   */
  public static Dataset<Row> read(SparkSession spark, SourceSettings source, List<SourceColumn> columns,
      List<String> partitionSelects, Optional<String> snapshotId) {
    if (columns.isEmpty()) {
      throw new IllegalArgumentException("No columns to extract");
    }
    if (partitionSelects.isEmpty()) {
      throw new IllegalArgumentException("No partition SELECT statements to extract");
    }
    StructType schema = SourceColumns.schema(columns);
    Map<String, String> options = new HashMap<>();
    options.put(PgCopySource.URL, source.url());
    options.put(PgCopySource.USER, source.user());
    options.put(PgCopySource.PASSWORD, source.password());
    options.put(PgCopySource.CONNECT_TIMEOUT, Long.toString(Math.max(1, source.connectTimeout().toSeconds())));
    options.put(PgCopySource.SCHEMA, schema.json());
    options.put(PgCopySource.WIRE_TYPES,
        columns.stream().map(c -> c.wireType().name()).collect(Collectors.joining(",")));
    options.put(PgCopySource.ELEMENT_WIRE_TYPES, columns.stream()
        .map(c -> c.elementWireType() == null ? "" : c.elementWireType().name()).collect(Collectors.joining(",")));
    options.put(PgCopySource.RELATIONS, PgCopySource.encodeRelations(
        columns.stream().map(SourceColumn::relation).toList()));
    options.put(PgCopySource.PARTITIONS, PgCopySource.encodeSelects(partitionSelects));
    snapshotId.ifPresent(id -> options.put(PgCopySource.SNAPSHOT, id));
    return spark.read().format(PgCopySource.class.getName()).schema(schema).options(options).load();
  }
}
