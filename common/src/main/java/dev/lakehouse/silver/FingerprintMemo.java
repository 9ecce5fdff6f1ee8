package dev.lakehouse.silver;

import dev.lakehouse.spark.DeltaSnapshots;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.Snapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Silver's key fingerprint ({@link KeyFingerprint}), remembered for the exact state it was summed
 * from, so that a run which changed neither silver nor its quarantine does not sum silver's keys
 * again: at 10M keys that is most of reconcile's time when nothing is new.
 *
 * <p>A state names each table by its Delta table id (new when a table is re-created at the same
 * path) and version, and the key column; a remembered value is used only for that same state, so
 * it is always the value summing would give. One small file per table under
 * {@code _control/fingerprints/<table>/}, named after the state: not a Delta table, because a Spark
 * job per read and a commit per write would cost what this saves. A missing, unreadable or
 * half-written file is a miss (the sum runs again), never a wrong answer.
 */
final class FingerprintMemo {

  private static final Logger LOG = LoggerFactory.getLogger(FingerprintMemo.class);
  /** The last line: a file cut short by a crash lacks it, and is a miss. */
  private static final String END = "end";

  /** The state a fingerprint belongs to: silver's and quarantine's table id and version, and the key. */
  record State(String silverId, long silverVersion, String quarantineId, long quarantineVersion, String key) {
    String describe() {
      return "silver " + silverId + "@" + silverVersion + ", quarantine "
          + (quarantineVersion < 0 ? "none" : quarantineId + "@" + quarantineVersion) + ", key " + key;
    }
  }

  private final SparkSession spark;
  private final Path dir;

  FingerprintMemo(SparkSession spark, String dir) {
    this.spark = spark;
    this.dir = new Path(dir);
  }

  /** The current state of a table's silver (which must exist) and quarantine (which may not). */
  State stateOf(String silverPath, String quarantinePath, String key) {
    Snapshot silver = DeltaSnapshots.latest(spark, silverPath);
    Snapshot quarantine = DeltaSnapshots.latest(spark, quarantinePath);
    return new State(silver.metadata().id(), silver.version(),
        quarantine.version() < 0 ? "" : quarantine.metadata().id(), quarantine.version(), key);
  }

  /** The fingerprint remembered for exactly this state, if any. */
  Optional<KeyFingerprint.Value> recall(String table, State state) {
    Path file = file(table, state);
    try {
      FileSystem fs = file.getFileSystem(spark.sessionState().newHadoopConf());
      String[] lines;
      try (FSDataInputStream in = fs.open(file)) {
        lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n");
      }
      if (lines.length == 4 && lines[0].equals(state.describe()) && lines[3].equals(END)) {
        return Optional.of(new KeyFingerprint.Value(Long.parseLong(lines[1]), new BigInteger(lines[2])));
      }
      LOG.debug("reconcile {}: remembered fingerprint {} is not for {}", table, file, state.describe());
    } catch (FileNotFoundException e) {
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      LOG.debug("reconcile {}: cannot read the remembered fingerprint {}: {}", table, file, e.toString());
    }
    return Optional.empty();
  }

  /** Remembers a table's fingerprint for this state, in place of any earlier one; a failure only costs time later. */
  void remember(String table, State state, KeyFingerprint.Value value) {
    Path file = file(table, state);
    try {
      FileSystem fs = file.getFileSystem(spark.sessionState().newHadoopConf());
      try (FSDataOutputStream out = fs.create(file, true)) {
        out.write((state.describe() + "\n" + value.keys() + "\n" + value.hashSum() + "\n" + END).getBytes(StandardCharsets.UTF_8));
      }
      for (FileStatus other : fs.listStatus(file.getParent())) {
        String name = other.getPath().getName();
        if (!name.equals(file.getName()) && !name.startsWith(".")) {
          fs.delete(other.getPath(), false);
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("reconcile {}: could not remember silver's key fingerprint ({}); the next run sums the keys again",
          table, e.getMessage());
    }
  }

  private Path file(String table, State state) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(state.describe().getBytes(StandardCharsets.UTF_8));
      return new Path(new Path(dir, table), HexFormat.of().formatHex(digest, 0, 16));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }
}
