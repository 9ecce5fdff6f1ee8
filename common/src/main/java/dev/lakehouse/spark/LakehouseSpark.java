package dev.lakehouse.spark;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.spec.SparkSettings;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.network.util.JavaUtils;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the Spark session from configuration: Delta enabled, UTC session time zone, and the
 * S3A settings of {@code lakehouse.s3}.
 */
public final class LakehouseSpark {

  private static final Logger LOG = LoggerFactory.getLogger(LakehouseSpark.class);

  /** Where S3A buffers uploads on disk; Hadoop expands the variable in each JVM (driver, executors). */
  public static final String S3A_BUFFER_DIR = "${java.io.tmpdir}/lakehouse-s3a";

  /**
   * Spark 4 gives each session its own class loader on the executors, which fetches from the
   * driver, one RPC each, every class it does not find locally; Janino's compiler asks for
   * thousands of names that do not exist (5,214 in one run of 1,000 simulated demo changes). The
   * lakehouse adds no jars or classes to a session, so its sessions share the application's class
   * loader instead.
   */
  static final String ARTIFACT_ISOLATION = "spark.sql.artifact.isolation.enabled";

  private LakehouseSpark() {}

  public static SparkSession getOrCreate(SparkSettings config) {
    SparkSession.Builder builder = SparkSession.builder().appName(config.appName());
    String master = config.master();
    // spark-submit passes its --master to the application as the system property spark.master.
    // It decides: the configured master (local[2] in conf/local.conf) would otherwise turn a
    // cluster submission into a local run inside the driver, silently.
    String submitted = System.getProperty("spark.master");
    if (submitted != null && !submitted.isBlank()) {
      if (!master.isBlank() && !master.equals(submitted)) {
        LOG.info("Spark master {} from spark-submit; lakehouse.spark.master ({}) does not apply", submitted, master);
      }
    } else if (!master.isBlank()) {
      builder.master(master);
    }
    boolean fromSubmit = submitted != null && !submitted.isBlank();
    String effective = fromSubmit ? submitted : master;
    String setting = fromSubmit ? "spark-submit's --master" : "lakehouse.spark.master";
    Map<String, String> sparkConf = config.conf();
    if (SparkSession.getDefaultSession().isEmpty()) {
      checkReachable(effective, setting, sparkConf);
    }
    Map<String, String> s3a = s3aSettings(config);
    s3a.forEach((key, value) -> builder.config("spark.hadoop." + key, value));
    builder.config(ARTIFACT_ISOLATION, "false");
    // Explicit lakehouse.spark.conf entries win over the ones derived above.
    sparkConf.forEach(builder::config);
    SparkSession spark;
    try {
      spark = builder.getOrCreate();
    } catch (Exception e) {
      // Scala declares no checked exceptions: Spark's own (checked) SparkException arrives here too.
      if (e.getMessage() != null && (e.getMessage().startsWith("Could not parse Master URL")
          || e.getMessage().startsWith("Invalid master URL"))) {
        throw new LakehouseException(setting + ": Spark does not know the master URL '" + effective
            + "'; use local[N] (N cores on this machine), spark://host:port (a standalone master), yarn or k8s://...", e);
      }
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
    }
    DeletionVectors.fromBytes(spark); // a setting that is not a size stops the run here, before any work
    long bound = boundBroadcasts(spark);
    if (bound > 0) {
      LOG.info("Joins broadcast a table of up to {} KB, half of spark.driver.maxResultSize", bound >> 10);
    }
    // An existing session (spark-submit, Zeppelin) may have been built without our settings.
    spark.conf().set("spark.sql.session.timeZone", "UTC");
    // Its Hadoop configuration is fixed, but session settings reach every Hadoop configuration
    // the session creates (sessionState().newHadoopConf(), which Delta uses), so set them there.
    s3a.forEach((key, value) -> {
      if (!sparkConf.containsKey("spark.hadoop." + key)) {
        spark.conf().set(key, value);
      }
    });
    return spark;
  }

  /**
   * A standalone master ({@code spark://host:port}, or one of several standby masters) must accept
   * a connection from here ({@link Reachable}) and answer as a master ({@link StandaloneMaster})
   * before the session starts.
   */
  static void checkReachable(String master, String setting, Map<String, String> sparkConf) {
    if (master == null || !master.startsWith("spark://")) {
      return;
    }
    List<String> problems = new ArrayList<>();
    for (String address : master.substring("spark://".length()).split(",")) {
      int colon = address.lastIndexOf(':');
      int port;
      try {
        port = colon > 0 ? Integer.parseInt(address.substring(colon + 1)) : 7077;
      } catch (NumberFormatException e) {
        throw new LakehouseException(setting + ": the port of " + master + " is not a number");
      }
      String host = colon > 0 ? address.substring(0, colon) : address;
      Optional<String> problem = Reachable.problem(host, port).or(() -> StandaloneMaster.problem(host, port, sparkConf));
      if (problem.isEmpty()) {
        return;
      }
      problems.add(problem.get());
    }
    throw new LakehouseException("Cannot reach the Spark master " + master + " (" + setting + "): "
        + String.join("; ", problems) + ". Start the master or correct the URL (a master logs it at start and shows it"
        + " on its web UI, usually spark://host:7077), or run in this JVM with lakehouse.spark.master = \"local[2]\"");
  }

  /**
   * A lakehouse on {@code s3a://} with an endpoint of its own (MinIO, another S3 API server) needs
   * that endpoint to accept a connection ({@link Reachable}); AWS S3 itself (no endpoint) is not asked.
   */
  public static void checkStorageReachable(String root, SparkSettings config) {
    String endpoint = config.s3().endpoint();
    if (root == null || !root.startsWith("s3a://") || endpoint.isEmpty()) {
      return;
    }
    URI uri;
    try {
      uri = URI.create(endpoint.contains("://") ? endpoint : (config.s3().ssl() ? "https://" : "http://") + endpoint);
    } catch (IllegalArgumentException e) {
      throw new LakehouseException("lakehouse.s3.endpoint: " + endpoint + " is not a URL");
    }
    if (uri.getHost() == null) {
      throw new LakehouseException("lakehouse.s3.endpoint: " + endpoint + " names no host");
    }
    int port = uri.getPort() > 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    Reachable.problem(uri.getHost(), port).ifPresent(problem -> {
      throw new LakehouseException("Cannot reach the S3 endpoint " + endpoint + " (lakehouse.s3.endpoint) of "
          + root + ": " + problem);
    });
  }

  /**
   * A new session of the application for part of a stage or a stream's applying thread: Spark
   * starts it from its configuration, so the settings the lakehouse manages in the session it
   * comes from (compiled or interpreted, deletion vectors) are carried, and its broadcasts bounded.
   */
  public static SparkSession newSession(SparkSession from) {
    SparkSession session = from.newSession();
    for (String key : java.util.stream.Stream.concat(CodeGeneration.settings().stream(),
        DeletionVectors.settings().stream()).toList()) {
      if (from.conf().contains(key)) {
        session.conf().set(key, from.conf().get(key));
      }
    }
    boundBroadcasts(session);
    return session;
  }

  /**
   * Spark broadcasts a join's side of up to {@code spark.sql.autoBroadcastJoinThreshold} (10 MB
   * unless set) and collects it through the driver first, where {@code spark.driver.maxResultSize}
   * bounds what may arrive: with a result limit under twice the threshold, a join with a small
   * table fails the stage. The threshold (and its adaptive counterpart, when set) comes down to
   * half the limit, as {@link MergeSource}'s own broadcasts do. New sessions of the application
   * start from Spark's defaults, so each one made for part of a stage is bounded too.
   *
   * @return the threshold now in force when it was lowered, else 0
   */
  public static long boundBroadcasts(SparkSession spark) {
    long maxResult = spark.sparkContext().getConf().getSizeAsBytes("spark.driver.maxResultSize", "1g");
    if (maxResult <= 0) {
      return 0;
    }
    long limit = maxResult / 2;
    long lowered = 0;
    for (String key : List.of("spark.sql.autoBroadcastJoinThreshold", "spark.sql.adaptive.autoBroadcastJoinThreshold")) {
      String value = spark.conf().getOption(key).getOrElse(() -> null);
      if (value == null || value.isBlank() || value.trim().startsWith("-")) {
        continue; // unset (the adaptive one then follows the other), or broadcasts are off
      }
      if (JavaUtils.byteStringAsBytes(value.trim()) > limit) {
        spark.conf().set(key, Long.toString(limit));
        lowered = limit;
      }
    }
    return lowered;
  }

  /**
   * The Hadoop S3A settings ({@code fs.s3a.*}) for {@code lakehouse.s3}: the endpoint, region,
   * path-style access and TLS only when an endpoint is configured (AWS S3's defaults otherwise),
   * and always a buffer directory under {@code java.io.tmpdir}. Never credentials: S3A's default
   * provider chain reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment (and
   * Spark copies them into its Hadoop configuration at start-up).
   */
  public static Map<String, String> s3aSettings(SparkSettings config) {
    SparkSettings.S3 s3 = config.s3();
    Map<String, String> settings = new LinkedHashMap<>();
    if (!s3.endpoint().isEmpty()) {
      settings.put("fs.s3a.endpoint", s3.endpoint());
      settings.put("fs.s3a.endpoint.region", s3.region());
      settings.put("fs.s3a.path.style.access", String.valueOf(s3.pathStyleAccess()));
      settings.put("fs.s3a.connection.ssl.enabled", String.valueOf(s3.ssl()));
    }
    settings.put("fs.s3a.buffer.dir", S3A_BUFFER_DIR);
    return settings;
  }
}
