package dev.lakehouse.quality;

/** What a failed rule does to the batch. */
public enum Action {
  /** Count and log; the rows go on to silver. */
  WARN,
  /** The failing rows go to {@code <root>/quarantine/<table>}, not to silver. */
  QUARANTINE,
  /** The table's run stops; nothing of the batch is committed. */
  FAIL
}
