package dev.lakehouse.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Which column names the lakehouse keeps for itself, and which source names silver must rename. */
class IdentifiersTest {

  /** Names in the engine's source that start with _ but are paths or slot names, not columns. */
  private static final Set<String> NOT_COLUMNS = Set.of("_control", "_delta_log", "_copy_");

  @Test
  void everyColumnNameTheEngineUsesForItselfIsReserved() throws IOException {
    Pattern literal = Pattern.compile("\"(_[A-Za-z0-9_]+)");
    Set<String> missing = new TreeSet<>();
    int seen = 0;
    try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        Matcher m = literal.matcher(Files.readString(file));
        while (m.find()) {
          String name = m.group(1);
          if (NOT_COLUMNS.contains(name)) {
            continue;
          }
          seen++;
          // A literal ending in _ is a prefix completed at run time ("_prev_" + column).
          if (!Identifiers.ownColumn(name.endsWith("_") ? name + "x" : name)) {
            missing.add(name + " (" + file.getFileName() + ")");
          }
        }
      }
    }
    assertTrue(seen > 50, "the scan found the engine's names: " + seen);
    assertEquals(Set.of(), missing, "add these to Identifiers.OWN or OWN_PREFIXES");
  }

  @Test
  void sourceColumnsStartingWithAnUnderscoreLandUnlessTheyAreTheLakehousesOwn() {
    for (String ok : List.of("_synced", "_fivetran_synced", "_id", "_version", "__v", "_Batch", "_source_system")) {
      assertNull(Identifiers.sourceColumnProblem(ok), ok);
    }
    for (String own : List.of("_batch_id", "_OP", "_Row_Hash", "_lsn", "_prev_notes", "_cast_failed_x", "_change_type")) {
      assertTrue(Identifiers.sourceColumnProblem(own).contains("uses for a column of its own"), own);
    }
    assertFalse(Identifiers.silverNameProblem("_synced", "_synced") == null, "silver renames it");
    assertNull(Identifiers.silverNameProblem("_synced", "synced"));
    assertEquals("column '_synced' needs a silver name without space , ; { } ( ) = . ` tab or newline, not starting"
        + " with _ (silver.rename { \"_synced\" = new_name })", Identifiers.silverNameProblem("_synced", "_synced"));
  }
}
