package dev.lakehouse.spec;

import java.time.Duration;

/**
 * Keeping tables fast after months of runs ({@code lakehouse.maintain}).
 *
 * @param maxFiles a table with more data files than this is compacted
 * @param retention how long files no longer in a table's current version are kept (time travel);
 *     maintenance never removes files a later step still needs, whatever this says
 * @param everyRuns {@code run} maintains every N runs (0: only {@code lakehouse maintain})
 * @param afterRun {@code run} compacts the tables it wrote that passed {@code maxFiles}
 */
public record MaintainSettings(int maxFiles, Duration retention, int everyRuns, boolean afterRun) {

  public static final MaintainSettings DEFAULTS = new MaintainSettings(64, Duration.ofDays(7), 0, true);
}
