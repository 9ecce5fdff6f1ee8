package dev.lakehouse.testing;

import org.apache.spark.SparkConf;
import org.apache.spark.deploy.master.Master;
import org.apache.spark.rpc.RpcEnv;
import scala.Option;
import scala.Tuple3;

/**
 * A real Spark standalone master in the test's JVM, on free loopback ports (its RPC port and its
 * web UI), with no workers: enough to be asked whether it is a master. Stopped on close.
 */
public final class InProcessMaster implements AutoCloseable {
  private final RpcEnv env;
  private final int webUiPort;

  private InProcessMaster(RpcEnv env, int webUiPort) {
    this.env = env;
    this.webUiPort = webUiPort;
  }

  public static InProcessMaster start() {
    SparkConf conf = new SparkConf(false).set("spark.master.rest.enabled", "false");
    Tuple3<RpcEnv, Object, Option<Object>> started = Master.startRpcEnvAndEndpoint("127.0.0.1", 0, 0, conf);
    return new InProcessMaster(started._1(), (Integer) started._2());
  }

  /** The port of {@code spark://127.0.0.1:port}. */
  public int port() {
    return env.address().port();
  }

  /** The master's web UI (HTTP), the port a user may give by mistake. */
  public int webUiPort() {
    return webUiPort;
  }

  @Override
  public void close() {
    env.shutdown();
    env.awaitTermination();
  }
}
