package dev.lakehouse.jobs;

import dev.lakehouse.Lakehouse;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.pipeline.Streaming;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.util.ShutdownHookManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakehouse stream}: reads the log continuously; stops cleanly on SIGTERM or Ctrl-C after
 * the current micro-batch is committed (and silver and gold caught up).
 */
@Command(name = "stream", description = "Stream the log tables continuously into bronze, silver and gold"
    + " (Ctrl-C or SIGTERM stops it after the current micro-batch).")
public final class StreamCommand extends LakehouseCli.Subcommand {

  /** Above Spark's own hook (40), which stops the Spark context. */
  private static final int STOP_PRIORITY = 50;

  /** How long a stop waits for the cycle under way; after it, Spark stops and the next start recovers. */
  private static final Duration STOP_TIMEOUT = Duration.ofMinutes(10);

  @Option(names = "--for", paramLabel = "DURATION", description = "Stop after this long, e.g. 10m (default: until stopped).")
  String duration;

  @Override
  public Integer call() {
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch finished = new CountDownLatch(1);
    Runnable hook = () -> {
      stop.set(true);
      try {
        // The JVM waits for this hook: the current batch commits before it exits.
        finished.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    // Spark stops its context from a hook in Hadoop's shutdown manager (priority 40). A plain JVM
    // hook runs beside that one, and the cycle under way lost its Spark session half-way through;
    // in the same manager at a higher priority, this hook runs, and waits, first.
    ShutdownHookManager.get().addShutdownHook(hook, STOP_PRIORITY, STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    Instant deadline = duration == null ? null
        : Instant.now().plus(Duration.parse("PT" + duration.toUpperCase().replace("PT", "")));
    PrintWriter out = out();
    try (Lakehouse lakehouse = cli.open()) {
      Streaming.Summary summary = new Streaming(lakehouse).run(
          () -> stop.get() || (deadline != null && Instant.now().isAfter(deadline)),
          line -> {
            out.println(Instant.now() + " " + line);
            out.flush();
          });
      out.printf("stream stopped: %d micro-batches, %d changes landed, %d silver and %d gold cycles%n",
          summary.batches(), summary.changes(), summary.silverCycles(), summary.goldCycles());
      out.flush();
      if (summary.failure() != null) {
        throw new LakehouseException(summary.failure());
      }
      return 0;
    } finally {
      finished.countDown();
      try {
        ShutdownHookManager.get().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // Shutting down already: the hook is running and waited for us.
      }
    }
  }
}
