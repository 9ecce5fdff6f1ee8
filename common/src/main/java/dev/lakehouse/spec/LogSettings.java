package dev.lakehouse.spec;

import java.time.Duration;

/**
 * Log-based extraction ({@code lakehouse.log}) for tables in {@code mode = log}.
 *
 * @param publication the publication naming the log tables (created by {@code lakehouse log setup})
 * @param slot the replication slot the lakehouse reads and confirms
 * @param trigger how often {@code lakehouse stream} commits a micro-batch
 * @param goldTrigger how often {@code stream} refreshes gold (and the tables not in log mode)
 * @param heartbeat how often an idle stream writes a heartbeat to the source, so the slot advances
 * @param bufferRows rows kept in memory before they are spilled to local disk (large transactions)
 */
public record LogSettings(String publication, String slot, Duration trigger, Duration goldTrigger,
                          Duration heartbeat, int bufferRows) {

  public static final LogSettings DEFAULTS = new LogSettings("lakehouse", "lakehouse", Duration.ofSeconds(2),
      Duration.ofSeconds(10), Duration.ofSeconds(60), 50_000);
}
