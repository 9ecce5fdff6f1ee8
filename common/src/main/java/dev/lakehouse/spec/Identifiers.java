package dev.lakehouse.spec;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Names that become paths and SQL. A lakehouse name (a table, dimension, fact or mart) is a safe
 * identifier, checked before anything runs, so it can name a directory and a catalog table without
 * escaping. Source column names can be anything PostgreSQL allows; they are always quoted.
 */
public final class Identifiers {

  /** Letters, digits and underscores, starting with a letter; at most 100 characters. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,99}");

  /** Characters Delta cannot store in a column name without column mapping. */
  private static final Pattern DELTA_INVALID = Pattern.compile("[ ,;{}()\\n\\t=]");

  /**
   * Characters a silver or gold column name must not have: those above, a dot (Spark reads
   * {@code a.b} as field b of a struct a wherever a column is named by a string) and a back-quote
   * (Delta's MERGE with the change data feed on fails to parse such a name).
   */
  private static final Pattern SILVER_INVALID = Pattern.compile("[ ,;{}()\\n\\t=.`]");

  private static final String SILVER_INVALID_TEXT = "space , ; { } ( ) = . ` tab or newline";

  /**
   * Every name the lakehouse gives a column of its own, in bronze, silver, gold, quarantine and
   * the steps between them (including Delta's change feed columns). A source column may start
   * with {@code _} ({@code _synced}, {@code _fivetran_synced}); it may not be one of these, or a
   * step would take it for its own. Silver names never start with {@code _}: from silver on, the
   * prefix alone tells the lakehouse's columns apart. {@code IdentifiersTest} checks that every
   * such name in the engine's source is listed here.
   */
  private static final java.util.Set<String> OWN = java.util.Set.of(
      "_batch_id", "_ingested_at", "_source", "_op", "_row_hash", "_row_key", "_row_copy", "_lsn", "_seq",
      "_commit_time", "_unchanged", "_unparsed", "_updated_at", "_is_deleted", "_deleted_at", "_versions_in_batch", "_rank",
      "_log_rank", "_landed_hash", "_state", "_state_hash", "_change_time", "_observed_at", "_in_source", "_in_silver", "_gone",
      "_exists", "_key", "_change", "_sk", "_run_id", "_failed_rules", "_rejected_values", "_quarantined",
      "_quarantined_at", "_change_type", "_commit_version", "_commit_timestamp");

  /** Prefixes of columns the lakehouse derives from another column's name or a counter. */
  private static final List<String> OWN_PREFIXES = List.of(
      "_prev_", "_left_", "_before_", "_cast_failed_", "_dq_parent_", "_scd2_", "_pit_", "_dim_", "_t_", "_k_");

  private Identifiers() {}

  public static boolean isName(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  /** Why {@code name} is not a safe lakehouse name, or null when it is one. */
  public static String nameProblem(String name) {
    if (name == null || name.isEmpty()) {
      return "a name is required";
    }
    if (!isName(name)) {
      return "'" + printable(name) + "' is not a safe name: use letters, digits and underscores, starting with a letter"
          + " (at most 100 characters)";
    }
    return null;
  }

  /**
   * Whether a Delta table can name a column {@code column} without column mapping. Bronze lands
   * source columns under their own names whatever they are (with column mapping where one needs
   * it); silver and gold columns must be storable, so such a source column gets a silver name.
   */
  public static boolean storable(String column) {
    return !DELTA_INVALID.matcher(column).find();
  }

  /** Whether {@code column} is (or could be) one of the lakehouse's own columns; Spark compares names ignoring case. */
  public static boolean ownColumn(String column) {
    String lower = column.toLowerCase(Locale.ROOT);
    return OWN.contains(lower) || OWN_PREFIXES.stream().anyMatch(lower::startsWith);
  }

  /** Why bronze cannot land a source column of this name, or null when it can. */
  public static String sourceColumnProblem(String column) {
    return sourceColumnProblem(column, false);
  }

  /** As {@link #sourceColumnProblem(String)}, for a table read from the log ({@code log}) or by query. */
  public static String sourceColumnProblem(String column, boolean log) {
    if (ownColumn(column)) {
      return "column " + printable(column) + " has a name the lakehouse uses for a column of its own; "
          + renameAdvice(log, "it");
    }
    return null;
  }

  /** Why bronze cannot take these source columns together (two equal ignoring case), or null when it can. */
  public static String caseClashProblem(List<String> columns, boolean log) {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (String column : columns) {
      if (!seen.add(column.toLowerCase(Locale.ROOT))) {
        return "two columns are named " + column + " ignoring case, which Spark cannot tell apart; "
            + renameAdvice(log, "one");
      }
    }
    return null;
  }

  /**
   * What to do about a source column name bronze cannot take: a view that renames it, except for a
   * table in mode = log, whose changes come from a publication, which holds tables, never views.
   */
  public static String renameAdvice(boolean log, String column) {
    return log ? "rename " + column + " in the source (a table in mode = log is published as it is, and a view cannot be)"
        : "read the table through a view that renames " + column;
  }

  /** Whether silver and gold can name a column {@code column}: storable, and no dot or back-quote. */
  public static boolean plainColumn(String column) {
    return !SILVER_INVALID.matcher(column).find();
  }

  /** Why a silver or gold table cannot hold a column of this name, or null when it can. */
  public static String columnProblem(String column) {
    if (column == null || column.isEmpty()) {
      return "a column name is required";
    }
    if (!plainColumn(column)) {
      return "column '" + printable(column) + "' contains a character silver and gold column names cannot have ("
          + SILVER_INVALID_TEXT + ")";
    }
    return null;
  }

  /** Whether silver can hold a source column under this name: plain, and not starting with _ (the lakehouse's own). */
  public static boolean plainSilverName(String name) {
    return plainColumn(name) && !name.startsWith("_");
  }

  /** Why a source column, kept under {@code silverName} in silver, cannot be, or null when it can. */
  public static String silverNameProblem(String column, String silverName) {
    if (plainSilverName(silverName)) {
      return null;
    }
    return "column '" + printable(column) + "' needs a silver name without " + SILVER_INVALID_TEXT
        + ", not starting with _ (silver.rename { "
        + com.typesafe.config.ConfigUtil.quoteString(printable(column)) + " = new_name })";
  }

  /** A Spark SQL identifier: back-quoted, inner back-quotes doubled. */
  public static String quote(String name) {
    return "`" + name.replace("`", "``") + "`";
  }

  /** A PostgreSQL identifier: double-quoted, inner quotes doubled. */
  public static String pgQuote(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  /** A SQL string literal (single quotes doubled). */
  public static String literal(String value) {
    return "'" + value.replace("'", "''") + "'";
  }

  static String printable(String name) {
    return name.replaceAll("\\p{Cntrl}", "?");
  }
}
