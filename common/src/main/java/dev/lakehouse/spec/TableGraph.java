package dev.lakehouse.spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The order relationship rules impose on tables: a rule's parent table is applied before its
 * children, so a child's lookups see the parent's rows of the same run. Self-references are not
 * edges.
 */
public final class TableGraph {

  private TableGraph() {}

  /** The tables, each after the parents it has among them. */
  public static List<TableSpec> parentsFirst(List<TableSpec> tables) {
    Map<String, TableSpec> byName = new LinkedHashMap<>();
    tables.forEach(t -> byName.put(t.name(), t));
    Set<String> done = new LinkedHashSet<>();
    for (TableSpec table : tables) {
      visit(table, byName, done, new LinkedHashSet<>(), new ArrayList<>());
    }
    return done.stream().map(byName::get).toList();
  }

  /**
   * The tables in levels: each level's tables have their parents in earlier levels, so a level's
   * tables can be applied at the same time.
   */
  public static List<List<TableSpec>> levels(List<TableSpec> tables) {
    Map<String, Integer> depth = new LinkedHashMap<>();
    List<TableSpec> ordered = parentsFirst(tables);
    Set<String> names = new LinkedHashSet<>();
    tables.forEach(t -> names.add(t.name()));
    List<List<TableSpec>> levels = new ArrayList<>();
    for (TableSpec table : ordered) {
      int level = 0;
      for (String parent : table.parents()) {
        if (names.contains(parent)) {
          level = Math.max(level, depth.getOrDefault(parent, 0) + 1);
        }
      }
      depth.put(table.name(), level);
      while (levels.size() <= level) {
        levels.add(new ArrayList<>());
      }
      levels.get(level).add(table);
    }
    return levels;
  }

  /** A cycle of parents, as names from the first to itself again; empty when there is none. */
  static List<String> cycle(List<TableSpec> tables) {
    Map<String, TableSpec> byName = new LinkedHashMap<>();
    tables.forEach(t -> byName.put(t.name(), t));
    Set<String> done = new LinkedHashSet<>();
    for (TableSpec table : tables) {
      List<String> cycle = new ArrayList<>();
      visit(table, byName, done, new LinkedHashSet<>(), cycle);
      if (!cycle.isEmpty()) {
        return cycle;
      }
    }
    return List.of();
  }

  private static void visit(TableSpec table, Map<String, TableSpec> byName, Set<String> done, Set<String> path,
                            List<String> cycle) {
    if (done.contains(table.name()) || !cycle.isEmpty()) {
      return;
    }
    if (!path.add(table.name())) {
      List<String> onPath = new ArrayList<>(path);
      cycle.addAll(onPath.subList(onPath.indexOf(table.name()), onPath.size()));
      cycle.add(table.name());
      return;
    }
    for (String parent : table.parents()) {
      if (byName.containsKey(parent)) {
        visit(byName.get(parent), byName, done, path, cycle);
      }
    }
    path.remove(table.name());
    done.add(table.name());
  }
}
