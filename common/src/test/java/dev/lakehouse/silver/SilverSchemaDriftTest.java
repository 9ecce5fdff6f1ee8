package dev.lakehouse.silver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.pipeline.RunResult;
import dev.lakehouse.pipeline.Stage;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.testing.EngineTestBase;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;

/** The source's columns change under a running lakehouse: added, dropped, retyped. */
class SilverSchemaDriftTest extends EngineTestBase {

  @Test
  void addedColumnsFlowThroughDroppedOnesStayAndAChangedTypeStopsTheTable() {
    sourceExecute(
        "CREATE TABLE drift (id int PRIMARY KEY, qty int, note text, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO drift (id, qty, note) VALUES (1, 5, 'n1'), (2, 6, 'n2')");
    LakehouseSpec spec = spec("drift", "tables.drift { primary-key = [id], mode = incremental, cursor = updated_at }");
    String bronze = spec.paths().bronze("drift");
    String silver = spec.paths().silver("drift");
    succeeded(run(spec, Stage.BRONZE, Stage.SILVER));

    sourceExecute(
        "ALTER TABLE drift ADD COLUMN tier text",
        "ALTER TABLE drift DROP COLUMN note",
        "UPDATE drift SET tier = 'gold', updated_at = now() WHERE id = 1");
    List<String> warnings;
    RunResult drifted;
    try (CapturedWarnings captured = new CapturedWarnings()) {
      drifted = succeeded(run(spec, Stage.BRONZE, Stage.SILVER));
      warnings = List.copyOf(captured.lines);
    }
    String note = "column note is no longer in \"public\".\"drift\"; bronze and silver keep it, NULL from now on";
    assertTrue(outcome(drifted, Stage.BRONZE, "drift").detail().startsWith(note + "; watermark "),
        "the run log says it too: " + outcome(drifted, Stage.BRONZE, "drift").detail());
    assertEquals(List.of(Arrays.asList(1, 5, null, "gold"), Arrays.asList(2, 6, "n2", null)),
        sql("SELECT id, qty, note, tier FROM delta.`%s` ORDER BY id", silver),
        "the new column is NULL in older rows; the dropped one is kept, NULL from the next version on");
    assertTrue(Arrays.asList(spark.read().format("delta").load(bronze).columns()).containsAll(List.of("note", "tier")));
    assertTrue(warnings.contains("bronze drift: column note is no longer in \"public\".\"drift\"; bronze and silver keep"
        + " it, NULL from now on"), warnings.toString());

    sourceExecute(
        "ALTER TABLE drift ALTER COLUMN qty TYPE text USING qty::text",
        "UPDATE drift SET qty = 'seven', updated_at = now() WHERE id = 2");
    List<Long> versions = List.of(version(bronze), version(silver));
    RunResult retyped = run(spec, Stage.BRONZE, Stage.SILVER);
    assertEquals(List.of("bronze drift: Column qty of \"public\".\"drift\" changed type from int to string; bronze.drift"
        + " is left untouched (migrate it, or rename the source column)"), retyped.failureLines());
    assertEquals(versions, List.of(version(bronze), version(silver)), "nothing written to bronze or silver");
    assertEquals("up to date", outcome(retyped, Stage.SILVER, "drift").detail());
  }

  /** Warnings of the lakehouse's loggers while open. */
  private static final class CapturedWarnings extends AbstractAppender implements AutoCloseable {
    final List<String> lines = new CopyOnWriteArrayList<>();
    private final LoggerConfig logger;

    CapturedWarnings() {
      super("captured-" + UUID.randomUUID(), null, null, true, Property.EMPTY_ARRAY);
      start();
      LoggerContext context = (LoggerContext) LogManager.getContext(false);
      logger = context.getConfiguration().getLoggerConfig("dev.lakehouse");
      logger.addAppender(this, Level.WARN, null);
      context.updateLoggers();
    }

    @Override
    public void append(LogEvent event) {
      lines.add(event.getMessage().getFormattedMessage());
    }

    @Override
    public void close() {
      logger.removeAppender(getName());
      ((LoggerContext) LogManager.getContext(false)).updateLoggers();
      stop();
    }
  }
}
