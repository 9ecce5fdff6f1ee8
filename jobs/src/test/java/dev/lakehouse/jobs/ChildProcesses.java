package dev.lakehouse.jobs;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** Stopping the child processes the integration tests start (servers, Spark daemons, runs). */
final class ChildProcesses {

  private ChildProcesses() {}

  /** Stops a process and whatever it started (a worker's executors), forcibly after a grace period. */
  static void stop(Process process) {
    List<ProcessHandle> descendants = process.descendants().toList();
    process.destroy();
    try {
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
  }
}
