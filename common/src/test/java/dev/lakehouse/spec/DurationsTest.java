package dev.lakehouse.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Durations in messages read as the configuration writes them, in the largest unit that holds them exactly. */
class DurationsTest {

  @Test
  void eachDurationTakesTheLargestExactUnit() {
    assertEquals("7d", Durations.written(Duration.ofHours(168)));
    assertEquals("25h", Durations.written(Duration.ofHours(25)));
    assertEquals("10m", Durations.written(Duration.ofMinutes(10)));
    assertEquals("90s", Durations.written(Duration.ofSeconds(90)));
    assertEquals("1500ms", Durations.written(Duration.ofMillis(1500)));
    assertEquals("0s", Durations.written(Duration.ZERO));
  }
}
