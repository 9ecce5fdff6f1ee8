package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lakehouse.catalog.LakehouseCatalog;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.testing.AcmeLakehouses;
import dev.lakehouse.testing.LakehouseTestBase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The Zeppelin notes in {@code notebooks/} against a demo lakehouse (the shared ACME one: seed, run,
 * a simulated day, run again), tables registered by name as the notes' registration paragraph does. Every
 * {@code %spark.sql} paragraph runs (dynamic forms at their defaults) and, when it is a query,
 * must return rows, no more than Zeppelin displays, with every chart column where the paragraph's
 * chart settings say. Scala cannot run here, so {@code %spark} paragraphs are kept to the
 * registration call and only the classes and methods they name are checked. Markdown is skipped.
 * Any other interpreter fails: it would go untested.
 */
class NotebooksTest extends LakehouseTestBase {

  /** The notes the README promises; any other {@code .zpln} in the directory is checked too. */
  private static final List<String> NOTES = List.of(
      "01-layers-tour.zpln", "02-customer-history.zpln", "03-marts.zpln", "04-data-quality.zpln");

  /** Zeppelin's Spark SQL shows at most this many rows ({@code zeppelin.spark.maxResult}). */
  static final int MAX_RESULT = 1000;

  static final Set<String> SQL = Set.of("spark.sql", "sql");
  static final Set<String> SCALA = Set.of("spark");
  static final String MARKDOWN = "md";
  static final Set<String> CHARTS = Set.of("table", "multiBarChart", "stackedAreaChart", "lineChart", "pieChart",
      "scatterChart");
  static final Set<String> AGGREGATES = Set.of("sum", "count", "avg", "min", "max");
  static final Set<String> QUERY_WORDS = Set.of("SELECT", "WITH", "FROM", "VALUES", "TABLE", "DESCRIBE", "DESC",
      "SHOW", "EXPLAIN");

  private static final ObjectMapper JSON = new ObjectMapper();
  /** {@code %spark.sql}, {@code %md}, with optional local properties: {@code %spark.sql(pool=a)}. */
  private static final Pattern INTERPRETER = Pattern.compile("\\A\\s*%([\\w.]+)(\\([^)]*\\))?[ \\t]*\\R?");
  /** Paragraph ({@code ${...}}) and note ({@code $${...}}) dynamic forms. */
  private static final Pattern FORM = Pattern.compile("_?\\$\\$?\\{([^=}]*)(?:=([^}]*))?}");
  /** A fully qualified class, and the member used right after it: {@code a.b.C.member(}. */
  private static final Pattern QUALIFIED =
      Pattern.compile("\\b((?:[a-z_][a-z0-9_]*\\.)+[A-Z]\\w*)(?:\\s*\\.\\s*([a-zA-Z_]\\w*)\\s*\\()?");

  /**
   * Fewer CPU seconds for a few thousand rows (a tenth fewer, measured): no whole-stage code generation, no
   * adaptive re-planning, no file statistics. Set for this class only; the shared session gets its
   * values back afterwards.
   */
  private static final Map<String, String> FAST = Map.of(
      "spark.sql.codegen.wholeStage", "false",
      "spark.sql.adaptive.enabled", "false",
      "spark.databricks.delta.stats.collect", "false");
  private static final Map<String, scala.Option<String>> before = new HashMap<>();

  @BeforeAll
  static void registerTheDemoLakehouse() {
    // The shared ACME lakehouse after a first run, a simulated day and a second run.
    LakehousePaths paths = AcmeLakehouses.day1().built().spec().paths();
    FAST.forEach((key, value) -> {
      before.put(key, spark.conf().getOption(key));
      spark.conf().set(key, value);
    });
    // Only this lakehouse's tables: another test class's registrations must not answer for a
    // table this one lacks. Dropping external tables leaves their data alone.
    for (String layer : LakehouseCatalog.LAYERS) {
      spark.sql("DROP DATABASE IF EXISTS `" + layer + "` CASCADE");
    }
    LakehouseCatalog.registerAll(spark, paths);
  }

  @AfterAll
  static void restoreSessionSettings() {
    before.forEach((key, value) -> {
      if (value.isDefined()) {
        spark.conf().set(key, value.get());
      } else {
        spark.conf().unset(key);
      }
    });
  }

  static Path notebooksDir() {
    return confDir().getParent().resolve("notebooks");
  }

  static List<Path> noteFiles(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".zpln")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void theFourNotesAreThere() {
    List<String> present = noteFiles(notebooksDir()).stream().map(f -> f.getFileName().toString()).toList();
    assertTrue(present.containsAll(NOTES), "notebooks/ holds " + present + ", expected at least " + NOTES);
  }

  @TestFactory
  Stream<DynamicNode> everyNoteRunsAgainstTheDemoLakehouse() {
    return noteFiles(notebooksDir()).stream().map(file -> dynamicContainer(file.getFileName().toString(),
        tests(spark, file).stream()));
  }

  /** One test for the note's shape, then one per paragraph, in the note's order. */
  static List<DynamicNode> tests(SparkSession spark, Path file) {
    Note note;
    try {
      note = Note.read(file);
    } catch (IOException | RuntimeException e) {
      return List.of(dynamicTest("is a Zeppelin note", () -> fail(file + " is not a Zeppelin note: " + e, e)));
    }
    List<DynamicNode> tests = new ArrayList<>();
    tests.add(dynamicTest("is a Zeppelin note", () -> checkShape(note)));
    for (Paragraph p : note.paragraphs()) {
      String name = "#" + p.number() + " %" + p.interpreter() + (p.title().isEmpty() ? "" : " " + p.title());
      if (SQL.contains(p.interpreter())) {
        tests.add(dynamicTest(name, () -> checkSql(spark, p)));
      } else if (SCALA.contains(p.interpreter())) {
        tests.add(dynamicTest(name, () -> checkScala(p)));
      } else if (!MARKDOWN.equals(p.interpreter())) {
        tests.add(dynamicTest(name, () -> fail(p + ": %" + p.interpreter()
            + " cannot be checked here; use %md, %spark.sql or the %spark registration paragraph")));
      }
    }
    return tests;
  }

  /** A note as Zeppelin 0.10+ stores it: {@code name}, {@code paragraphs} with text, config and settings. */
  record Note(Path file, String name, JsonNode json, List<Paragraph> paragraphs) {

    static Note read(Path file) throws IOException {
      JsonNode json = JSON.readTree(file.toFile());
      if (json == null || !json.isObject()) {
        throw new IllegalArgumentException("not a JSON object");
      }
      List<Paragraph> paragraphs = new ArrayList<>();
      Note note = new Note(file, json.path("name").asText(""), json, paragraphs);
      int number = 0;
      for (JsonNode p : json.path("paragraphs")) {
        String text = p.path("text").asText("");
        Matcher m = INTERPRETER.matcher(text);
        boolean named = m.find();
        paragraphs.add(new Paragraph(note, ++number, p.path("title").asText(""), named ? m.group(1) : "",
            named ? text.substring(m.end()) : text, p));
      }
      return note;
    }

    @Override
    public String toString() {
      return file.getFileName() + " (\"" + name + "\")";
    }
  }

  record Paragraph(Note note, int number, String title, String interpreter, String script, JsonNode json) {
    @Override
    public String toString() {
      return note.file().getFileName() + ", paragraph " + number + (title.isEmpty() ? "" : " \"" + title + "\"");
    }
  }

  /**
   * What Zeppelin needs to import the note and what makes it readable: a name, paragraphs with an
   * explicit interpreter, unique ids, config and settings objects; an introduction first, then
   * the paragraph that registers the tables.
   */
  static void checkShape(Note note) {
    assertFalse(note.name().isBlank(), note + ": no name");
    assertTrue(note.json().path("paragraphs").isArray() && !note.paragraphs().isEmpty(), note + ": no paragraphs");
    Set<String> ids = new HashSet<>();
    for (Paragraph p : note.paragraphs()) {
      assertTrue(p.json().path("text").isTextual(), p + ": no text");
      assertFalse(p.interpreter().isEmpty(), p + ": name its interpreter (%md, %spark.sql, %spark)");
      assertTrue(p.json().path("config").isObject(), p + ": config must be an object");
      assertTrue(p.json().path("settings").path("params").isObject()
          && p.json().path("settings").path("forms").isObject(), p + ": settings needs params and forms objects");
      String id = p.json().path("id").asText("");
      assertFalse(id.isEmpty(), p + ": no id");
      assertTrue(ids.add(id), p + ": duplicate id " + id);
    }
    assertEquals(MARKDOWN, note.paragraphs().get(0).interpreter(), note + ": start with a %md paragraph that explains it");
    assertTrue(note.paragraphs().size() > 1 && registers(note.paragraphs().get(1)),
        note + ": the second paragraph registers the tables by name (LakehouseCatalog.registerAll, or CREATE TABLE)");
  }

  /** The Scala one-liner, or SQL that creates the tables over their Delta locations. */
  static boolean registers(Paragraph p) {
    return SCALA.contains(p.interpreter()) && p.script().contains("LakehouseCatalog.registerAll")
        || SQL.contains(p.interpreter()) && p.script().toUpperCase(Locale.ROOT).contains("CREATE TABLE");
  }

  /** Runs every statement; a query must return rows that fit Zeppelin's display and its chart settings. */
  static void checkSql(SparkSession spark, Paragraph p) {
    List<String> statements = statements(withFormDefaults(p, p.script()));
    assertFalse(statements.isEmpty(), p + ": no SQL");
    List<List<String>> results = new ArrayList<>();
    for (String sql : statements) {
      boolean query = isQuery(sql);
      List<Row> rows;
      List<String> columns;
      try {
        Dataset<Row> result = spark.sql(sql);
        columns = Arrays.asList(result.columns());
        rows = query ? result.collectAsList() : List.of();
      } catch (Exception e) { // Spark's AnalysisException is checked in Java's eyes, thrown undeclared
        throw new AssertionError(p + " fails:\n" + sql + "\n--> " + e.getClass().getSimpleName() + ": "
            + abbreviate(e.getMessage()), e);
      }
      if (query) {
        assertFalse(rows.isEmpty(), p + " returns no rows:\n" + sql);
        assertTrue(rows.size() <= MAX_RESULT, p + " returns " + rows.size() + " rows; Zeppelin shows " + MAX_RESULT);
        results.add(columns);
      }
    }
    checkCharts(p, results);
  }

  /**
   * Zeppelin keeps a paragraph's chart per result ({@code config.results."0".graph}): the mode,
   * and the key, group and value columns by name and position. A renamed column leaves the chart
   * out of sync, so each must be the result's column at that position.
   */
  static void checkCharts(Paragraph p, List<List<String>> results) {
    JsonNode settings = p.json().path("config").path("results");
    Iterator<Map.Entry<String, JsonNode>> entries = settings.isArray()
        ? numbered(settings) : settings.fields();
    while (entries.hasNext()) {
      Map.Entry<String, JsonNode> entry = entries.next();
      JsonNode graph = entry.getValue().path("graph");
      if (graph.isMissingNode()) {
        continue;
      }
      int index = Integer.parseInt(entry.getKey());
      assertTrue(index < results.size(), p + ": chart settings for result " + index + " of " + results.size());
      List<String> columns = results.get(index);
      String mode = graph.path("mode").asText("table");
      assertTrue(CHARTS.contains(mode), p + ": unknown chart mode " + mode);
      for (String role : List.of("keys", "groups", "values")) {
        for (JsonNode column : graph.path(role)) {
          String name = column.path("name").asText();
          assertTrue(columns.contains(name), p + ": chart " + role + " column '" + name + "' not in " + columns);
          if (column.has("index")) {
            assertEquals(columns.indexOf(name), column.path("index").asInt(),
                p + ": chart " + role + " column '" + name + "' is at another position in " + columns);
          }
          if (column.has("aggr")) {
            assertTrue(AGGREGATES.contains(column.path("aggr").asText()), p + ": aggregate " + column.path("aggr"));
          }
        }
      }
      if (!mode.equals("table")) {
        assertTrue(graph.path("keys").size() > 0 && graph.path("values").size() > 0,
            p + ": a " + mode + " needs key and value columns");
      }
    }
  }

  /**
   * The test cannot run Scala, so a {@code %spark} paragraph must be the registration call, and
   * every class it names (with the static method or constructor it uses) must exist.
   */
  static void checkScala(Paragraph p) {
    String code = withoutComments(p.script(), false);
    assertTrue(code.contains("LakehouseCatalog.registerAll"),
        p + ": %spark paragraphs are kept to the registration call; put queries in %spark.sql");
    Matcher m = QUALIFIED.matcher(code);
    int classes = 0;
    while (m.find()) {
      classes++;
      String name = m.group(1);
      Class<?> type;
      try {
        type = Class.forName(name);
      } catch (ClassNotFoundException e) {
        throw new AssertionError(p + " names " + name + ", which does not exist");
      }
      String member = m.group(2);
      boolean constructed = code.substring(0, m.start()).matches("(?s).*\\bnew\\s+\\z");
      if (constructed) {
        assertTrue(Arrays.stream(type.getConstructors()).anyMatch(c -> Modifier.isPublic(c.getModifiers())),
            p + ": " + name + " has no public constructor");
      } else if (member != null) {
        assertTrue(Arrays.stream(type.getMethods()).anyMatch(method -> method.getName().equals(member)
                && Modifier.isStatic(method.getModifiers())), p + ": " + name + " has no static method " + member);
      }
    }
    assertTrue(classes > 0, p + ": no fully qualified class names; the registration call names them in full");
  }

  /**
   * Dynamic forms at their defaults, as Zeppelin runs a paragraph nobody changed: text box
   * {@code ${name=default}}, select {@code ${name=default,a|b}}, checkbox
   * {@code ${checkbox(delimiter):name=a|b,a|b|c}}, note forms {@code $${...}}. A form without a
   * default fails: the paragraph would not run unattended.
   */
  static String withFormDefaults(Paragraph p, String script) {
    StringBuilder out = new StringBuilder();
    Matcher m = FORM.matcher(script);
    while (m.find()) {
      String name = m.group(1).trim();
      String value = m.group(2);
      if (value == null) {
        throw new AssertionError(p + ": form ${" + name + "} has no default");
      }
      int options = value.indexOf(',');
      String chosen = options >= 0 ? value.substring(0, options) : value;
      if (name.startsWith("checkbox")) {
        Matcher delimiter = Pattern.compile("checkbox\\s*\\(([^)]*)\\)").matcher(name);
        chosen = String.join(delimiter.lookingAt() ? delimiter.group(1) : ",", chosen.split("\\|"));
      }
      m.appendReplacement(out, Matcher.quoteReplacement(chosen));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** Splits on semicolons outside quotes, identifiers and comments; drops empty statements. */
  static List<String> statements(String script) {
    List<String> statements = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    char quote = 0;
    for (int i = 0; i < script.length(); i++) {
      char c = script.charAt(i);
      if (quote != 0) {
        current.append(c);
        if (c == '\\' && quote != '`' && i + 1 < script.length()) {
          current.append(script.charAt(++i));
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"' || c == '`') {
        quote = c;
        current.append(c);
      } else if (script.startsWith("--", i)) {
        int end = script.indexOf('\n', i);
        end = end < 0 ? script.length() : end;
        current.append(script, i, end);
        i = end - 1;
      } else if (script.startsWith("/*", i)) {
        int end = script.indexOf("*/", i + 2);
        end = end < 0 ? script.length() : end + 2;
        current.append(script, i, end);
        i = end - 1;
      } else if (c == ';') {
        statements.add(current.toString());
        current.setLength(0);
      } else {
        current.append(c);
      }
    }
    statements.add(current.toString());
    return statements.stream().map(String::strip).filter(s -> !withoutComments(s, true).isBlank()).toList();
  }

  /** SQL ({@code --}) or Scala ({@code //}) line comments and block comments removed; strings kept. */
  static String withoutComments(String code, boolean sql) {
    String line = sql ? "--" : "//";
    StringBuilder out = new StringBuilder();
    char quote = 0;
    for (int i = 0; i < code.length(); i++) {
      char c = code.charAt(i);
      if (quote != 0) {
        out.append(c);
        if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"' || c == '`') {
        quote = c;
        out.append(c);
      } else if (code.startsWith(line, i)) {
        int end = code.indexOf('\n', i);
        i = (end < 0 ? code.length() : end) - 1;
      } else if (code.startsWith("/*", i)) {
        int end = code.indexOf("*/", i + 2);
        i = (end < 0 ? code.length() : end + 2) - 1;
        out.append(' ');
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** A statement that returns rows to show (a query, DESCRIBE, SHOW), as opposed to a command. */
  static boolean isQuery(String sql) {
    String text = withoutComments(sql, true).strip();
    Matcher word = Pattern.compile("^\\(*\\s*([A-Za-z]+)").matcher(text);
    return word.find() && QUERY_WORDS.contains(word.group(1).toUpperCase(Locale.ROOT));
  }

  private static Iterator<Map.Entry<String, JsonNode>> numbered(JsonNode array) {
    List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      entries.add(Map.entry(Integer.toString(i), array.get(i)));
    }
    return entries.iterator();
  }

  private static String abbreviate(String message) {
    if (message == null) {
      return "";
    }
    return message.length() <= 2000 ? message : message.substring(0, 2000) + " ...";
  }
}
