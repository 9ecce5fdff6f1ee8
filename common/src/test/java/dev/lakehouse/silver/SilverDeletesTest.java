package dev.lakehouse.silver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.pipeline.TableRun;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Deletes in silver are soft: a full table's deleted keys, an incremental table's reconciled ones, and their revival. */
class SilverDeletesTest extends EngineTestBase {

  @Test
  void aFullTableDeleteIsSoftAndAnIdenticalRowBroughtBackRevivesTheKey() {
    sourceExecute(
        "CREATE TABLE products (id int PRIMARY KEY, name text, price numeric(6,2))",
        "INSERT INTO products VALUES (1, 'one', 1.00), (2, 'two', 2.00), (3, 'three', 3.00)");
    LakehouseSpec spec = spec("full-deletes", """
        tables {
          changes { source-table = products, primary-key = [id], mode = full }
          snapshots { source-table = products, primary-key = [id], mode = full, land = snapshot }
        }""");
    List<String> tables = List.of("changes", "snapshots");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));

    sourceExecute("DELETE FROM products WHERE id = 2");
    RunResult deleted = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    for (String table : tables) {
      assertEquals(List.of(1L, 0L, 0L), counts(outcome(deleted, Stage.SILVER, table)), table);
      if (table.equals("changes")) {
        assertEquals(null, outcome(deleted, Stage.SILVER, table).detail(), "a batch of delete markers only deleted");
      }
      Timestamp landed = (Timestamp) sql("SELECT max(_ingested_at) FROM delta.`%s` WHERE _batch_id = 2",
          spec.paths().bronze(table)).get(0).get(0);
      assertEquals(List.of(
              Arrays.asList(1, "one", false, null, 1L),
              Arrays.asList(2, "two", true, landed, 2L),
              Arrays.asList(3, "three", false, null, 1L)),
          sql("SELECT id, name, _is_deleted, _deleted_at, _batch_id FROM delta.`%s` ORDER BY id", spec.paths().silver(table)),
          table + ": the key is kept, deleted as of the batch that saw it gone; the other rows are untouched");
    }

    sourceExecute("INSERT INTO products VALUES (2, 'two', 2.00)");
    RunResult revived = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    for (String table : tables) {
      assertEquals(List.of(0L, 1L, 0L), counts(outcome(revived, Stage.SILVER, table)), table);
      assertEquals(List.of(Arrays.asList(2, "two", false, null, 3L)),
          sql("SELECT id, name, _is_deleted, _deleted_at, _batch_id FROM delta.`%s` WHERE id = 2",
              spec.paths().silver(table)), table + ": the same row again is a revival");
    }
    assertEquals(List.of(List.of(2, "U")), sql("SELECT id, _op FROM delta.`%s` WHERE _batch_id = 3",
        spec.paths().bronze("changes")), "bronze lands the row again after its delete marker");
  }

  @Test
  void reconcileSoftDeletesGoneKeysCommitsNothingWhenNoneAreGoneAndAReturnRevives() {
    sourceExecute(
        "CREATE TABLE orders (id int PRIMARY KEY, status text, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO orders (id, status) VALUES (1, 'open'), (2, 'open'), (3, 'open')");
    LakehouseSpec spec = spec("reconcile", """
        tables {
          orders { primary-key = [id], mode = incremental, cursor = updated_at }
          catalog { source-table = orders, primary-key = [id], mode = full }
        }""");
    String silver = spec.paths().silver("orders");
    // The full table is only declared: were reconcile to take it, it would fail on its missing silver.
    LakehouseSpec ordersOnly = spec.withTables(spec.tables(List.of("orders")));
    succeeded(run(ordersOnly, Stage.BRONZE, Stage.SILVER));

    sourceExecute("DELETE FROM orders WHERE id = 2");
    Instant before = Instant.now();
    RunResult reconciled = succeeded(run(spec, Stage.RECONCILE));
    assertEquals(List.of("orders"), reconciled.of(Stage.RECONCILE).stream().map(TableRun::table).toList(),
        "only incremental tables are reconciled: a full table's snapshot shows its deletes");
    TableRun orders = outcome(reconciled, Stage.RECONCILE, "orders");
    assertEquals(List.of(2L, 1L), List.of(orders.rowsRead(), orders.rowsWritten()), "two source keys, one gone");
    List<List<Object>> rows = sql("SELECT id, _is_deleted, _deleted_at FROM delta.`%s` ORDER BY id", silver);
    assertEquals(List.of(Arrays.asList(1, false, null), Arrays.asList(3, false, null)),
        List.of(rows.get(0), rows.get(2)));
    assertEquals(List.of(2, true), rows.get(1).subList(0, 2));
    Instant deletedAt = ((Timestamp) rows.get(1).get(2)).toInstant();
    assertTrue(!deletedAt.isBefore(before.minusSeconds(1)) && !deletedAt.isAfter(Instant.now()), deletedAt.toString());

    long version = version(silver);
    RunResult again = succeeded(run(spec, Stage.RECONCILE));
    assertEquals(0L, outcome(again, Stage.RECONCILE, "orders").rowsWritten());
    assertEquals(version, version(silver), "no key gone: nothing committed");

    sourceExecute("INSERT INTO orders (id, status) VALUES (2, 'back')");
    RunResult back = succeeded(run(ordersOnly, Stage.BRONZE, Stage.SILVER));
    assertEquals(1L, outcome(back, Stage.SILVER, "orders").count("updated"));
    assertEquals(List.of(Arrays.asList(2, "back", false, null)),
        sql("SELECT id, status, _is_deleted, _deleted_at FROM delta.`%s` WHERE id = 2", silver), "revived");
  }

  @Test
  void reconcileByFingerprintFindsADeleteThatAnInsertHidesFromTheCount() {
    sourceExecute(
        "CREATE TABLE parcels (id bigint PRIMARY KEY, depot int, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO parcels (id, depot) VALUES (1, 10), (2, 10), (3, 20), (5, NULL)");
    LakehouseSpec spec = spec("reconcile-fingerprint", """
        tables {
          parcels {
            primary-key = [id], mode = incremental, cursor = updated_at
            quality = [{ rule = not_null, columns = [depot], action = quarantine }]
          }
        }""");
    String silver = spec.paths().silver("parcels");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    TableRun same = outcome(succeeded(run(spec, Stage.RECONCILE)), Stage.RECONCILE, "parcels");
    assertEquals(Arrays.asList(4L, 0L, "keys unchanged"), Arrays.asList(same.rowsRead(), same.rowsWritten(), same.detail()),
        "silver's keys and the one quarantine holds are the source's: settled by fingerprint");

    // Four keys on both sides still, but not the same four: the fingerprints differ.
    sourceExecute("DELETE FROM parcels WHERE id = 2", "INSERT INTO parcels (id, depot) VALUES (4, 20)");
    TableRun changed = outcome(succeeded(run(spec, Stage.RECONCILE)), Stage.RECONCILE, "parcels");
    assertEquals(Arrays.asList(4L, 1L, null), Arrays.asList(changed.rowsRead(), changed.rowsWritten(), changed.detail()));
    assertEquals(List.of(List.of(1L, false), List.of(2L, true), List.of(3L, false)),
        sql("SELECT id, _is_deleted FROM delta.`%s` ORDER BY id", silver));

    long version = version(silver);
    TableRun again = outcome(succeeded(run(spec, Stage.RECONCILE)), Stage.RECONCILE, "parcels");
    assertEquals(Arrays.asList(0L, null), Arrays.asList(again.rowsWritten(), again.detail()),
        "key 4 is not in silver yet: compared in full, nothing to delete");
    assertEquals(version, version(silver), "nothing committed");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals("keys unchanged", outcome(succeeded(run(spec, Stage.RECONCILE)), Stage.RECONCILE, "parcels").detail());
  }

  @Test
  void silversFingerprintIsRememberedForTheStateItIsOfAndMovedExactlyByTheSoftDelete() throws Exception {
    sourceExecute(
        "CREATE TABLE lockers (id bigint PRIMARY KEY, site int, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO lockers (id, site) SELECT i, CASE WHEN i = 7 THEN NULL ELSE i % 5 END FROM generate_series(1, 40) i");
    LakehouseSpec spec = spec("reconcile-remembered", """
        tables {
          lockers {
            primary-key = [id], mode = incremental, cursor = updated_at
            quality = [{ rule = not_null, columns = [site], action = quarantine }]
          }
        }""");
    String silver = spec.paths().silver("lockers");
    String quarantine = spec.paths().quarantine("lockers");
    FingerprintMemo memo = new FingerprintMemo(spark, spec.paths().control(SilverReconciler.FINGERPRINTS));
    java.nio.file.Path dir = java.nio.file.Path.of(spec.paths().control(SilverReconciler.FINGERPRINTS), "lockers");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));

    assertEquals("keys unchanged", reconcile(spec).detail());
    FingerprintMemo.State first = memo.stateOf(silver, quarantine, "id");
    assertEquals(summed(silver, quarantine, first), memo.recall("lockers", first).orElseThrow(),
        "remembered: what summing silver's live keys and quarantine's gives");
    assertEquals("keys unchanged", reconcile(spec).detail(), "recalled, and still the source's");

    // Three keys gone: the soft-delete commits one version, and the fingerprint moves by those keys.
    sourceExecute("DELETE FROM lockers WHERE id IN (3, 7, 19)");
    TableRun deleted = reconcile(spec);
    assertEquals(Arrays.asList(37L, 2L, null), Arrays.asList(deleted.rowsRead(), deleted.rowsWritten(), deleted.detail()),
        "7 was only ever in quarantine: two keys soft-deleted");
    FingerprintMemo.State second = memo.stateOf(silver, quarantine, "id");
    assertEquals(first.silverVersion() + 1, second.silverVersion());
    assertEquals(Optional.of(summed(silver, quarantine, second)), memo.recall("lockers", second),
        "the fingerprint after the delete, without summing silver again");
    assertEquals(1, listed(dir).size(), "one state remembered per table: " + listed(dir));

    // 7 is still in quarantine but gone from the source, so the fingerprints differ: compared in full.
    TableRun full = reconcile(spec);
    assertEquals(Arrays.asList(0L, null), Arrays.asList(full.rowsWritten(), full.detail()));

    // A file cut short (no end line) is a miss: silver is summed again.
    java.nio.file.Path file = listed(dir).get(0);
    java.nio.file.Files.writeString(file, java.nio.file.Files.readString(file).replace("\nend", ""));
    assertEquals(Optional.empty(), memo.recall("lockers", second));
    reconcile(spec);
    assertEquals(Optional.of(summed(silver, quarantine, second)), memo.recall("lockers", second), "remembered again");

    // Silver moves on: the old state's value is never used for the new one.
    sourceExecute("INSERT INTO lockers (id, site) VALUES (41, 1)");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    FingerprintMemo.State third = memo.stateOf(silver, quarantine, "id");
    assertEquals(Optional.empty(), memo.recall("lockers", third));
    reconcile(spec);
    assertEquals(Optional.of(summed(silver, quarantine, third)), memo.recall("lockers", third));
  }

  private static TableRun reconcile(LakehouseSpec spec) {
    return outcome(succeeded(run(spec, Stage.RECONCILE)), Stage.RECONCILE, "lockers");
  }

  private static KeyFingerprint.Value summed(String silver, String quarantine, FingerprintMemo.State state) {
    return KeyFingerprint.ofSilver(
        spark.read().format("delta").option("versionAsOf", state.silverVersion()).load(silver),
        state.quarantineVersion() < 0 ? null
            : spark.read().format("delta").option("versionAsOf", state.quarantineVersion()).load(quarantine),
        "id").orElseThrow();
  }

  private static List<java.nio.file.Path> listed(java.nio.file.Path dir) throws java.io.IOException {
    try (var files = java.nio.file.Files.list(dir)) {
      return files.filter(f -> !f.getFileName().toString().startsWith(".")).toList();
    }
  }

  @Test
  void theFingerprintHashIsPostgresqlsOwn() throws Exception {
    List<Long> values = new java.util.ArrayList<>(List.of(Long.MIN_VALUE, Long.MIN_VALUE + 1, -4294967296L,
        -2147483649L, -2147483648L, -65536L, -1L, 0L, 1L, 2L, 32767L, 2147483647L, 2147483648L, 4294967295L,
        4294967296L, Long.MAX_VALUE - 1, Long.MAX_VALUE));
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 200; i++) {
      values.add(random.nextLong());
      values.add((long) random.nextInt());
    }
    String array = values.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(","));
    List<List<Object>> hashed = sourceQuery("SELECT v, hashint8extended(v, 0) FROM unnest(ARRAY[" + array + "]::int8[]) v");
    assertEquals(values.size(), hashed.size());
    for (List<Object> row : hashed) {
      assertEquals(row.get(1), KeyFingerprint.pgHash((Long) row.get(0)), "hash of " + row.get(0));
    }
  }

  /** Silver renames and casts a key, but never trims or cases it: reconcile reads the source's keys the same way. */
  @Test
  void reconcileComparesTheSourcesKeysAsSilverShapesThem() {
    sourceExecute(
        "CREATE TABLE tags (code text, region text, seq numeric(6,0), label text,"
            + " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (code, region, seq))",
        "INSERT INTO tags (code, region, seq, label) VALUES (' A1 ', 'eu', 1, 'one'), ('b2', 'us ', 2, 'two'),"
            + " ('C3', 'eu', 3, 'three')");
    LakehouseSpec spec = spec("reconcile-shaped", """
        tables {
          tags {
            primary-key = [code, region, seq], mode = incremental, cursor = updated_at
            silver { rename { region = area }, cast { seq = int }, lowercase = [label] }
          }
        }""");
    String silver = spec.paths().silver("tags");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
    assertEquals(List.of(List.of(" A1 ", "eu", 1), List.of("C3", "eu", 3), List.of("b2", "us ", 2)),
        sql("SELECT code, area, seq FROM delta.`%s` ORDER BY code", silver));

    long version = version(silver);
    TableRun none = outcome(succeeded(run(spec, Stage.RECONCILE)), Stage.RECONCILE, "tags");
    assertEquals(List.of(3L, 0L), List.of(none.rowsRead(), none.rowsWritten()),
        "a renamed, cast key with its blanks is the same key");
    assertEquals(version, version(silver));

    sourceExecute("DELETE FROM tags WHERE code = ' A1 '");
    TableRun one = outcome(succeeded(run(spec, Stage.RECONCILE)), Stage.RECONCILE, "tags");
    assertEquals(List.of(2L, 1L), List.of(one.rowsRead(), one.rowsWritten()));
    assertEquals(List.of(List.of(" A1 ", true), List.of("C3", false), List.of("b2", false)),
        sql("SELECT code, _is_deleted FROM delta.`%s` ORDER BY code", silver));
  }

  private static List<Long> counts(TableRun t) {
    return List.of(t.count("deleted"), t.count("updated"), t.count("inserted"));
  }
}
