package dev.lakehouse.control;

import dev.lakehouse.LakehouseException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;

/**
 * One writer per lakehouse. A second run fails fast with a message naming the holder.
 *
 * <p>On a local file system the lock is an operating-system file lock, released by the kernel
 * however the holder dies, so a crashed run never blocks the re-run. On object stores, which
 * have no such lock, it is a lease file renewed by a heartbeat; a lease older than its term
 * counts as abandoned. Delta's optimistic concurrency still guards each table on its own.
 */
public abstract class LakehouseLock implements AutoCloseable {

  public static final String LOCK_FILE = "_control/.lock";

  public static LakehouseLock acquire(String root, String job, Duration lease, Configuration hadoop) {
    URI uri = URI.create(root.contains("://") ? root : "file://" + root);
    if ("file".equals(uri.getScheme())) {
      return new LocalLock(Paths.get(uri.getPath()).resolve(LOCK_FILE), job);
    }
    return new LeaseLock(root + "/" + LOCK_FILE, job, lease, hadoop);
  }

  static String owner(String job) {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "unknown-host";
    }
    return "job=" + job + " pid=" + ProcessHandle.current().pid() + " host=" + host + " since=" + Instant.now();
  }

  static LakehouseException busy(String where, String holder) {
    return new LakehouseException("Another lakehouse run is writing to " + where
        + " (" + (holder.isBlank() ? "holder unknown" : holder.trim())
        + "); wait for it to finish, then run again");
  }

  private static final class LocalLock extends LakehouseLock {
    private final FileChannel channel;
    private final FileLock lock;

    LocalLock(Path file, String job) {
      try {
        Files.createDirectories(file.getParent());
        channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock acquired;
        try {
          acquired = channel.tryLock();
        } catch (OverlappingFileLockException e) {
          acquired = null; // held by this same JVM
        }
        if (acquired == null) {
          String holder = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
          channel.close();
          throw busy(file.getParent().getParent().toString(), holder);
        }
        lock = acquired;
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(owner(job).getBytes(StandardCharsets.UTF_8)), 0);
        channel.force(false);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot create the lock file " + file, e);
      }
    }

    @Override
    public void close() {
      try {
        lock.release();
        channel.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static final class LeaseLock extends LakehouseLock {
    private final org.apache.hadoop.fs.Path file;
    private final FileSystem fs;
    private final String owner;
    private final Duration lease;
    private final ScheduledExecutorService heartbeat;

    LeaseLock(String file, String job, Duration lease, Configuration hadoop) {
      this.file = new org.apache.hadoop.fs.Path(file);
      this.lease = lease;
      this.owner = owner(job);
      try {
        this.fs = this.file.getFileSystem(hadoop);
        if (fs.exists(this.file)) {
          String content;
          try (FSDataInputStream in = fs.open(this.file)) {
            content = new String(in.readAllBytes(), StandardCharsets.UTF_8);
          }
          String[] parts = content.split("\n", 2);
          Instant expires = Instant.parse(parts[0].trim());
          if (expires.isAfter(Instant.now())) {
            throw busy(file, parts.length > 1 ? parts[1] : "");
          }
        }
        renew();
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot use the lock file " + file, e);
      }
      heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "lakehouse-lock-heartbeat");
        t.setDaemon(true);
        return t;
      });
      long period = Math.max(1, lease.toMillis() / 3);
      heartbeat.scheduleAtFixedRate(this::renewQuietly, period, period, TimeUnit.MILLISECONDS);
    }

    private void renew() throws IOException {
      try (FSDataOutputStream out = fs.create(file, true)) {
        out.write((Instant.now().plus(lease) + "\n" + owner).getBytes(StandardCharsets.UTF_8));
      }
    }

    private void renewQuietly() {
      try {
        renew();
      } catch (IOException e) {
        org.slf4j.LoggerFactory.getLogger(LakehouseLock.class).warn("Lock renewal failed: {}", e.toString());
      }
    }

    @Override
    public void close() {
      heartbeat.shutdownNow();
      try {
        fs.delete(file, false);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  @Override
  public abstract void close();
}
