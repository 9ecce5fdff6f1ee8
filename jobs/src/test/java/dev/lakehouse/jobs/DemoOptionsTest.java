package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The demo's switches mean what they say: picocli inverts a negatable option whose default is true. */
class DemoOptionsTest {

  private static boolean online(String... args) {
    DemoJob demo = new DemoJob();
    new CommandLine(demo).parseArgs(args);
    return demo.online;
  }

  @Test
  void theOnlinePartIsOnUnlessSwitchedOff() {
    assertEquals(true, online());
    assertEquals(true, online("--online"));
    assertEquals(false, online("--no-online"));
    assertEquals(false, online("--online=false"));
    assertEquals(true, online("--online=true"));
  }
}
