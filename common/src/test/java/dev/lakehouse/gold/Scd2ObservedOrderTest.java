package dev.lakehouse.gold;

import static dev.lakehouse.gold.Scd2TestData.CUSTOMER;
import static dev.lakehouse.gold.Scd2TestData.day;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lakehouse.testing.LakehouseTestBase;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * Changes that say when the lakehouse observed them: history follows the order of observation, so
 * a key revived after a delete is current again even when its re-insert carries an older change
 * time (a late commit, or a full table restored with an identical row), and a late commit with an
 * older stamp replaces the version it followed. Each case once by hand, then random histories
 * against a model.
 */
class Scd2ObservedOrderTest extends LakehouseTestBase {

  private static final StructType SCHEMA = Scd2TestData.CHANGE_SCHEMA.add(Scd2Columns.OBSERVED_AT, DataTypes.TimestampType);
  private static int dimensions;
  private static String path;

  private static Row version(long id, String name, String city, Instant at, Instant observed) {
    return RowFactory.create(id, name, city, "e@x", Timestamp.from(at), false, Timestamp.from(observed));
  }

  private static Row delete(long id, Instant at) {
    return RowFactory.create(id, null, null, null, Timestamp.from(at), true, Timestamp.from(at));
  }

  private static Dataset<Row> changes(List<Row> rows) {
    return spark.createDataFrame(rows, SCHEMA);
  }

  private static Scd2Merge dimension() {
    path = lakehouseRoot.resolve("gold/observed_" + ++dimensions).toString();
    return new Scd2Merge(spark, path, CUSTOMER);
  }

  @Test
  void aKeyRevivedWithAnOlderChangeTimeIsCurrentAgainJustAfterItsTombstone() {
    Scd2Merge dimension = dimension();
    Instant created = day("2024-03-01");
    Instant deleted = day("2024-03-05");
    dimension.apply(changes(List.of(version(1, "Ann", "Paris", created, day("2024-03-02")))));
    dimension.apply(changes(List.of(delete(1, deleted))));
    // Restored with an identical row and the same change time (a full table), seen after the delete.
    dimension.apply(changes(List.of(version(1, "Ann", "Paris", created, day("2024-03-06")))));

    Instant revived = deleted.plus(1, ChronoUnit.MICROS);
    assertEquals(List.of(
        "1 1 Ann Paris e@x 2024-03-01..2024-03-05 -",
        "2 1 Ann Paris e@x 2024-03-05.." + revived + " D",
        "3 1 Ann Paris e@x " + revived + "..max C"), Scd2TestData.rows(spark, path));
    Scd2TestData.assertInvariants(spark, path, CUSTOMER);
  }

  @Test
  void aLateCommitWithAnOlderStampReplacesTheVersionItFollowed() {
    Scd2Merge dimension = dimension();
    Instant first = day("2024-03-01");
    Instant newer = first.plus(Duration.ofMinutes(5));
    dimension.apply(changes(List.of(version(1, "Ann", "Paris", newer, newer.plusSeconds(60)))));
    // Stamped 3 minutes before the stored version, but seen after it: the source's latest state.
    dimension.apply(changes(List.of(version(1, "Ann", "Lyon", first.plus(Duration.ofMinutes(2)), newer.plusSeconds(600)))));
    Instant after = newer.plus(1, ChronoUnit.MICROS);
    assertEquals(List.of(
        "1 1 Ann Paris e@x " + newer + ".." + after + " -",
        "2 1 Ann Lyon e@x " + after + "..max C"), Scd2TestData.rows(spark, path));
    Scd2TestData.assertInvariants(spark, path, CUSTOMER);
  }

  @Test
  void withinOneBatchObservationOrdersTheChangesAndARerunChangesNothing() {
    Scd2Merge dimension = dimension();
    Instant t = day("2024-03-01");
    List<Row> batch = List.of(
        version(1, "Ann", "Paris", t.plusSeconds(100), t.plusSeconds(1000)),
        delete(1, t.plusSeconds(2000)),
        version(1, "Ann", "Rome", t.plusSeconds(50), t.plusSeconds(3000)));
    dimension.apply(changes(batch));
    List<String> once = Scd2TestData.rows(spark, path);
    assertEquals(3, once.size(), once.toString());
    assertEquals("Rome", spark.read().format("delta").load(path)
        .where("is_current AND customer_id = 1").first().getAs("city"));
    assertEquals(Scd2Result.NOTHING, dimension.apply(changes(batch)), "a rerun of the same changes");
    assertEquals(once, Scd2TestData.rows(spark, path));
  }

  /** One observed change of a random history. */
  private record Event(long key, Instant at, Instant observed, boolean deleted, String name, String city) {
    Row toRow() {
      return deleted ? delete(key, at) : version(key, name, city, at, observed);
    }
  }

  @Test
  void randomHistoriesWithRevivalsAndLateStampsMatchAModel() {
    long seed = Long.getLong("scd2.seed", 20261201L);
    Random random = new Random(seed);
    Scd2Merge dimension = dimension();
    Model model = new Model();
    Instant clock = day("2024-01-01");
    for (int run = 0; run < 5; run++) {
      List<Event> batch = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        long key = random.nextInt(8);
        clock = clock.plus(Duration.ofMinutes(1 + random.nextInt(30)));
        boolean delete = random.nextInt(4) == 0;
        // Stamps may lag observation by up to a day: late commits, re-inserts older than the delete.
        Instant at = delete ? clock : clock.minus(Duration.ofMinutes(random.nextInt(24 * 60)));
        batch.add(new Event(key, at, clock, delete, new String[] {"Ann", "Bob"}[random.nextInt(2)],
            new String[] {"Paris", "Rome"}[random.nextInt(2)]));
      }
      // One version per key and observation, as one bronze batch holds one row per key.
      Map<String, Event> unique = new java.util.LinkedHashMap<>();
      batch.forEach(e -> unique.putIfAbsent(e.key() + "@" + e.observed(), e));
      List<Event> events = new ArrayList<>(unique.values());
      Collections.shuffle(events, random);
      dimension.apply(changes(events.stream().map(Event::toRow).toList()));
      model.apply(events);
      assertEquals(model.rows(), actual(path), "seed " + seed + ", run " + run);
      Scd2TestData.assertInvariants(spark, path, CUSTOMER);
    }
  }

  private static String pathOf(Scd2Merge dimension) {
    return dimension.read().inputFiles().length == 0 ? "" : lakehouseRoot.resolve("gold/observed_" + dimensions).toString();
  }

  private static List<String> actual(String path) {
    List<String> rows = new ArrayList<>();
    for (Row r : spark.read().format("delta").load(path).where("customer_sk <> -1").collectAsList()) {
      rows.add(r.getAs("customer_id") + " " + r.getAs("name") + " " + r.getAs("city") + " "
          + ((Timestamp) r.getAs("valid_from")).toInstant() + ".." + ((Timestamp) r.getAs("valid_to")).toInstant() + " "
          + Scd2TestData.flags(r.getAs("is_current"), r.getAs("is_deleted"), r.getAs("is_inferred")));
    }
    Collections.sort(rows);
    return rows;
  }

  /**
   * The specified history: per key, stored rows, then the new changes in observation order, each
   * moved to at least 1 µs after everything before it; then versions equal to the live one are
   * absorbed, a delete closes the live version, a version after a delete opens a new one.
   */
  private static final class Model {
    private record Version(Instant from, boolean deleted, String name, String city) {}

    private final Map<Long, List<Version>> history = new TreeMap<>();

    void apply(List<Event> events) {
      Map<Long, List<Event>> byKey = new HashMap<>();
      events.forEach(e -> byKey.computeIfAbsent(e.key(), k -> new ArrayList<>()).add(e));
      byKey.forEach((key, list) -> {
        list.sort(Comparator.comparing(Event::observed).thenComparing(Event::at).thenComparing(Event::deleted));
        List<Version> rows = new ArrayList<>(history.getOrDefault(key, List.of()));
        Instant last = rows.isEmpty() ? null : rows.get(rows.size() - 1).from();
        for (Event e : list) {
          Instant at = last == null || e.at().isAfter(last) ? e.at() : last.plus(1, ChronoUnit.MICROS);
          last = at;
          Version live = rows.isEmpty() || rows.get(rows.size() - 1).deleted() ? null : rows.get(rows.size() - 1);
          if (e.deleted()) {
            if (live != null) {
              rows.add(new Version(at, true, live.name(), live.city()));
            }
          } else if (live == null || !Objects.equals(live.name(), e.name()) || !Objects.equals(live.city(), e.city())) {
            rows.add(new Version(at, false, e.name(), e.city()));
          }
        }
        if (!rows.isEmpty()) {
          history.put(key, rows);
        }
      });
    }

    List<String> rows() {
      List<String> rows = new ArrayList<>();
      history.forEach((key, versions) -> {
        for (int i = 0; i < versions.size(); i++) {
          Version v = versions.get(i);
          Instant to = i + 1 < versions.size() ? versions.get(i + 1).from() : Scd2Columns.FAR_FUTURE;
          rows.add(key + " " + v.name() + " " + v.city() + " " + v.from() + ".." + to + " "
              + Scd2TestData.flags(to.equals(Scd2Columns.FAR_FUTURE) && !v.deleted(), v.deleted(), false));
        }
      });
      Collections.sort(rows);
      return rows;
    }
  }
}
