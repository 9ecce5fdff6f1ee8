package dev.lakehouse.spark;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.spark.sql.Observation;
import scala.concurrent.Await;
import scala.concurrent.duration.Duration;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The metrics of an {@link Observation}, waited for at most a minute once the action that computes
 * them has returned. Spark reports them from a listener, so they may come a moment after the
 * action; and when adaptive execution drops the observed node from the plan it never reports
 * them (SPARK-54620), where {@code Observation.get} would wait forever.
 */
public final class Observations {

  private static final long WAIT_SECONDS = 60;

  private Observations() {}

  /** The metrics, or empty when Spark did not report them within the wait. */
  public static Optional<Map<String, Object>> reported(Observation observation) {
    try {
      return Optional.of(CollectionConverters.asJava(
          Await.result(observation.future(), Duration.create(WAIT_SECONDS, TimeUnit.SECONDS))));
    } catch (TimeoutException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for Spark's metrics " + observation.name(), e);
    }
  }

  /** The metrics; an error naming {@code what} when Spark did not report them. */
  public static Map<String, Object> required(Observation observation, String what) {
    return reported(observation).orElseThrow(() -> new IllegalStateException(
        "Spark did not report " + what + " within " + WAIT_SECONDS + " s of the write"));
  }
}
