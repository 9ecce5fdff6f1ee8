package dev.lakehouse.silver;

import dev.lakehouse.config.TableSpec;
import dev.lakehouse.quality.Rule;
import dev.lakehouse.quality.Rules;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Orders tables so a relationship rule's parent is applied before its children. */
final class TableOrder {

  private TableOrder() {}

  static List<TableSpec> parentsFirst(List<TableSpec> tables) {
    Map<String, TableSpec> byName = tables.stream().collect(Collectors.toMap(TableSpec::name, Function.identity()));
    Set<String> done = new LinkedHashSet<>();
    for (TableSpec table : tables) {
      visit(table, byName, done, new LinkedHashSet<>());
    }
    List<TableSpec> ordered = new ArrayList<>();
    done.forEach(name -> ordered.add(byName.get(name)));
    return ordered;
  }

  private static void visit(TableSpec table, Map<String, TableSpec> byName, Set<String> done, Set<String> path) {
    if (done.contains(table.name())) {
      return;
    }
    if (!path.add(table.name())) {
      throw new IllegalArgumentException("relationships rules form a cycle: " + path);
    }
    for (Rule rule : Rules.from(table.name(), table.config())) {
      if (rule instanceof Rule.Relationship r && byName.containsKey(r.toTable()) && !r.toTable().equals(table.name())) {
        visit(byName.get(r.toTable()), byName, done, path);
      }
    }
    path.remove(table.name());
    done.add(table.name());
  }
}
