package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.testing.LakehouseTestBase;
import dev.lakehouse.testing.AcmeMarts;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The application jar under spark-submit on a real standalone cluster: a Master and a Worker, each
 * its own JVM on 127.0.0.1, with a SPARK_HOME whose {@code jars/} holds only the Spark part of the
 * test class path (so Delta, the PostgreSQL driver and the rest must come from the application
 * jar). The pipeline runs once on the cluster and once with {@code --master local[2]}, both
 * through spark-submit in client mode, over the same seeded source; the test checks the cluster
 * run landed the source, that executors on the worker ran its tasks, and that both runs agree.
 */
class ClusterRunIT extends LakehouseTestBase {

  private static final List<String> TABLES = List.of("customers", "order_items", "orders", "products");
  private static final int SCALE = 2;
  /** A run took 2.5 to 3.5 minutes on a 2-core machine that other builds kept at load 16; margin above that. */
  private static final Duration RUN_TIMEOUT = Duration.ofMinutes(6);

  /**
   * Jars the application jar brings and a Spark distribution does not (plus the test's own), by
   * their path in the local Maven repository; every other jar of the test class path goes into
   * SPARK_HOME/jars.
   */
  private static final List<String> NOT_SPARK = List.of(
      "/io/delta/", "/io/unitycatalog/", "/org/postgresql/", "/com/typesafe/config/", "/info/picocli/",
      "/org/apache/hadoop/hadoop-aws/", "/software/amazon/", "/org/wildfly/", "/io/zonky/",
      "/dev/lakehouse/", "/org/junit/", "/org/opentest4j/", "/org/apiguardian/");

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static final List<Process> DAEMONS = new ArrayList<>();
  private static volatile Process submission;

  private static Path work;
  private static Path sparkHome;
  private static List<String> jvmFlags;
  private static int masterPort;
  private static int masterUiPort;

  @BeforeAll
  static void seedAndStartCluster() throws Exception {
    Runtime.getRuntime().addShutdownHook(new Thread(ClusterRunIT::stopCluster));
    try (Connection c = source()) {
      AcmeSeeder.seed(c, "operations", SCALE);
    }
    work = Paths.get("target", "cluster-it").toAbsolutePath();
    deleteRecursively(work);
    Files.createDirectories(work.resolve("logs"));
    jvmFlags = Arrays.asList(Files.readString(Paths.get("target", "jvm.options")).trim().split("\\s+"));
    sparkHome = sparkHome(work.resolve("spark-home"));

    masterPort = freePort();
    masterUiPort = freePort();
    DAEMONS.add(daemon("master", "org.apache.spark.deploy.master.Master",
        "--host", "127.0.0.1", "--port", Integer.toString(masterPort), "--webui-port", Integer.toString(masterUiPort)));
    awaitMaster(state -> state.path("status").asText().equals("ALIVE"), "the master to start");
    DAEMONS.add(daemon("worker", "org.apache.spark.deploy.worker.Worker",
        "--host", "127.0.0.1", "--port", Integer.toString(freePort()), "--webui-port", Integer.toString(freePort()),
        "--cores", "2", "--memory", "2g", "--work-dir", work.resolve("worker").toString(), masterUrl()));
    awaitMaster(state -> state.path("aliveworkers").asInt() == 1 && state.path("cores").asInt() == 2,
        "the worker to register with 2 cores");
  }

  @AfterAll
  static synchronized void stopCluster() {
    Process running = submission;
    if (running != null) {
      ChildProcesses.stop(running);
    }
    // Last started, first stopped; a worker's executors are its child processes.
    for (int i = DAEMONS.size() - 1; i >= 0; i--) {
      ChildProcesses.stop(DAEMONS.get(i));
    }
    DAEMONS.clear();
  }

  @Test
  void runOnTheClusterBuildsTheMartsThroughTheWorkersExecutors() throws Exception {
    Submission cluster;
    MasterWatch watch = new MasterWatch();
    try (watch) {
      cluster = submit("cluster", masterUrl());
    }
    assertEquals(0, cluster.exit(), "the cluster run failed\n" + cluster.describe());
    assertTrue(cluster.out().contains("executors: 1"), "the run reports one executor\n" + cluster.describe());

    // While it ran, the master had granted the application the worker's cores; it has finished,
    // and its executor on the worker ran tasks.
    assertEquals(2, watch.maxCores, "cores granted to " + watch.appId + " while it ran");
    JsonNode app = single(masterState().path("completedapps"), "completed application");
    assertEquals(watch.appId, app.path("id").asText(), app.toString());
    assertEquals("FINISHED", app.path("state").asText(), app.toString());
    String appId = app.path("id").asText();
    long executorTasks = finishedTasksOnWorker(appId);
    assertTrue(executorTasks > 0, "executor logs under " + work.resolve("worker").resolve(appId) + " show no finished task");

    Submission local = submit("local", "local[2]");
    assertEquals(0, local.exit(), "the local run failed\n" + local.describe());
    assertFalse(local.out().contains("executors:"), "a local run prints no executor count\n" + local.describe());

    for (String table : TABLES) {
      String onCluster = silver(cluster, table);
      assertEquals(sourceCount("SELECT count(*) FROM operations." + table),
          count("SELECT count(*) FROM delta.`%s` WHERE NOT _is_deleted", onCluster), "silver " + table);
      String onLocal = silver(local, table);
      assertEquals(count("SELECT count(*) FROM delta.`%s`", onLocal), count("SELECT count(*) FROM delta.`%s`", onCluster),
          table);
      assertEquals(0L, count("SELECT count(*) FROM ((SELECT * FROM delta.`%s`) EXCEPT ALL (SELECT * FROM delta.`%s`))",
          onCluster, onLocal), "silver " + table + ": the cluster and the local run agree");
    }
    for (Submission run : List.of(cluster, local)) {
      AcmeMarts.assertEqualTheSource(database, new LakehousePaths(run.root().toString()));
    }

    System.out.printf("ClusterRunIT: scale %d, %d source rows; spark-submit wall time: standalone cluster (1 worker,"
            + " 2 cores, %d tasks on its executor) %.1f s, local[2] %.1f s%n", SCALE,
        TABLES.stream().mapToLong(t -> sourceCount("SELECT count(*) FROM operations." + t)).sum(),
        executorTasks, cluster.millis() / 1000.0, local.millis() / 1000.0);
  }

  /**
   * Polls the master's JSON while a run is on and keeps the most cores it granted an active
   * application (a finished one shows none: its executors are gone).
   */
  private static final class MasterWatch implements AutoCloseable {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "master-watch");
      thread.setDaemon(true);
      return thread;
    });
    volatile int maxCores;
    volatile String appId;

    MasterWatch() {
      timer.scheduleWithFixedDelay(this::poll, 0, 500, TimeUnit.MILLISECONDS);
    }

    private void poll() {
      try {
        for (JsonNode app : masterState().path("activeapps")) {
          if (app.path("cores").asInt() > maxCores) {
            maxCores = app.path("cores").asInt();
            appId = app.path("id").asText();
          }
        }
      } catch (IOException | RuntimeException e) {
        // The next poll tries again.
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void close() {
      timer.shutdownNow();
    }
  }

  private static String silver(Submission run, String table) {
    return run.root().resolve("silver").resolve(table).toString();
  }

  /**
   * The pipeline through spark-submit in client mode, as its own JVM; the driver runs there. The
   * jar's own configuration applies (env local, whose master is local[2]): spark-submit's --master
   * must win over it.
   */
  private static Submission submit(String name, String master) throws Exception {
    Path root = work.resolve("lakehouse-" + name);
    String javaOptions = String.join(" ", jvmFlags) + " -Duser.timezone=UTC";
    List<String> command = new ArrayList<>(java("-Xmx1g"));
    command.addAll(List.of(
        "org.apache.spark.deploy.SparkSubmit",
        "--master", master,
        "--deploy-mode", "client",
        "--class", LakehouseCli.class.getName(),
        "--executor-memory", "1g",
        "--conf", "spark.driver.host=127.0.0.1",
        "--conf", "spark.driver.bindAddress=127.0.0.1",
        "--conf", "spark.driver.extraJavaOptions=" + javaOptions,
        "--conf", "spark.executor.extraJavaOptions=" + javaOptions,
        "--conf", "spark.ui.enabled=false",
        Paths.get("target", "lakehouse-jobs.jar").toAbsolutePath().toString(),
        "run",
        "--set", "lakehouse.root=" + root,
        "--set", "lakehouse.source.url=" + sourceUrl(),
        "--set", "lakehouse.source.user=postgres",
        // Small-data settings, as the test base uses; both runs get the same.
        "--set", "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"=2",
        "--set", "lakehouse.spark.conf.\"spark.sql.adaptive.coalescePartitions.initialPartitionNum\"=2",
        "--set", "lakehouse.spark.conf.\"spark.databricks.delta.snapshotPartitions\"=1"));
    Path out = work.resolve("logs").resolve(name + ".out");
    Path err = work.resolve("logs").resolve(name + ".err");
    ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    environment(builder);
    long start = System.nanoTime();
    Process process = builder.start();
    submission = process;
    process.getOutputStream().close();
    try {
      if (!process.waitFor(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        throw new AssertionError("the " + name + " run did not finish in " + RUN_TIMEOUT + "; logs: " + out + ", " + err);
      }
    } finally {
      ChildProcesses.stop(process);
      submission = null;
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    return new Submission(name, process.exitValue(), millis, Files.readString(out), err, root);
  }

  record Submission(String name, int exit, long millis, String out, Path err, Path root) {
    String describe() {
      return "--- " + name + " stdout:\n" + out + "--- " + name + " stderr (tail): " + err + "\n" + tail(err, 40);
    }
  }

  /** A SPARK_HOME for the master, worker, driver and executors: {@code jars/} links the Spark part of the class path. */
  private static Path sparkHome(Path home) throws IOException {
    Path jars = Files.createDirectories(home.resolve("jars"));
    int linked = 0;
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path jar = Paths.get(entry).toAbsolutePath();
      String path = jar.toString().replace(File.separatorChar, '/');
      if (!path.endsWith(".jar") || path.contains("/target/") || NOT_SPARK.stream().anyMatch(path::contains)) {
        continue;
      }
      Path link = jars.resolve(jar.getFileName());
      if (!Files.exists(link)) {
        Files.createSymbolicLink(link, jar);
        linked++;
      }
    }
    try (Stream<Path> linkedJars = Files.list(jars)) {
      assertTrue(linkedJars.anyMatch(p -> p.getFileName().toString().startsWith("spark-core_")), "spark-core in " + jars);
    }
    System.out.println("ClusterRunIT: SPARK_HOME " + home + " with " + linked + " jars");
    return home;
  }

  private static Process daemon(String name, String mainClass, String... args) throws IOException {
    List<String> command = new ArrayList<>(java("-Xmx256m"));
    // The daemons only schedule: the quick JIT and one GC thread leave the two cores to the work.
    command.addAll(1, List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    command.add(mainClass);
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true)
        .redirectOutput(work.resolve("logs").resolve(name + ".log").toFile());
    environment(builder);
    Process process = builder.start();
    process.getOutputStream().close();
    return process;
  }

  /** {@code java} with the JVM flags Spark needs and SPARK_HOME's jars, as bin/spark-class would run it. */
  private static List<String> java(String heap) {
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.add(heap);
    command.add("-Duser.timezone=UTC");
    command.addAll(jvmFlags);
    command.add("-cp");
    command.add(sparkHome.resolve("jars") + File.separator + "*");
    return command;
  }

  private static void environment(ProcessBuilder builder) {
    Map<String, String> env = builder.environment();
    env.keySet().removeIf(k -> k.startsWith("LAKEHOUSE_") || k.startsWith("SPARK_") || k.equals("CLASSPATH"));
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_SCALA_VERSION", "2.13");
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.put("TZ", "UTC");
  }

  private static String masterUrl() {
    return "spark://127.0.0.1:" + masterPort;
  }

  private static JsonNode masterState() throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + masterUiPort + "/json/"))
        .timeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("master UI answered " + response.statusCode());
    }
    return JSON.readTree(response.body());
  }

  private static void awaitMaster(Predicate<JsonNode> ready, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      for (Process daemon : DAEMONS) {
        if (!daemon.isAlive()) {
          throw new AssertionError("a cluster daemon exited with " + daemon.exitValue() + " while waiting for " + what
              + "; logs in " + work.resolve("logs"));
        }
      }
      try {
        JsonNode state = masterState();
        if (ready.test(state)) {
          return;
        }
        last = state.toString();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(250);
    }
    throw new AssertionError("timed out waiting for " + what + "; last master state: " + last);
  }

  private static JsonNode single(JsonNode array, String what) {
    assertEquals(1, array.size(), "one " + what + ": " + array);
    return array.get(0);
  }

  /** Tasks the application's executors on the worker report as finished, from their logs. */
  private static long finishedTasksOnWorker(String appId) throws IOException {
    Path appDir = work.resolve("worker").resolve(appId);
    Pattern finished = Pattern.compile("Finished task \\S+ in stage");
    long tasks = 0;
    try (Stream<Path> files = Files.walk(appDir)) {
      for (Path log : files.filter(p -> p.getFileName().toString().equals("stderr")).toList()) {
        Matcher m = finished.matcher(Files.readString(log));
        while (m.find()) {
          tasks++;
        }
      }
    }
    return tasks;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }
}
