package dev.lakehouse.gold;

/**
 * What one {@link Scd2Merge#apply} changed.
 *
 * @param versionsInserted new live versions (first versions, changes, re-inserts)
 * @param tombstonesAdded new delete rows
 * @param rowsUpdated existing rows rewritten (intervals fixed, overwrite columns corrected, inferred members completed)
 * @param inferredCompleted inferred members that received their real attributes (also counted in rowsUpdated)
 */
public record Scd2Result(long versionsInserted, long tombstonesAdded, long rowsUpdated, long inferredCompleted) {

  public static final Scd2Result NOTHING = new Scd2Result(0, 0, 0, 0);

  public long rowsInserted() {
    return versionsInserted + tombstonesAdded;
  }
}
