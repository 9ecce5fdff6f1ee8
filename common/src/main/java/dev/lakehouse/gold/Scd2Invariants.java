package dev.lakehouse.gold;

import static dev.lakehouse.gold.Scd2Columns.BEGINNING;
import static dev.lakehouse.gold.Scd2Columns.FAR_FUTURE;
import static dev.lakehouse.gold.Scd2Columns.IS_CURRENT;
import static dev.lakehouse.gold.Scd2Columns.IS_DELETED;
import static dev.lakehouse.gold.Scd2Columns.IS_INFERRED;
import static dev.lakehouse.gold.Scd2Columns.ROW_HASH;
import static dev.lakehouse.gold.Scd2Columns.UNKNOWN_SK;
import static dev.lakehouse.gold.Scd2Columns.VALID_FROM;
import static dev.lakehouse.gold.Scd2Columns.VALID_TO;
import static dev.lakehouse.gold.Scd2Columns.quote;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The rules every Type 2 dimension must satisfy, checked with one query over the stored table.
 * Per-key rules skip the unknown member, whose natural key is NULL.
 */
public final class Scd2Invariants {

  private Scd2Invariants() {}

  /** Violations, one line per broken rule with a row count and a sample surrogate key; empty if none. */
  public static List<String> check(SparkSession spark, String path, Scd2Spec spec) {
    String sk = quote(spec.surrogateKey());
    String key = spec.naturalKey().stream().map(Scd2Columns::quote).collect(Collectors.joining(", "));
    String keyIsNull = spec.naturalKey().stream().map(c -> quote(c) + " IS NULL").collect(Collectors.joining(" OR "));
    String allKeyNull = spec.naturalKey().stream().map(c -> quote(c) + " IS NULL").collect(Collectors.joining(" AND "));
    String farFuture = Scd2Columns.timestampSql(FAR_FUTURE);
    String beginning = Scd2Columns.timestampSql(BEGINNING);
    String table = "delta.`" + path.replace("`", "``") + "`";
    String rowHash = Scd2Columns.rowHashSql(spec.tracked(), spark.read().format("delta").load(path).schema());
    String member = sk + " <> " + UNKNOWN_SK + " AND ";

    Map<String, String> rules = new LinkedHashMap<>();
    rules.put("housekeeping columns must not be NULL", String.join(" IS NULL OR ",
        List.of(sk, VALID_FROM, VALID_TO, IS_CURRENT, IS_DELETED, IS_INFERRED, ROW_HASH)) + " IS NULL");
    rules.put("surrogate keys must be unique", "sk_rows > 1");
    rules.put("surrogate keys must be positive, except the unknown member's", sk + " <= 0 AND " + sk + " <> " + UNKNOWN_SK);
    rules.put("only the unknown member may have a NULL natural key", member + "(" + keyIsNull + ")");
    rules.put("the unknown member must be NULL-keyed, current and valid from " + BEGINNING + " to " + FAR_FUTURE,
        sk + " = " + UNKNOWN_SK + " AND NOT (" + allKeyNull + " AND " + VALID_FROM + " = " + beginning + " AND "
            + VALID_TO + " = " + farFuture + " AND " + IS_CURRENT + " AND NOT " + IS_DELETED + " AND NOT " + IS_INFERRED + ")");
    rules.put("valid_from must be before valid_to", "NOT (" + VALID_FROM + " < " + VALID_TO + ")");
    rules.put("is_current must equal (valid_to = far future AND NOT is_deleted)",
        IS_CURRENT + " <> (" + VALID_TO + " = " + farFuture + " AND NOT " + IS_DELETED + ")");
    rules.put("row_hash must be the hash of the tracked columns", ROW_HASH + " <> " + rowHash);
    rules.put("no gap or overlap: valid_to must equal the next version's valid_from",
        member + "next_from IS NOT NULL AND " + VALID_TO + " <> next_from");
    rules.put("a key's last row must end at far future", member + "next_from IS NULL AND " + VALID_TO + " <> " + farFuture);
    rules.put("a live key must have exactly one current row, a deleted key none",
        member + "current_rows <> CASE WHEN key_deleted THEN 0 ELSE 1 END");
    rules.put("consecutive equal versions must be collapsed",
        member + "NOT " + IS_DELETED + " AND NOT prev_deleted AND " + ROW_HASH + " = prev_hash");
    rules.put("a tombstone must close a live version", member + IS_DELETED + " AND (prev_deleted IS NULL OR prev_deleted)");
    rules.put("a tombstone must carry the attributes of the version it closes",
        member + IS_DELETED + " AND NOT prev_deleted AND " + ROW_HASH + " <> prev_hash");
    rules.put("an inferred member must be its key's first row, valid from " + BEGINNING,
        member + IS_INFERRED + " AND (position > 1 OR " + VALID_FROM + " <> " + beginning + ")");
    String overwriteVariants = "1";
    if (!spec.overwrite().isEmpty()) {
      overwriteVariants = "size(collect_set(struct(" + spec.overwrite().stream().map(Scd2Columns::quote)
          .collect(Collectors.joining(", ")) + ")) OVER by_key)";
      rules.put("overwrite columns must be equal on every version of a key", member + "overwrite_variants > 1");
    }

    List<String> aggregates = new ArrayList<>();
    aggregates.add("count_if(" + sk + " = " + UNKNOWN_SK + ")");
    for (String rule : rules.values()) {
      aggregates.add("count_if(" + rule + ")");
      aggregates.add("min(CASE WHEN " + rule + " THEN " + sk + " END)");
    }
    String query = "SELECT " + String.join(",\n  ", aggregates) + "\nFROM (\n"
        + "  SELECT *,\n"
        + "    count(*) OVER (PARTITION BY " + sk + ") AS sk_rows,\n"
        + "    lag(" + IS_DELETED + ") OVER in_order AS prev_deleted,\n"
        + "    lag(" + ROW_HASH + ") OVER in_order AS prev_hash,\n"
        + "    lead(" + VALID_FROM + ") OVER in_order AS next_from,\n"
        + "    row_number() OVER in_order AS position,\n"
        + "    sum(CASE WHEN " + IS_CURRENT + " THEN 1 ELSE 0 END) OVER by_key AS current_rows,\n"
        + "    last_value(" + IS_DELETED + ") OVER (PARTITION BY " + key + " ORDER BY " + VALID_FROM
        + " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS key_deleted,\n"
        + "    " + overwriteVariants + " AS overwrite_variants\n"
        + "  FROM " + table + "\n"
        + "  WINDOW by_key AS (PARTITION BY " + key + "), in_order AS (PARTITION BY " + key + " ORDER BY " + VALID_FROM + ")\n"
        + ")";
    Row r = spark.sql(query).first();

    List<String> violations = new ArrayList<>();
    if (r.getLong(0) != 1) {
      violations.add("there must be exactly one unknown member (" + spec.surrogateKey() + " = " + UNKNOWN_SK
          + "): found " + r.getLong(0));
    }
    int i = 1;
    for (String rule : rules.keySet()) {
      long rows = r.getLong(i);
      if (rows > 0) {
        violations.add(spec.name() + ": " + rule + ": " + rows + " rows, e.g. " + spec.surrogateKey() + " = " + r.get(i + 1));
      }
      i += 2;
    }
    return violations;
  }
}
