package dev.lakehouse.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.spark.SecurityManager;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.master.Master;
import org.apache.spark.rpc.RpcAddress;
import org.apache.spark.rpc.RpcEndpointNotFoundException;
import org.apache.spark.rpc.RpcEnv;
import org.apache.spark.rpc.RpcTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether a Spark standalone master answers at an address that accepts connections, asked in
 * Spark's own RPC before the session starts. Something else on the port (the master's web UI, a
 * worker, a proxy) otherwise costs Spark's three registration attempts of 20 s each, and then a
 * {@code NullPointerException} about {@code SparkEnv} that names neither the address nor the
 * setting. The question is the one Spark asks first, whether the address holds an endpoint named
 * {@code Master}, bounded by {@link Reachable#TIMEOUT_MS}.
 *
 * <p>{@code RpcEnv} is internal to Spark (public in bytecode only); it is used here because no
 * public API asks a master anything before registering an application with it.
 */
final class StandaloneMaster {

  private static final Logger LOG = LoggerFactory.getLogger(StandaloneMaster.class);

  private StandaloneMaster() {}

  /**
   * What is wrong with the master at {@code host:port}, in words; empty when a master answered,
   * or when the question cannot be asked without the application's secret (authentication on).
   *
   * @param settings the application's Spark settings (network and security ones matter here)
   */
  static Optional<String> problem(String host, int port, Map<String, String> settings) {
    SparkConf conf = new SparkConf(true); // with spark-submit's spark.* system properties
    settings.forEach(conf::set);
    if (conf.getBoolean("spark.authenticate", false)) {
      return Optional.empty(); // a master that requires a secret answers nobody without it: Spark asks
    }
    conf.set("spark.rpc.lookupTimeout", Reachable.TIMEOUT_MS + "ms");
    return quietly(() -> {
      RpcEnv env;
      try {
        SecurityManager security = new SecurityManager(conf, SecurityManager.$lessinit$greater$default$2(),
            SecurityManager.$lessinit$greater$default$3());
        env = RpcEnv.create("lakehouse-master-check", "127.0.0.1", 0, conf, security, true);
      } catch (Exception e) { // the question cannot be asked from here: Spark asks it, as before
        LOG.debug("Cannot ask {}:{} whether it is a Spark master", host, port, e);
        return Optional.empty();
      }
      try {
        env.setupEndpointRef(RpcAddress.apply(host, port), Master.ENDPOINT_NAME());
        return Optional.empty();
      } catch (Exception e) { // Scala's exceptions are not declared; each kind below is Spark's
        return Optional.of(host + ":" + port + " " + describe(e));
      } finally {
        env.shutdown();
        env.awaitTermination();
      }
    });
  }

  /**
   * Runs the question with Spark's RPC and network loggers off: they report a failed exchange at
   * WARN with a stack trace, which the problem returned already says in words. Log4j 2 is Spark's
   * logging backend; under another one the loggers are left as they are.
   */
  private static Optional<String> quietly(Supplier<Optional<String>> question) {
    if (!(LogManager.getContext(false) instanceof LoggerContext context)) {
      return question.get();
    }
    Configuration config = context.getConfiguration();
    List<String> silenced = new ArrayList<>();
    for (String name : List.of("org.apache.spark.network", "org.apache.spark.rpc")) {
      if (!config.getLoggerConfig(name).getName().equals(name)) { // a logger configured by the user stays as it is
        config.addLogger(name, new LoggerConfig(name, Level.OFF, false));
        silenced.add(name);
      }
    }
    context.updateLoggers();
    try {
      return question.get();
    } finally {
      silenced.forEach(config::removeLogger);
      context.updateLoggers();
    }
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      root = cause;
      String message = cause.getMessage() == null ? "" : cause.getMessage();
      if (cause instanceof RpcEndpointNotFoundException) {
        return "answers in Spark's protocol but runs no master (a worker's port?)";
      }
      if (cause instanceof RpcTimeoutException || message.toLowerCase(Locale.ROOT).contains("timed out")) {
        return "accepted a connection, but no Spark master answered within " + Reachable.TIMEOUT_MS / 1000 + " s";
      }
      if (message.startsWith("Too large frame")) {
        return "is not a Spark master: it answered in another protocol (a web UI or an HTTP proxy?)";
      }
    }
    return "is not a Spark master (" + (root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage()) + ")";
  }
}
