package dev.lakehouse.source.replication;

import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.testing.LakehouseTestBase;

/**
 * The module's one embedded PostgreSQL (wal_level = logical), without the Spark session that
 * {@link LakehouseTestBase}'s test classes also start: replication tests need no Spark. Extends
 * the base only to reach its shared server; it is not a test class, so the base's
 * {@code @BeforeAll} never runs for it.
 */
final class SharedPostgres extends LakehouseTestBase {

  private SharedPostgres() {}

  static EmbeddedSource get() {
    return sharedPostgres();
  }
}
