package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.lakehouse.LakehouseException;
import dev.lakehouse.acme.AcmeSeeder;
import dev.lakehouse.control.LakehouseLock;
import dev.lakehouse.spark.LakehouseSpark;
import dev.lakehouse.spec.LakehouseConfig;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.testing.LakehouseTestBase;
import dev.lakehouse.testing.AcmeLakehouses;
import dev.lakehouse.testing.AcmeMarts;
import io.delta.tables.DeltaTable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The whole pipeline on S3: a real S3 API server (s3proxy, in-memory storage) and the embedded
 * PostgreSQL source seeded with the ACME data. The first run (before the tests) and the run after
 * a simulated day are {@code lakehouse run} in child JVMs configured as users do it: the endpoint
 * with {@code --set lakehouse.s3.*}, the credentials only in AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY. {@code tables}, a second run and the checks run in this JVM, through its
 * existing Spark session (as in a notebook), with credentials for the test bucket set on the
 * session. The tests only read the first run's lakehouse; the one that changes the source works
 * on a copy of both (another prefix, a cloned database), so they may run in any order.
 */
class S3LakehouseIT extends LakehouseTestBase {

  private static final String BUCKET = "lakehouse";
  private static final String ROOT = "s3a://" + BUCKET + "/acme";
  private static final Map<String, String> KEYS = new LinkedHashMap<>(Map.of(
      "customers", "customer_id", "orders", "order_id", "order_items", "order_item_id", "products", "product_id"));
  /** Throwaway credentials of this test's own s3proxy; the secret is random per run. */
  private static final String ACCESS_KEY = "lakehouse-it";
  private static final String SECRET_KEY = UUID.randomUUID().toString();

  private static Path work;
  private static Process s3proxy;
  private static String endpoint;
  private static final LakehousePaths paths = new LakehousePaths(ROOT);
  /** The first run, made before the tests. */
  private static Child firstRun;
  private static final List<String> SESSION_KEYS = new ArrayList<>();
  private static final List<Process> children = new ArrayList<>();

  @BeforeAll
  static void startS3AndSeed() throws Exception {
    work = Files.createTempDirectory("s3-lakehouse-it-");
    int port = freePort();
    endpoint = "http://127.0.0.1:" + port;
    // @AfterAll stops them; this also does if the test JVM is told to stop (not on kill -9).
    Runtime.getRuntime().addShutdownHook(new Thread(S3LakehouseIT::stopProcesses));
    s3proxy = startS3Proxy(port);
    try (S3Client s3 = s3Client()) {
      s3.createBucket(b -> b.bucket(BUCKET));
    }
    try (Connection c = source()) {
      AcmeSeeder.seed(c, "operations", 1);
    }
    // This JVM reads what the children wrote: the same lakehouse.s3 settings, through
    // LakehouseSpark's handling of an existing session, and the credentials for this bucket only.
    LakehouseSpark.getOrCreate(s3Config().spec().spark());
    LakehouseSpark.s3aSettings(s3Config().spec().spark()).keySet().forEach(key -> {
      SESSION_KEYS.add(key);
      SESSION_KEYS.add("spark.hadoop." + key); // what the builder leaves on an existing session
    });
    setSession("fs.s3a.bucket." + BUCKET + ".access.key", ACCESS_KEY);
    setSession("fs.s3a.bucket." + BUCKET + ".secret.key", SECRET_KEY);
    firstRun = lakehouse("run", cliTarget(ROOT, database));
  }

  @AfterAll
  static void stopS3() throws Exception {
    try {
      stopProcesses();
      // Forget this bucket's cached file system and Delta logs: they point at a stopped endpoint.
      if (endpoint != null && !SESSION_KEYS.isEmpty()) {
        FileSystem.get(URI.create("s3a://" + BUCKET + "/"), spark.sessionState().newHadoopConf()).close();
        org.apache.spark.sql.delta.DeltaLog.clearCache();
      }
    } finally {
      SESSION_KEYS.forEach(key -> spark.conf().unset(key));
      deleteRecursively(work);
    }
  }

  private static void stopProcesses() {
    List<Process> all = new ArrayList<>();
    synchronized (children) {
      all.addAll(children);
    }
    if (s3proxy != null) {
      all.add(s3proxy);
    }
    all.forEach(ChildProcesses::stop);
  }

  @Test
  void runLandsBronzeSilverAndGoldOnS3() {
    assertEquals(0, firstRun.exit(), firstRun.describe());
    assertFalse(firstRun.out().contains("failed"), firstRun.out());

    for (String table : KEYS.keySet()) {
      long rows = sourceCount("SELECT count(*) FROM operations." + table);
      assertTrue(rows > 0, table);
      assertEquals(rows, count("SELECT count(*) FROM delta.`%s`", paths.bronze(table)), "bronze " + table);
      assertSilverEqualsSource(paths, database, table);
    }
    // On the S3 server, under the prefix, and nowhere else.
    Set<String> keys = objectKeys();
    for (String table : KEYS.keySet()) {
      assertTrue(keys.contains("acme/bronze/" + table + "/_delta_log/00000000000000000000.json"), table);
      assertTrue(keys.contains("acme/silver/" + table + "/_delta_log/00000000000000000000.json"), table);
    }
    assertTrue(keys.contains("acme/gold/dim_customer/_delta_log/00000000000000000000.json"), keys.toString());
    AcmeMarts.assertEqualTheSource(database, paths);
    assertTrue(keys.contains("acme/_control/watermarks/_delta_log/00000000000000000000.json"), keys.toString());
    // Other tests of this class write their own prefixes (acme-*), never this one's parent.
    List<String> outside = keys.stream().filter(k -> !k.startsWith("acme/") && !k.startsWith("acme-")).toList();
    assertEquals(List.of(), outside, "objects outside the lakehouse prefixes");
    assertFalse(keys.contains("acme/" + LakehouseLock.LOCK_FILE), "the run released its lock");
  }

  @Test
  void tablesListsEveryTableOnS3() {
    // In this JVM, to save a JVM start: the command's Spark session is the existing one, which
    // LakehouseSpark gives the lakehouse.s3 settings as session settings (the notebook case).
    CliRunner tables = CliRunner.run(cliTarget(ROOT, database), "tables");
    assertEquals(0, tables.exitCode(), tables.err());
    for (String table : KEYS.keySet()) {
      long rows = sourceCount("SELECT count(*) FROM operations." + table);
      assertTrue(tables.out().matches("(?s).*\\nbronze\\." + table + "\\s+" + rows + "\\s+0\\n.*"), tables.out());
      assertTrue(tables.out().matches("(?s).*\\nsilver\\." + table + "\\s+" + rows + "\\s+\\d+\\n.*"), tables.out());
    }
    assertTrue(tables.out().contains("_control.runs"), tables.out());
    assertTrue(tables.out().contains("lakehouse root: " + ROOT), tables.out());
  }

  @Test
  void theLeaseLockHoldsOffASecondWriterOnS3() throws IOException {
    Configuration hadoop = spark.sessionState().newHadoopConf();
    String root = ROOT + "-lock";
    String lockFile = root + "/" + LakehouseLock.LOCK_FILE;
    try (LakehouseLock held = LakehouseLock.acquire(root, "s3-it", Duration.ofMinutes(1), hadoop)) {
      LakehouseException second = assertThrows(LakehouseException.class,
          () -> LakehouseLock.acquire(root, "second", Duration.ofMinutes(1), hadoop));
      assertTrue(second.getMessage().startsWith("Another lakehouse run is writing to " + lockFile + " (job=s3-it "),
          second.getMessage());
    }
    org.apache.hadoop.fs.Path lock = new org.apache.hadoop.fs.Path(lockFile);
    FileSystem fs = lock.getFileSystem(hadoop);
    assertFalse(fs.exists(lock), "released on close");
    LakehouseLock.acquire(root, "again", Duration.ofMinutes(1), hadoop).close();
  }

  /**
   * An S3 endpoint that is not there, no credentials, or a wrong secret: one line each, at once
   * (S3A alone retries an absent endpoint for two minutes), and nothing written.
   */
  @Test
  void anAbsentEndpointMissingOrWrongCredentialsAMissingBucketOrANonS3EndpointAreOneLineEach() throws IOException {
    String root = "s3a://" + BUCKET + "/acme-refused";
    List<String> target = new ArrayList<>(cliTarget(root, database));
    int closed = freePort();
    target.addAll(List.of("--set", "lakehouse.s3.endpoint=http://127.0.0.1:" + closed));
    long started = System.nanoTime();
    Child absent = lakehouse("run", target);
    assertOneLine(absent, "lakehouse: Cannot reach the S3 endpoint http://127.0.0.1:" + closed
        + " (lakehouse.s3.endpoint) of " + root + ": 127.0.0.1:" + closed + " refused the connection");
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(60), "at once, not after S3A's retries");

    Child none = lakehouse("run", cliTarget(root, database), Map.of());
    assertOneLine(none, "lakehouse: Cannot use the lock file " + root + "/" + LakehouseLock.LOCK_FILE
        + ": S3 found no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");

    Child wrong = lakehouse("run", cliTarget(root, database),
        Map.of("AWS_ACCESS_KEY_ID", ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", "not-" + SECRET_KEY));
    assertOneLine(wrong, "lakehouse: Cannot use the lock file " + root + "/" + LakehouseLock.LOCK_FILE
        + ": S3 refused the request (403 Forbidden); check that AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are right");
    assertFalse(wrong.err().contains("not-" + SECRET_KEY), "the secret is never printed");

    // A bucket the S3 server does not have, and an endpoint that is a web server of another kind
    // (it answers 404 to everything): one line each, saying which setting to correct.
    Child noBucket = lakehouse("run", cliTarget("s3a://no-such-bucket/acme", database));
    assertOneLine(noBucket, "lakehouse: Cannot use the lock file s3a://no-such-bucket/acme/" + LakehouseLock.LOCK_FILE
        + ": the bucket no-such-bucket does not exist at the S3 endpoint; create it, or correct lakehouse.root");
    HttpServer web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    web.createContext("/", exchange -> {
      exchange.sendResponseHeaders(404, -1);
      exchange.close();
    });
    web.start();
    try {
      List<String> elsewhere = new ArrayList<>(cliTarget(root, database));
      elsewhere.addAll(List.of("--set", "lakehouse.s3.endpoint=http://127.0.0.1:" + web.getAddress().getPort()));
      Child notS3 = lakehouse("run", elsewhere);
      assertOneLine(notS3, "lakehouse: Cannot use the lock file " + root + "/" + LakehouseLock.LOCK_FILE
          + ": the S3 endpoint answered 404 Not Found without an S3 request id, so it is not an S3 API server;"
          + " check lakehouse.s3.endpoint");
    } finally {
      web.stop(0);
    }
    assertEquals(Set.of(), objectKeys().stream().filter(k -> k.startsWith("acme-refused/")).collect(Collectors.toSet()),
        "nothing written");
  }

  /** One line for the user (the test classpath's logging adds Hadoop's start-up warnings around it), no stack trace. */
  private static void assertOneLine(Child child, String startsWith) {
    assertEquals(1, child.exit(), child.describe());
    List<String> lines = child.err().lines().filter(line -> line.startsWith("lakehouse: ")).toList();
    assertEquals(1, lines.size(), child.describe());
    assertTrue(lines.get(0).startsWith(startsWith), child.describe());
    assertFalse(child.err().contains("\tat "), child.describe());
  }

  /**
   * On a copy of the first run (another prefix) and of its source: a run without source changes
   * leaves silver and the dimension as they were; a simulated day is picked up by the next run.
   */
  @Test
  void aRunWithoutChangesChangesNothingAndASimulatedDayIsPickedUp() {
    String prefix = "acme-next";
    String root = "s3a://" + BUCKET + "/" + prefix;
    copyPrefix("acme/", prefix + "/");
    LakehousePaths next = new LakehousePaths(root);
    String db = cloneDatabase(database);
    List<String> target = cliTarget(root, db);

    Map<String, Long> before = new HashMap<>();
    KEYS.keySet().forEach(t -> before.put(t, version(next.silver(t))));
    List<List<Object>> dimensions = sql("SELECT * FROM delta.`%s` ORDER BY customer_sk", next.gold("dim_customer"));
    // In this JVM: a run through an existing Spark session, as from a notebook.
    CliRunner again = CliRunner.run(target, "run");
    assertEquals(0, again.exitCode(), again.err());
    assertFalse(again.out().contains("failed"), again.out());
    for (String table : KEYS.keySet()) {
      assertEquals(before.get(table), version(next.silver(table)), "silver." + table + " is not written");
      assertSilverEqualsSource(next, db, table);
    }
    assertEquals(dimensions, sql("SELECT * FROM delta.`%s` ORDER BY customer_sk", next.gold("dim_customer")),
        "the re-run left the customer dimension as it was");

    Map<String, Set<String>> versions = new HashMap<>();
    KEYS.keySet().forEach(t -> versions.put(t, sourceVersions(db, t)));
    CliRunner simulate = CliRunner.run(target, "simulate", "--changes", "500", "--seed", "1");
    assertEquals(0, simulate.exitCode(), simulate.err());
    KEYS.keySet().forEach(t -> assertNotEquals(versions.get(t), sourceVersions(db, t), t + " changed in the source"));

    Child run = lakehouse("run", target);
    assertEquals(0, run.exit(), run.describe());
    assertFalse(run.out().contains("failed"), run.out());
    for (String table : List.of("customers", "orders", "products")) {
      assertSilverEqualsSource(next, db, table);
    }
    // Items whose order does not exist are held aside in quarantine rather than applied.
    Set<String> source = sourceVersions(db, "order_items");
    Set<String> silver = silverVersions(next, "order_items");
    Set<String> missing = new HashSet<>(source);
    missing.removeAll(silver);
    Set<String> quarantined = new HashSet<>(sql("SELECT concat(CAST(order_item_id AS STRING), ':',"
        + " CAST(unix_micros(updated_at) AS STRING)) FROM delta.`%s`", next.quarantine("order_items"))
        .stream().map(r -> (String) r.get(0)).toList());
    assertFalse(missing.isEmpty(), "the simulation made orphan items");
    assertTrue(quarantined.containsAll(missing), "every source item not in silver is quarantined: " + missing);
    Set<String> extra = new HashSet<>(silver);
    extra.removeAll(source);
    assertEquals(Set.of(), extra, "silver holds no item version the source does not");
    AcmeMarts.assertEqualTheSource(db, next);
  }

  /** Copies every object under one prefix of the bucket to another, in key order (Delta's log in commit order). */
  private static void copyPrefix(String from, String to) {
    try (S3Client s3 = s3Client()) {
      List<String> keys = s3.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(from)).contents().stream()
          .map(S3Object::key).sorted().toList();
      for (String key : keys) {
        s3.copyObject(b -> b.sourceBucket(BUCKET).sourceKey(key).destinationBucket(BUCKET)
            .destinationKey(to + key.substring(from.length())));
      }
    }
  }

  /** Silver's current rows are the source's rows: same keys, each at the source's latest change. */
  private static void assertSilverEqualsSource(LakehousePaths lakehouse, String db, String table) {
    Set<String> source = sourceVersions(db, table);
    Set<String> silver = silverVersions(lakehouse, table);
    assertEquals(source.size(), silver.size(), table);
    assertEquals(source, silver, table);
  }

  /** "key:updated_at in epoch microseconds" for every source row. */
  private static Set<String> sourceVersions(String db, String table) {
    return AcmeLakehouses.query(db, String.format("SELECT %s::text || ':' || (extract(epoch FROM updated_at) * 1000000)::bigint"
        + " FROM operations.%s", KEYS.get(table), table))
        .stream().map(r -> (String) r.get(0)).collect(Collectors.toSet());
  }

  /** The same for silver's current (not deleted) rows, read from S3. */
  private static Set<String> silverVersions(LakehousePaths lakehouse, String table) {
    return sql("SELECT concat(CAST(%s AS STRING), ':', CAST(unix_micros(updated_at) AS STRING))"
        + " FROM delta.`%s` WHERE NOT _is_deleted", KEYS.get(table), lakehouse.silver(table))
        .stream().map(r -> (String) r.get(0)).collect(Collectors.toSet());
  }

  private static long version(String path) {
    return DeltaTable.forPath(spark, path).history(1).first().getLong(0);
  }

  private static LakehouseConfig s3Config() {
    return testConfig(Map.of("lakehouse.root", ROOT, "lakehouse.s3.endpoint", endpoint,
        "lakehouse.s3.path-style-access", "true", "lakehouse.s3.ssl", "false"));
  }

  private static void setSession(String key, String value) {
    SESSION_KEYS.add(key);
    spark.conf().set(key, value);
  }

  /** The options every command gets: the S3 root and endpoint, the source, small Spark settings. */
  private static List<String> cliTarget(String root, String db) {
    return List.of(
        "--set", "lakehouse.root=" + root,
        "--set", "lakehouse.s3.endpoint=" + endpoint,
        "--set", "lakehouse.s3.path-style-access=true",
        "--set", "lakehouse.s3.ssl=false",
        "--set", "lakehouse.source.url=" + urlOf(db),
        "--set", "lakehouse.source.user=postgres",
        "--set", "lakehouse.spark.conf.\"spark.sql.shuffle.partitions\"=2",
        "--set", "lakehouse.spark.conf.\"spark.databricks.delta.snapshotPartitions\"=1",
        // Every other test's source is small, so their stages run interpreted; this one runs the
        // pipeline compiled, as a large source would.
        "--set", "lakehouse.spark.codegen-min-rows=0");
  }

  record Child(int exit, String out, String err) {
    String describe() {
      return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }
  }

  /**
   * {@code lakehouse <command>} in a child JVM, configured as a user would: the endpoint with
   * --set, the credentials only in the environment (and any other AWS_* variable removed).
   */
  private static Child lakehouse(String command, List<String> target) {
    return lakehouse(command, target, Map.of("AWS_ACCESS_KEY_ID", ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", SECRET_KEY));
  }

  /** As {@link #lakehouse(String, List)}, with these AWS_* variables only. */
  private static Child lakehouse(String command, List<String> target, Map<String, String> aws) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx2g");
    cmd.add("-Duser.timezone=UTC");
    cmd.addAll(LakehouseProcess.QUICK_JIT);
    try {
      cmd.addAll(Arrays.asList(Files.readString(Paths.get("target/jvm.options")).trim().split("\\s+")));
    } catch (IOException e) {
      throw new IllegalStateException("target/jvm.options (written by the build) is missing", e);
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(LakehouseCli.class.getName());
    cmd.add(command);
    cmd.addAll(target);
    try {
      Path out = Files.createTempFile(work, command + "-", ".out");
      Path err = Files.createTempFile(work, command + "-", ".err");
      ProcessBuilder builder = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
      Map<String, String> env = builder.environment();
      env.keySet().removeIf(name -> name.startsWith("AWS_"));
      env.putAll(aws);
      env.put("LAKEHOUSE_CONF_DIR", confDir().toString());
      env.put("SPARK_LOCAL_IP", "127.0.0.1");
      Process process = builder.start();
      synchronized (children) {
        children.add(process);
      }
      process.getOutputStream().close();
      if (!process.waitFor(4, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new AssertionError("lakehouse " + command + " did not finish; output in " + out + ", " + err);
      }
      Child child = new Child(process.exitValue(), Files.readString(out), Files.readString(err));
      assertFalse(child.out().contains(SECRET_KEY) || child.err().contains(SECRET_KEY), "the secret key was printed");
      return child;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static Process startS3Proxy(int port) throws Exception {
    Path jar = s3proxyJar();
    Path properties = work.resolve("s3proxy.properties");
    Files.writeString(properties, String.join("\n",
        "s3proxy.endpoint=" + endpoint,
        "s3proxy.authorization=aws-v2-or-v4",
        "s3proxy.identity=" + ACCESS_KEY,
        "s3proxy.credential=" + SECRET_KEY,
        "jclouds.provider=transient",
        "jclouds.identity=unused",
        "jclouds.credential=unused",
        ""));
    Path log = work.resolve("s3proxy.log");
    Process process = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-jar", jar.toString(), "--properties", properties.toString())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    process.getOutputStream().close();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("s3proxy exited with " + process.exitValue() + ":\n" + Files.readString(log));
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return process;
      } catch (IOException notYet) {
        Thread.sleep(200);
      }
    }
    process.destroyForcibly();
    throw new IllegalStateException("s3proxy did not listen on " + endpoint + " within 60 s:\n" + Files.readString(log));
  }

  /** target/s3proxy/s3proxy.jar (copied by the build), or the local Maven repository's copy (IDE runs). */
  private static Path s3proxyJar() {
    String copied = System.getProperty("s3proxy.jar");
    if (copied != null && Files.isRegularFile(Paths.get(copied))) {
      return Paths.get(copied);
    }
    Path repository = Paths.get(System.getProperty("maven.repo.local",
        Paths.get(System.getProperty("user.home"), ".m2", "repository").toString()));
    Path jar = repository.resolve("org/gaul/s3proxy/3.0.0/s3proxy-3.0.0-jar-with-dependencies.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("No s3proxy jar: run through Maven (mvn verify), which copies it to target/s3proxy");
    }
    return jar;
  }

  private static S3Client s3Client() {
    return S3Client.builder()
        .endpointOverride(URI.create(endpoint))
        .region(Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .build();
  }

  private static Set<String> objectKeys() {
    try (S3Client s3 = s3Client()) {
      return s3.listObjectsV2Paginator(b -> b.bucket(BUCKET)).contents().stream()
          .map(S3Object::key).collect(Collectors.toSet());
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
