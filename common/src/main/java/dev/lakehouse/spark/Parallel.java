package dev.lakehouse.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import org.apache.spark.sql.SparkSession;

/**
 * Independent work (tables of a stage that do not depend on each other) run side by side in one
 * Spark application: each task gets its own session of the application (its own settings, as
 * commits set some per statement) and its own fair-scheduler pool, so a small table's jobs do not
 * queue behind a large one's. With one thread, everything runs in the caller's session, in order.
 */
public final class Parallel {

  private Parallel() {}

  /** {@code work(item, session)} for every item, results in the items' order. */
  public static <T, R> List<R> map(SparkSession spark, List<T> items, int threads, BiFunction<T, SparkSession, R> work) {
    if (threads <= 1 || items.size() <= 1) {
      List<R> results = new ArrayList<>();
      items.forEach(item -> results.add(work.apply(item, spark)));
      return results;
    }
    // Pools are named by worker (a bounded set): Spark keeps every pool it has seen for good.
    AtomicInteger workers = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(threads, items.size()), r -> {
      Thread t = new Thread(r, "lakehouse-" + workers.getAndIncrement());
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<R>> futures = new ArrayList<>();
      for (T item : items) {
        futures.add(pool.submit(() -> {
          SparkSession session = LakehouseSpark.newSession(spark);
          SparkSession.setActiveSession(session);
          session.sparkContext().setLocalProperty("spark.scheduler.pool", Thread.currentThread().getName());
          try {
            return work.apply(item, session);
          } finally {
            session.sparkContext().setLocalProperty("spark.scheduler.pool", null);
            SparkSession.clearActiveSession();
          }
        }));
      }
      List<R> results = new ArrayList<>();
      for (Future<R> future : futures) {
        try {
          results.add(future.get());
        } catch (ExecutionException e) {
          if (e.getCause() instanceof RuntimeException runtime) {
            throw runtime;
          }
          throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted", e);
        }
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }
}
