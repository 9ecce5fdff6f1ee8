package dev.lakehouse.control;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Named points where the crash-safety tests kill the process, as {@code kill -9} would: the JVM
 * halts on the spot when the system property {@code lakehouse.crash-at} names the point reached.
 * Nothing happens when the property is unset.
 */
public final class CrashPoints {

  private static final Logger LOG = LoggerFactory.getLogger(CrashPoints.class);
  public static final String PROPERTY = "lakehouse.crash-at";

  private CrashPoints() {}

  /** For hot loops: whether the process is set to halt at this point. */
  public static boolean armed(String point) {
    return point.equals(System.getProperty(PROPERTY));
  }

  public static void reach(String point) {
    if (point.equals(System.getProperty(PROPERTY))) {
      LOG.warn("Halting at crash point {}", point);
      System.out.flush();
      System.err.flush();
      Runtime.getRuntime().halt(137);
    }
  }
}
