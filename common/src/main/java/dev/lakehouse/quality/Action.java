package dev.lakehouse.quality;

/** What a failed rule does to the batch. */
public enum Action {
  /** Count and log; the rows go on to silver. */
  WARN,
  /** The failing rows go to {@code <root>/quarantine/<table>}, not to silver. */
  QUARANTINE,
  /** The table's run stops; nothing of the batch is committed. */
  FAIL;

  static Action parse(String value, String where) {
    for (Action action : values()) {
      if (action.name().equalsIgnoreCase(value.trim())) {
        return action;
      }
    }
    throw new IllegalArgumentException(where + ": action must be warn, quarantine or fail, not '" + value + "'");
  }
}
