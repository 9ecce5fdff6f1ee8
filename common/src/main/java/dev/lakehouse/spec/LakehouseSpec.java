package dev.lakehouse.spec;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Everything a run needs to know, typed and validated: read once from the layered configuration
 * by {@link SpecReader}; nothing else reads configuration.
 *
 * @param tables the source tables, by name
 * @param reconcileOnRun whether {@code run} also reconciles incremental tables (hard deletes)
 * @param parallelism how many tables a stage works on at once (those that do not depend on each other)
 */
public record LakehouseSpec(String env, String root, SourceSettings source, SparkSettings spark,
                            Duration lockLease, boolean reconcileOnRun, List<TableSpec> tables, GoldSpec gold,
                            MaintainSettings maintain, LogSettings log, int parallelism) {

  public LakehouseSpec {
    tables = List.copyOf(tables);
  }

  public LakehousePaths paths() {
    return new LakehousePaths(root);
  }

  /** The tables in {@code mode = log}. */
  public List<TableSpec> logTables() {
    return tables.stream().filter(TableSpec::log).toList();
  }

  public Optional<TableSpec> table(String name) {
    return tables.stream().filter(t -> t.name().equals(name)).findFirst();
  }

  /** The named tables, or all when none are named; an unknown name is an error that lists the known ones. */
  public List<TableSpec> tables(List<String> names) {
    if (names == null || names.isEmpty()) {
      return tables;
    }
    List<TableSpec> chosen = new ArrayList<>();
    for (String name : names) {
      chosen.add(table(name).orElseThrow(() -> new IllegalArgumentException(
          "No table '" + name + "' in lakehouse.tables; configured: " + tables.stream().map(TableSpec::name).toList())));
    }
    return chosen;
  }

  /** A copy with other tables, e.g. a test pointing at part of the source. */
  public LakehouseSpec withTables(List<TableSpec> newTables) {
    return new LakehouseSpec(env, root, source, spark, lockLease, reconcileOnRun, newTables, gold, maintain, log, parallelism);
  }

  public LakehouseSpec withSource(SourceSettings newSource) {
    return new LakehouseSpec(env, root, newSource, spark, lockLease, reconcileOnRun, tables, gold, maintain, log, parallelism);
  }
}
