package dev.lakehouse.spark;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;

/**
 * Whether a service the lakehouse needs accepts a TCP connection, asked before the library that
 * talks to it does: Spark retries an absent standalone master for a minute and S3A an absent
 * endpoint for two, and both then fail with an error that names neither the address nor the
 * setting. A connection is all it checks; what answers is the library's business.
 */
final class Reachable {

  /** How long a service may take to accept a connection. */
  static final int TIMEOUT_MS = 5_000;

  private Reachable() {}

  /** What is wrong with {@code host:port}, in words; empty when it accepted a connection. */
  static Optional<String> problem(String host, int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), TIMEOUT_MS);
      return Optional.empty();
    } catch (UnknownHostException e) {
      return Optional.of(host + " is not a known host name");
    } catch (IOException e) {
      String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().toLowerCase(Locale.ROOT);
      return Optional.of(host + ":" + port + " " + (why.contains("refused") ? "refused the connection"
          : why.contains("timed out") ? "did not answer within " + TIMEOUT_MS / 1000 + " s"
          : "cannot be reached (" + why + ")"));
    }
  }
}
