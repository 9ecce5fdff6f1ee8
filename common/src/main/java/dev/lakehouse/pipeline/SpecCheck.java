package dev.lakehouse.pipeline;

import dev.lakehouse.Errors;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.bronze.CursorValue;
import dev.lakehouse.bronze.LogSetup;
import dev.lakehouse.extract.SourceColumn;
import dev.lakehouse.extract.SourceColumns;
import dev.lakehouse.gold.GoldShapes;
import dev.lakehouse.quality.Rule;
import dev.lakehouse.source.SourceDatabase;
import dev.lakehouse.spark.SourceTime;
import dev.lakehouse.spec.DimensionSpec;
import dev.lakehouse.spec.FactSpec;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.MartSpec;
import dev.lakehouse.spec.SourceSettings;
import dev.lakehouse.spec.SqlRelations;
import dev.lakehouse.spec.TableSpec;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The specification against the live source, before anything is extracted: every table exists,
 * every configured column exists (key, cursor, partition column, renames, casts, rule columns,
 * dimension columns) with a type the lakehouse reads, and every fact query analyses against the
 * silver tables the source will give. One line per problem, naming the configuration key path.
 */
public final class SpecCheck {

  private SpecCheck() {}

  public static List<String> againstSource(SparkSession spark, SourceSettings source, LakehouseSpec spec,
                                           List<TableSpec> tables) {
    return againstSource(spark, source, spec, tables, true);
  }

  /**
   * As above; with {@code logReady}, also that the tables in mode = log can be read from the log
   * (the slot exists on this database and the publication names them), as bronze needs.
   */
  public static List<String> againstSource(SparkSession spark, SourceSettings source, LakehouseSpec spec,
                                           List<TableSpec> tables, boolean logReady) {
    List<String> problems = new ArrayList<>();
    Map<String, StructType> silver = new LinkedHashMap<>();
    Map<String, StructType> given = new LinkedHashMap<>();
    try (Connection connection = SourceDatabase.connect(source)) {
      for (TableSpec table : tables) {
        checkTable(connection, source, table, problems, given).ifPresent(s -> silver.put(table.name(), s));
      }
    } catch (SQLException e) {
      throw SourceDatabase.queryError("Cannot check the source", e);
    }
    // After the tables: an unreachable source has failed above, once. A log table the source does
    // not have (renamed, dropped) has its line above; "not in the publication" would only repeat it.
    List<TableSpec> logged = tables.stream().filter(TableSpec::log).toList();
    if (logReady && !logged.isEmpty()) {
      List<TableSpec> present = logged.stream().filter(t -> given.containsKey(t.name())).toList();
      try {
        new LogSetup(source, spec.log()).requireReady(present);
      } catch (LakehouseException e) {
        problems.add("lakehouse.log: " + e.getMessage());
      }
    }
    for (TableSpec table : tables) {
      String where = "lakehouse.tables." + table.name();
      for (int i = 0; i < table.quality().size(); i++) {
        if (table.quality().get(i) instanceof Rule.Relationship r && silver.containsKey(r.toTable())) {
          missing(where + ".quality[" + i + "].to-columns", r.toColumns(), silver.get(r.toTable()), "silver." + r.toTable(),
              problems);
        }
      }
    }
    for (DimensionSpec dimension : spec.gold().dimensions().values()) {
      StructType schema = silver.get(dimension.source());
      String where = "lakehouse.gold.dimensions." + dimension.name();
      if (schema != null) {
        missing(where + ".natural-key", dimension.naturalKey(), schema, "silver." + dimension.source(), problems);
        missing(where + ".tracked", dimension.tracked(), schema, "silver." + dimension.source(), problems);
        missing(where + ".overwrite", dimension.overwrite(), schema, "silver." + dimension.source(), problems);
      }
    }
    if (spark != null) {
      Map<String, StructType> gold = new LinkedHashMap<>();
      for (DimensionSpec dimension : spec.gold().dimensions().values()) {
        StructType from = silver.get(dimension.source());
        List<String> columns = new ArrayList<>(dimension.naturalKey());
        columns.addAll(dimension.tracked());
        columns.addAll(dimension.overwrite());
        if (from != null && Arrays.asList(from.fieldNames()).containsAll(columns)) {
          gold.put(dimension.table(), GoldShapes.dimension(spark, dimension, from));
        }
      }
      for (FactSpec fact : spec.gold().facts().values()) {
        if (silver.keySet().containsAll(fact.inputs())) {
          checkFact(spark, fact, silver, problems).ifPresent(output -> gold.put(fact.name(), output));
        }
      }
      gold.put(GoldShapes.calendarName(), GoldShapes.calendar(spark));
      checkMarts(spark, spec, silver, gold, problems);
    }
    if (!problems.isEmpty() && spark != null) {
      problems.addAll(0, droppedColumns(spark, spec, given));
    }
    return problems;
  }

  /**
   * Only when there are problems: the columns silver holds that the source no longer gives (bronze
   * and silver keep a dropped column, NULL from then on), one line per table. The checks above
   * see the source's columns only, so a problem naming such a column would read as a typo.
   */
  private static List<String> droppedColumns(SparkSession spark, LakehouseSpec spec, Map<String, StructType> given) {
    List<String> lines = new ArrayList<>();
    given.forEach((table, schema) -> {
      String path = spec.paths().silver(table);
      if (!io.delta.tables.DeltaTable.isDeltaTable(spark, path)) {
        return;
      }
      List<String> now = Arrays.asList(schema.fieldNames());
      List<String> gone = Arrays.stream(spark.read().format("delta").load(path).schema().fieldNames())
          .filter(name -> !Identifiers.ownColumn(name) && !now.contains(name)).toList();
      if (!gone.isEmpty()) {
        lines.add("lakehouse.tables." + table + ": " + (gone.size() == 1 ? "column " + gone.get(0) + " is"
            : "columns " + String.join(", ", gone) + " are") + " no longer in the source; bronze and silver keep "
            + (gone.size() == 1 ? "its" : "their") + " values (NULL from now on), but the configuration can name only"
            + " the source's columns");
      }
    });
    return lines;
  }

  /** The table's silver schema as the source gives it, if the table checks out. */
  private static java.util.Optional<StructType> checkTable(Connection connection, SourceSettings source, TableSpec table,
                                                           List<String> problems, Map<String, StructType> given) {
    String where = "lakehouse.tables." + table.name();
    List<SourceColumn> columns;
    String qualified;
    try {
      String schema = SourceDatabase.schemaOf(connection, source, table);
      qualified = schema + "." + table.sourceTable();
      columns = SourceColumns.discover(connection, schema, table.sourceTable(), table.asText(), !table.log());
    } catch (LakehouseException | SQLException e) {
      problems.add(where + ": " + Errors.describe(e));
      return java.util.Optional.empty();
    }
    Map<String, SourceColumn> byName = new LinkedHashMap<>();
    columns.forEach(c -> byName.put(c.name(), c));
    int before = problems.size();
    for (SourceColumn column : columns) {
      String problem = Identifiers.sourceColumnProblem(column.name(), table.log());
      if (problem == null) {
        problem = Identifiers.silverNameProblem(column.name(), table.conform().silverName(column.name()));
      }
      if (problem != null) {
        problems.add(where + ": " + qualified + ": " + problem);
      }
    }
    String clash = Identifiers.caseClashProblem(new ArrayList<>(byName.keySet()), table.log());
    if (clash != null) {
      problems.add(where + ": " + qualified + ": " + clash);
    }
    sourceColumns(where + ".primary-key", table.primaryKey(), byName, qualified, problems);
    table.cursor().ifPresent(cursor -> {
      SourceColumn column = byName.get(cursor);
      java.util.Optional<CursorValue.Kind> kind = column == null ? java.util.Optional.empty()
          : CursorValue.Kind.of(column.pgType());
      if (column == null) {
        sourceColumns(where + ".cursor", List.of(cursor), byName, qualified, problems);
      } else if (kind.isEmpty()) {
        problems.add(where + ".cursor: " + cursor + " is " + column.sqlType() + "; a cursor is a timestamptz, timestamp,"
            + " date or integer column");
      } else if (table.incremental()) {
        table.lookback().problemWith(table.name(), cursor, column.sqlType(), kind.get() == CursorValue.Kind.INTEGER)
            .ifPresent(problems::add);
      }
    });
    table.partitionColumn().ifPresent(c -> sourceColumns(where + ".partition-column", List.of(c), byName, qualified, problems));
    sourceColumns(where + ".silver.rename", new ArrayList<>(table.conform().renames().keySet()), byName, qualified, problems);

    StructType schema = new StructType();
    for (SourceColumn column : columns) {
      String name = table.conform().silverName(column.name());
      DataType type = column.dataType();
      String cast = table.conform().casts().get(name);
      if (cast != null) {
        type = DataType.fromDDL(cast);
      }
      schema = schema.add(name, type, true);
    }
    if (table.keyless()) {
      schema = schema.add("_row_key", DataTypes.StringType).add("_row_copy", DataTypes.IntegerType);
    }
    schema = schema.add("_batch_id", DataTypes.LongType).add("_updated_at", DataTypes.TimestampType)
        .add("_row_hash", DataTypes.LongType);
    given.put(table.name(), schema);
    missing(where + ".silver.cast", new ArrayList<>(table.conform().casts().keySet()), schema, qualified + " (silver names)",
        problems);
    missing(where + ".silver.lowercase", table.conform().lowercase(), schema, qualified + " (silver names)", problems);
    missing(where + ".silver.uppercase", table.conform().uppercase(), schema, qualified + " (silver names)", problems);
    for (int i = 0; i < table.quality().size(); i++) {
      Rule rule = table.quality().get(i);
      missing(where + ".quality[" + i + "]", rule.columns(), schema, qualified + " (silver names)", problems);
    }
    return problems.size() > before ? java.util.Optional.empty() : java.util.Optional.of(schema);
  }

  private static void sourceColumns(String where, List<String> names, Map<String, SourceColumn> columns,
                                    String qualified, List<String> problems) {
    for (String name : names) {
      if (!columns.containsKey(name)) {
        problems.add(where + ": no column " + name + " in " + qualified + "; its columns are " + columns.keySet());
      }
    }
  }

  private static void missing(String where, List<String> names, StructType schema, String table, List<String> problems) {
    List<String> present = Arrays.asList(schema.fieldNames());
    for (String name : names) {
      if (!present.contains(name)) {
        problems.add(where + ": no column " + name + " in " + table + "; its columns are "
            + present.stream().filter(c -> !Identifiers.ownColumn(c)).toList());
      }
    }
  }

  /**
   * Analyses the fact query against empty tables shaped like silver will be; returns the fact
   * table's shape when it has no problem.
   */
  private static java.util.Optional<StructType> checkFact(SparkSession spark, FactSpec fact,
                                                          Map<String, StructType> silver, List<String> problems) {
    String where = "lakehouse.gold.facts." + fact.name();
    Map<List<String>, StructType> shapes = new LinkedHashMap<>();
    fact.inputs().forEach(input -> shapes.put(List.of(LakehousePaths.SILVER, input.toLowerCase(java.util.Locale.ROOT)),
        silver.get(input)));
    java.util.Optional<StructType> analysed = analyse(spark, where + ".query", fact.query(), shapes, problems);
    if (analysed.isEmpty()) {
      return analysed;
    }
    StructType output = analysed.get();
    int before = problems.size();
    List<String> columns = Arrays.asList(output.fieldNames());
    missing(where + ".grain", fact.grain(), output, "the query's output", problems);
    for (FactSpec.DimensionRef ref : fact.dimensions()) {
      missing(where + ".dimensions(" + ref.dimension() + ").key", ref.key(), output, "the query's output", problems);
      missing(where + ".dimensions(" + ref.dimension() + ").as-of", List.of(ref.asOf()), output, "the query's output", problems);
      notATime(where + ".dimensions(" + ref.dimension() + ").as-of", List.of(ref.asOf()), output, "a time", problems);
    }
    missing(where + ".dates", fact.dates(), output, "the query's output", problems);
    notATime(where + ".dates", fact.dates(), output, "a date", problems);
    for (FactSpec.TouchedBy by : fact.touchedBy()) {
      if (!columns.contains(by.column())) {
        missing(where + ".touched-by(" + by.table() + ").column", List.of(by.column()), output, "the query's output", problems);
      }
      missing(where + ".touched-by(" + by.table() + ").source-column", List.of(by.sourceColumn()),
          silver.get(by.table()), "silver." + by.table(), problems);
    }
    return problems.size() > before ? java.util.Optional.empty() : java.util.Optional.of(GoldShapes.fact(fact, output));
  }

  /**
   * Analyses each mart against empty tables shaped like the silver and gold tables it reads (a
   * mart may read another). A mart that reads a table whose shape is unknown, because that
   * table has a problem of its own, is not analysed: its problem is already reported.
   */
  private static void checkMarts(SparkSession spark, LakehouseSpec spec, Map<String, StructType> silver,
                                 Map<String, StructType> gold, List<String> problems) {
    List<MartSpec> pending = new ArrayList<>(spec.gold().marts().values());
    boolean progress = true;
    while (progress) {
      progress = false;
      for (java.util.Iterator<MartSpec> it = pending.iterator(); it.hasNext(); ) {
        MartSpec mart = it.next();
        Map<List<String>, StructType> shapes = new LinkedHashMap<>();
        for (String input : mart.inputs()) {
          String[] parts = input.split("\\.", 2);
          StructType shape = (parts[0].equals(LakehousePaths.GOLD) ? gold : silver).get(parts[1]);
          if (shape != null) {
            shapes.put(List.of(parts[0], parts[1].toLowerCase(java.util.Locale.ROOT)), shape);
          }
        }
        if (shapes.size() < mart.inputs().size()) {
          continue;
        }
        it.remove();
        progress = true;
        analyse(spark, "lakehouse.gold.marts." + mart.name(), mart.query(), shapes, problems)
            .ifPresent(output -> gold.put(mart.name(), output));
      }
    }
  }

  /** The query's output over empty tables of these shapes, or its problem. */
  private static java.util.Optional<StructType> analyse(SparkSession spark, String where, String query,
                                                        Map<List<String>, StructType> shapes, List<String> problems) {
    String suffix = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Map<List<String>, String> views = new HashMap<>();
    List<String> created = new ArrayList<>();
    try {
      shapes.forEach((name, shape) -> {
        String view = "lakehouse_check_" + name.get(0) + "_" + name.get(1) + "_" + suffix;
        spark.createDataFrame(List.<Row>of(), shape).createOrReplaceTempView(view);
        created.add(view);
        views.put(name, Identifiers.quote(view));
      });
      return java.util.Optional.of(spark.sql(SqlRelations.bind(query, views)).schema());
    } catch (SqlRelations.Unparsable e) {
      problems.add(where + ": " + e.getMessage());
    } catch (Exception e) { // Spark's AnalysisException is checked, and Scala throws it undeclared
      problems.add(where + ": " + Errors.describe(e));
    } finally {
      created.forEach(v -> spark.catalog().dropTempView(v));
    }
    return java.util.Optional.empty();
  }

  /** Columns of {@code output} that must hold a time (timestamp or date) and do not. */
  private static void notATime(String where, List<String> columns, StructType output, String what, List<String> problems) {
    for (String column : columns) {
      if (Arrays.asList(output.fieldNames()).contains(column)) {
        SourceTime.notATime(where, column, output.apply(column).dataType(), what).ifPresent(problems::add);
      }
    }
  }

  /** Unused tables are not checked; this lists what a subset run leaves out (for people). */
  static Set<String> names(List<TableSpec> tables) {
    return new java.util.LinkedHashSet<>(tables.stream().map(TableSpec::name).toList());
  }
}
