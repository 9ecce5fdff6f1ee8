package dev.lakehouse.spec;

import dev.lakehouse.quality.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One source table as configured under {@code lakehouse.tables.<name>}, fully typed: how it is
 * extracted, conformed and checked. {@code name} is a safe identifier (it names bronze, silver and
 * quarantine tables); {@code sourceTable} and the column names are the source's, exact case.
 */
public record TableSpec(
    String name,
    Optional<String> schema,
    String sourceTable,
    List<String> primaryKey,
    Mode mode,
    Optional<String> cursor,
    Lookback lookback,
    Land land,
    int partitions,
    Optional<String> partitionColumn,
    ExtractMethod method,
    int fetchSize,
    Set<String> asText,
    ConformSpec conform,
    List<Rule> quality,
    Infinity infinity) {

  /** How changes are found. */
  public enum Mode {
    /** A complete snapshot each run. */
    FULL,
    /** Rows whose cursor is past the watermark (minus the lookback). */
    INCREMENTAL,
    /** Every change from PostgreSQL's logical replication log. */
    LOG
  }

  /** What a full table lands in bronze each run. */
  public enum Land {
    /** Only rows whose content changed since the last landing, plus delete markers. */
    CHANGED,
    /** The whole snapshot, every run. */
    SNAPSHOT
  }

  public enum ExtractMethod { COPY, JDBC }

  /** What an infinite date or timestamp in the source does (see {@code extract.InfiniteValues}). */
  public enum Infinity {
    /** Stops the table, naming the column and the value. */
    FAIL,
    /** Lands as 9999-12-31 (23:59:59.999999), or 0001-01-01 for -infinity. */
    CLAMP
  }

  public TableSpec {
    primaryKey = List.copyOf(primaryKey);
    asText = Set.copyOf(asText);
    quality = List.copyOf(quality);
  }

  /**
   * Whether an infinite value of this source column lands clamped. Never for a key column (a
   * clamped key could meet a stored 9999-12-31 one) nor the cursor (the watermark would move to
   * the end of time, and every later change would fall behind it): those stop the table.
   */
  public boolean clampsInfinity(String sourceColumn) {
    return infinity == Infinity.CLAMP && !primaryKey.contains(sourceColumn)
        && !cursor.map(sourceColumn::equals).orElse(false);
  }

  /** This table conformed by {@code conform} instead. */
  public TableSpec withConform(ConformSpec conform) {
    return new TableSpec(name, schema, sourceTable, primaryKey, mode, cursor, lookback, land, partitions,
        partitionColumn, method, fetchSize, asText, conform, quality, infinity);
  }

  public boolean incremental() {
    return mode == Mode.INCREMENTAL;
  }

  public boolean full() {
    return mode == Mode.FULL;
  }

  public boolean log() {
    return mode == Mode.LOG;
  }

  /** No key: a full table whose rows are compared whole. */
  public boolean keyless() {
    return primaryKey.isEmpty();
  }

  /** The key columns as silver names them (after renames). */
  public List<String> silverKey() {
    return primaryKey.stream().map(conform::silverName).toList();
  }

  /** The cursor as silver names it. */
  public Optional<String> silverCursor() {
    return cursor.map(conform::silverName);
  }

  /** Tables this table's relationship rules point at (parents), self-references excluded. */
  public List<String> parents() {
    List<String> parents = new ArrayList<>();
    for (Rule rule : quality) {
      if (rule instanceof Rule.Relationship r && !r.toTable().equals(name) && !parents.contains(r.toTable())) {
        parents.add(r.toTable());
      }
    }
    return parents;
  }

  /** Reads are split over ranges of this column: the cursor for incremental tables, else the first key. */
  public Optional<String> effectivePartitionColumn() {
    if (partitionColumn.isPresent()) {
      return partitionColumn;
    }
    if (incremental()) {
      return cursor;
    }
    return primaryKey.isEmpty() ? Optional.empty() : Optional.of(primaryKey.get(0));
  }
}
