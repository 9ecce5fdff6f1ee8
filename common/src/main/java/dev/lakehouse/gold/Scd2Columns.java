package dev.lakehouse.gold;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Column names and sentinel values shared by every Type 2 dimension and the facts that use them. */
public final class Scd2Columns {

  private Scd2Columns() {}

  public static final String VALID_FROM = "valid_from";
  /** Exclusive end of a version's interval. */
  public static final String VALID_TO = "valid_to";
  public static final String IS_CURRENT = "is_current";
  public static final String IS_DELETED = "is_deleted";
  public static final String IS_INFERRED = "is_inferred";
  public static final String ROW_HASH = "row_hash";
  /** The columns every dimension has besides its surrogate key, natural key and attributes. */
  static final java.util.Set<String> OWN = java.util.Set.of(VALID_FROM, VALID_TO, IS_CURRENT, IS_DELETED, IS_INFERRED,
      ROW_HASH);

  /** In the change feed: when the source changed (becomes valid_from; not the load time). */
  public static final String CHANGE_TIME = "_change_time";
  /** In the change feed: the change is a delete. */
  public static final String DELETE_EVENT = "_is_deleted";
  /** In the change feed, optional: when the lakehouse observed the change (orders history, see Scd2Merge). */
  public static final String OBSERVED_AT = "_observed_at";

  /** The member facts with a NULL foreign key point at. */
  public static final long UNKNOWN_SK = -1L;
  /** valid_to of open intervals; never NULL, so range predicates need no NULL handling. */
  public static final Instant FAR_FUTURE = Instant.parse("9999-12-31T00:00:00Z");
  /** valid_from of the unknown and inferred members: before any fact. */
  public static final Instant BEGINNING = Instant.parse("1900-01-01T00:00:00Z");

  static final List<String> HOUSEKEEPING = List.of(VALID_FROM, VALID_TO, IS_CURRENT, IS_DELETED, IS_INFERRED, ROW_HASH);
  static final Set<String> RESERVED =
      Set.of(VALID_FROM, VALID_TO, IS_CURRENT, IS_DELETED, IS_INFERRED, ROW_HASH, CHANGE_TIME, DELETE_EVENT, OBSERVED_AT);

  static String quote(String column) {
    return "`" + column.replace("`", "``") + "`";
  }

  /** A timestamp literal that means the same instant whatever the session time zone. */
  static String timestampSql(Instant instant) {
    return "timestamp_micros(" + Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1_000) + "L)";
  }

  /**
   * SHA-256 over the tracked columns, as SQL. Each value is encoded as {@code N} (NULL) or
   * {@code V<length>:<text>}, so NULL and '' differ and no value can imitate a column boundary.
   * Timestamps go in as epoch microseconds, so the hash does not depend on the session time zone.
   */
  static String rowHashSql(List<String> tracked, StructType schema) {
    List<String> parts = new ArrayList<>();
    for (String column : tracked) {
      String ref = quote(column);
      String text = field(schema, column).dataType().equals(DataTypes.TimestampType)
          ? "CAST(unix_micros(" + ref + ") AS STRING)"
          : "CAST(" + ref + " AS STRING)";
      parts.add("CASE WHEN " + ref + " IS NULL THEN 'N' ELSE concat('V', length(" + text + "), ':', " + text + ") END");
    }
    return "sha2(concat_ws('|'" + parts.stream().map(p -> ", " + p).reduce("", String::concat) + "), 256)";
  }

  static StructField field(StructType schema, String column) {
    for (StructField f : schema.fields()) {
      if (f.name().equalsIgnoreCase(column)) {
        return f;
      }
    }
    throw new IllegalArgumentException("column '" + column + "' not found in " + schema.simpleString());
  }
}
