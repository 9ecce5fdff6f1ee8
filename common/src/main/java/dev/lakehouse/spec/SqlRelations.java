package dev.lakehouse.spec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.parser.CatalystSqlParser$;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.catalyst.plans.logical.UnresolvedWith;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The tables a Spark SQL query reads, found with Spark's own parser (no session needed), so the
 * specification can check a fact's or mart's inputs before anything runs. Names of common table
 * expressions are not tables.
 */
public final class SqlRelations {

  private SqlRelations() {}

  /** The query does not parse. */
  public static final class Unparsable extends Exception {
    Unparsable(String message) {
      super(message);
    }
  }

  /** One table reference in the query text: its name parts, where it is, and whether it has an alias. */
  public record Reference(List<String> name, int start, int stop, boolean aliased) {}

  /** Each table read, as its name parts, e.g. {@code [silver, orders]}, in order of appearance. */
  public static List<List<String>> of(String sql) throws Unparsable {
    Set<List<String>> found = new LinkedHashSet<>();
    references(sql).forEach(r -> found.add(r.name()));
    return new ArrayList<>(found);
  }

  /** Every reference to a table in the query, with its position in the text. */
  public static List<Reference> references(String sql) throws Unparsable {
    LogicalPlan plan;
    try {
      plan = CatalystSqlParser$.MODULE$.parsePlan(sql);
    } catch (Exception e) {
      // Spark's ParseException (checked in Java's eyes, undeclared by Scala).
      String message = e.getMessage() == null ? "syntax error" : e.getMessage().split("\\R", 2)[0];
      throw new Unparsable(message.replaceAll("\\s*SQLSTATE: \\w+", "").trim());
    }
    List<Reference> found = new ArrayList<>();
    visit(plan, false, new HashSet<>(), found);
    return found;
  }

  /**
   * The query with each reference to a table named in {@code replacements} (by its name parts,
   * lower case) replaced by the replacement's name, keeping the original name as its alias so
   * qualified column references still resolve.
   */
  public static String bind(String sql, java.util.Map<List<String>, String> replacements) throws Unparsable {
    List<Reference> references = new ArrayList<>(references(sql));
    references.sort((a, b) -> Integer.compare(b.start(), a.start()));
    StringBuilder bound = new StringBuilder(sql);
    for (Reference reference : references) {
      String replacement = replacements.get(reference.name().stream().map(n -> n.toLowerCase(java.util.Locale.ROOT)).toList());
      if (replacement == null) {
        continue;
      }
      if (reference.start() < 0) {
        throw new Unparsable("cannot locate " + String.join(".", reference.name()) + " in the query text");
      }
      String alias = reference.aliased() ? ""
          : " AS " + Identifiers.quote(reference.name().get(reference.name().size() - 1));
      bound.replace(reference.start(), reference.stop() + 1, replacement + alias);
    }
    return bound.toString();
  }

  private static void visit(LogicalPlan plan, boolean aliased, Set<String> cteNames, List<Reference> found) {
    Set<String> names = cteNames;
    if (plan instanceof UnresolvedWith with) {
      names = new HashSet<>(cteNames);
      for (Tuple2<String, ?> cte : CollectionConverters.asJava(with.cteRelations())) {
        names.add(cte._1().toLowerCase());
      }
      for (Tuple2<String, ?> cte : CollectionConverters.asJava(with.cteRelations())) {
        visit((LogicalPlan) cte._2(), false, names, found);
      }
    }
    if (plan instanceof UnresolvedRelation relation) {
      List<String> parts = CollectionConverters.asJava(relation.multipartIdentifier());
      if (!(parts.size() == 1 && names.contains(parts.get(0).toLowerCase()))) {
        var origin = relation.origin();
        int start = origin.startIndex().isDefined() ? (Integer) origin.startIndex().get() : -1;
        int stop = origin.stopIndex().isDefined() ? (Integer) origin.stopIndex().get() : -1;
        found.add(new Reference(List.copyOf(parts), start, stop, aliased));
      }
    }
    boolean alias = plan instanceof SubqueryAlias;
    for (LogicalPlan child : CollectionConverters.asJava(plan.children())) {
      visit(child, alias, names, found);
    }
    for (LogicalPlan subquery : CollectionConverters.asJava(plan.subqueries())) {
      visit(subquery, false, names, found);
    }
  }
}
