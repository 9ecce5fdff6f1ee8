package dev.lakehouse.control;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

import com.typesafe.config.ConfigFactory;
import dev.lakehouse.spec.LakehouseConfig;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A process started with {@code -Dlakehouse.crash-at=<point>} ({@link CrashPoints#PROPERTY}) must
 * still read its specification: the crash point is for the crash tests, not a setting.
 *
 * <p>Typesafe Config's {@code ConfigFactory.defaultReference()} lets every system property
 * override the key of the same name, which made the property the unknown setting
 * {@code lakehouse.crash-at}; {@link LakehouseConfig} therefore reads reference.conf without
 * system properties. (The point names nothing that exists here, so it can never halt this JVM.)
 */
class CrashPointPropertyTest {

  @AfterEach
  void clear() {
    System.clearProperty(CrashPoints.PROPERTY);
    ConfigFactory.invalidateCaches();
  }

  @Test
  void aSpecificationIsReadWhileACrashPointIsArmed() {
    System.setProperty(CrashPoints.PROPERTY, "test.nowhere");
    ConfigFactory.invalidateCaches();
    assertDoesNotThrow(() -> LakehouseConfig.of(ConfigFactory.parseString("lakehouse.root = \"/tmp/crash-point-spec\"")));
    assertDoesNotThrow(() -> LakehouseConfig.load("local", Map.of("lakehouse.root", "/tmp/crash-point-spec"), Map.of()));
  }
}
