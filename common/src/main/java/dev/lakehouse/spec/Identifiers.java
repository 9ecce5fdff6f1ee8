package dev.lakehouse.spec;

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

  /** Why a silver or gold table cannot hold a column of this name, or null when it can. */
  public static String columnProblem(String column) {
    if (column == null || column.isEmpty()) {
      return "a column name is required";
    }
    if (!storable(column)) {
      return "column '" + printable(column) + "' contains a character Delta tables cannot hold in a column name"
          + " (space , ; { } ( ) = tab or newline)";
    }
    return null;
  }

  /** Why a source column, kept under {@code silverName} in silver, cannot be, or null when it can. */
  public static String silverNameProblem(String column, String silverName) {
    if (storable(silverName)) {
      return null;
    }
    return "column '" + printable(column) + "' needs a silver name without space , ; { } ( ) = tab or newline,"
        + " which Delta cannot hold in a column name (silver.rename { "
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
