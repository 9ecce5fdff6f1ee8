package dev.lakehouse.pipeline;

/** The steps of a run, in the order they run. */
public enum Stage {
  /** Extract the source into bronze. */
  BRONZE,
  /** Apply new bronze batches to silver, with the quality rules. */
  SILVER,
  /** Find hard deletes of incremental tables (source keys against silver). */
  RECONCILE,
  /** Dimensions, facts and marts from silver. */
  GOLD,
  /** Compaction of tables that passed the file threshold, and VACUUM (see Maintenance). */
  MAINTAIN;

  public String label() {
    return name().toLowerCase();
  }
}
