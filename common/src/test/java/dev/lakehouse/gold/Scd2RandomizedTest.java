package dev.lakehouse.gold;

import static dev.lakehouse.gold.Scd2TestData.CUSTOMER;
import static dev.lakehouse.gold.Scd2TestData.changes;
import static dev.lakehouse.gold.Scd2TestData.day;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * Random inserts, updates, deletes, re-inserts, late and repeated changes and inferred members
 * over several runs; after each run the dimension must equal a history computed independently,
 * in plain Java, by replaying each key's stored rows and new events in time order. Run with
 * {@code -Dscd2.seed=N} to explore other histories.
 */
class Scd2RandomizedTest extends LakehouseTestBase {

  private static final int KEYS = 30;
  private static final int RUNS = 6;
  private static final Instant START = day("2024-01-01");
  private static final Duration PERIOD = Duration.ofDays(10);
  private static final String[] NAMES = {"Ann", "Bob"};
  private static final String[] CITIES = {"Paris", "", null};
  private static final String[] EMAILS = {"a@x", "b@x", null};

  /** One source change; a version if {@code !deleted}. */
  private record Event(long key, Instant at, boolean deleted, String name, String city, String email) {
    Row toRow() {
      return RowFactory.create(key, name, city, email, Timestamp.from(at), deleted);
    }
  }

  @Test
  void dimensionMatchesAnIndependentlyComputedHistory() {
    long seed = Long.getLong("scd2.seed", 20241121L);
    Random random = new Random(seed);
    String path = lakehouseRoot.resolve("gold/randomized_" + seed).toString();
    Scd2Merge dimension = new Scd2Merge(spark, path, CUSTOMER);
    dimension.createIfMissing(Scd2TestData.CHANGE_SCHEMA);
    ExpectedDimension expected = new ExpectedDimension();
    Map<Long, Set<Instant>> usedTimes = new HashMap<>();
    List<Event> sent = new ArrayList<>();
    Map<Long, Long> keyOfSk = new HashMap<>();
    List<Event> batch = List.of();

    for (int run = 0; run < RUNS; run++) {
      String where = "seed " + seed + ", run " + run;
      if (random.nextBoolean()) {
        // Facts arrived for customers the dimension may not know yet.
        List<Long> factKeys = List.of((long) random.nextInt(KEYS + 5), (long) random.nextInt(KEYS + 5));
        dimension.ensureMembers(spark.createDataFrame(
            factKeys.stream().map(k -> RowFactory.create(k)).toList(),
            new StructType().add("customer_id", DataTypes.LongType)));
        factKeys.forEach(expected::ensureMember);
      }
      batch = generateBatch(random, run, usedTimes, sent);
      sent.addAll(batch);
      Collections.shuffle(batch, random);

      dimension.apply(changes(spark, batch.stream().map(Event::toRow).toList()));
      expected.apply(batch);

      assertEquals(expected.rows(), actualRows(path), where);
      Scd2TestData.assertInvariants(spark, path, CUSTOMER);
      assertSurrogateKeysStable(path, keyOfSk, where);
    }

    List<Row> before = spark.read().format("delta").load(path).orderBy("customer_sk").collectAsList();
    assertEquals(Scd2Result.NOTHING, dimension.apply(changes(spark, batch.stream().map(Event::toRow).toList())),
        "rerun of the last batch, seed " + seed);
    assertEquals(before, spark.read().format("delta").load(path).orderBy("customer_sk").collectAsList());
  }

  /**
   * About a third of the keys change per run, one to three times; some changes are late (before
   * this run's period), some repeat an earlier change verbatim. A key's change times are unique,
   * so only verbatim repeats share an instant.
   */
  private static List<Event> generateBatch(Random random, int run, Map<Long, Set<Instant>> usedTimes, List<Event> sent) {
    Instant periodStart = START.plus(PERIOD.multipliedBy(run));
    List<Event> batch = new ArrayList<>();
    for (int i = 0; i < KEYS / 3; i++) {
      long key = random.nextInt(KEYS);
      int changes = 1 + random.nextInt(3);
      for (int c = 0; c < changes; c++) {
        boolean late = run > 0 && random.nextInt(10) < 3;
        Instant from = late ? START : periodStart;
        long minutes = Duration.between(from, periodStart.plus(PERIOD)).toMinutes();
        Instant at;
        do {
          at = from.plus(Duration.ofMinutes(1 + random.nextLong(minutes - 1)));
        } while (!usedTimes.computeIfAbsent(key, k -> new HashSet<>()).add(at));
        batch.add(random.nextInt(5) == 0
            ? new Event(key, at, true, null, null, null)
            : new Event(key, at, false, pick(random, NAMES), pick(random, CITIES), pick(random, EMAILS)));
      }
    }
    for (int i = 0; i < 3 && !sent.isEmpty(); i++) {
      batch.add(sent.get(random.nextInt(sent.size())));
    }
    if (!batch.isEmpty()) {
      batch.add(batch.get(random.nextInt(batch.size())));
    }
    return batch;
  }

  private static String pick(Random random, String[] values) {
    return values[random.nextInt(values.length)];
  }

  private List<String> actualRows(String path) {
    List<String> rows = new ArrayList<>();
    for (Row r : spark.read().format("delta").load(path).where("customer_sk <> -1").collectAsList()) {
      rows.add(describe(r.getAs("customer_id"), r.getAs("name"), r.getAs("city"), r.getAs("email"),
          ((Timestamp) r.getAs("valid_from")).toInstant(), ((Timestamp) r.getAs("valid_to")).toInstant(),
          r.getAs("is_current"), r.getAs("is_deleted"), r.getAs("is_inferred")));
    }
    Collections.sort(rows);
    return rows;
  }

  private static String describe(long key, String name, String city, String email, Instant from, Instant to,
      boolean current, boolean deleted, boolean inferred) {
    return String.format("%02d %s %s %s %s..%s %s", key, name, city == null ? null : "'" + city + "'", email,
        from, to, Scd2TestData.flags(current, deleted, inferred));
  }

  /** Surrogate keys never change owner or disappear, and new ones are above all earlier ones. */
  private void assertSurrogateKeysStable(String path, Map<Long, Long> keyOfSk, String where) {
    long previousMax = keyOfSk.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
    Map<Long, Long> now = new HashMap<>();
    for (Row r : spark.read().format("delta").load(path).where("customer_sk <> -1").collectAsList()) {
      now.put(r.getAs("customer_sk"), r.getAs("customer_id"));
    }
    for (Map.Entry<Long, Long> old : keyOfSk.entrySet()) {
      assertEquals(old.getValue(), now.get(old.getKey()), where + ": surrogate key " + old.getKey());
    }
    for (long sk : now.keySet()) {
      assertTrue(keyOfSk.containsKey(sk) || sk > previousMax, where + ": new surrogate key " + sk + " <= " + previousMax);
    }
    keyOfSk.putAll(now);
  }

  /** The specified history, kept per key as a list of rows in time order. */
  private static final class ExpectedDimension {

    private static final class Version {
      final Instant from;
      final boolean deleted;
      String name;
      String city;
      boolean inferred;

      Version(Instant from, boolean deleted, String name, String city, boolean inferred) {
        this.from = from;
        this.deleted = deleted;
        this.name = name;
        this.city = city;
        this.inferred = inferred;
      }
    }

    private final Map<Long, List<Version>> history = new TreeMap<>();
    private final Map<Long, String> email = new HashMap<>();

    void ensureMember(long key) {
      if (!history.containsKey(key)) {
        history.put(key, new ArrayList<>(List.of(new Version(Scd2Columns.BEGINNING, false, null, null, true))));
        email.put(key, null);
      }
    }

    void apply(List<Event> batch) {
      Map<Long, List<Event>> byKey = new TreeMap<>();
      batch.forEach(e -> byKey.computeIfAbsent(e.key(), k -> new ArrayList<>()).add(e));
      byKey.forEach(this::apply);
    }

    private void apply(long key, List<Event> events) {
      List<Version> stored = history.getOrDefault(key, List.of());
      // Stored rows first: at an instant that is already stored, the stored row stays.
      TreeMap<Instant, Version> timeline = new TreeMap<>();
      stored.forEach(v -> timeline.put(v.from, v));
      for (Event e : events) {
        timeline.putIfAbsent(e.at(), new Version(e.at(), e.deleted(), e.name(), e.city(), false));
      }

      List<Version> rows = new ArrayList<>();
      for (Version event : timeline.values()) {
        Version live = rows.isEmpty() || rows.get(rows.size() - 1).deleted ? null : rows.get(rows.size() - 1);
        if (event.deleted) {
          if (live != null) {
            rows.add(new Version(event.from, true, live.name, live.city, false));
          }
        } else if (live == null) {
          rows.add(new Version(event.from, false, event.name, event.city, event.inferred));
        } else if (live.inferred) {
          live.name = event.name;
          live.city = event.city;
          live.inferred = false;
        } else if (!Objects.equals(live.name, event.name) || !Objects.equals(live.city, event.city)) {
          rows.add(new Version(event.from, false, event.name, event.city, false));
        }
      }
      if (!rows.isEmpty()) {
        history.put(key, rows);
      }

      // The e-mail follows the newest version in the batch, unless a stored row is at least as new.
      Instant newestStored = stored.isEmpty() ? null : stored.get(stored.size() - 1).from;
      events.stream().filter(e -> !e.deleted()).max(Comparator.comparing(Event::at))
          .filter(newest -> newestStored == null || newest.at().isAfter(newestStored))
          .ifPresent(newest -> email.put(key, newest.email()));
    }

    List<String> rows() {
      List<String> rows = new ArrayList<>();
      history.forEach((key, versions) -> {
        for (int i = 0; i < versions.size(); i++) {
          Version v = versions.get(i);
          Instant to = i + 1 < versions.size() ? versions.get(i + 1).from : Scd2Columns.FAR_FUTURE;
          rows.add(describe(key, v.name, v.city, email.get(key), v.from, to,
              to.equals(Scd2Columns.FAR_FUTURE) && !v.deleted, v.deleted, v.inferred));
        }
      });
      Collections.sort(rows);
      return rows;
    }
  }
}
