package dev.lakehouse.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lakehouse.testing.LakehouseTestBase;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** A stage on few rows runs interpreted, in its own sessions too; the session is as it was afterwards. */
class CodeGenerationTest extends LakehouseTestBase {

  private static boolean compiles(SparkSession session) {
    String plan = session.range(10).selectExpr("id + 1 AS x").where("x > 3").queryExecution().executedPlan().toString();
    boolean wholeStage = plan.contains("WholeStageCodegen") || plan.startsWith("*");
    boolean expressions = !session.conf().get(CodeGeneration.FACTORY_MODE, "FALLBACK").equals("NO_CODEGEN");
    assertEquals(wholeStage, expressions, "both settings together");
    return wholeStage;
  }

  @Test
  void aStageOnFewRowsRunsInterpretedInEverySessionItUses() {
    assertTrue(compiles(spark), "Spark compiles by default");
    List<Boolean> inStage = CodeGeneration.forRows(spark, Map.of(), 1_000, () -> OptionalLong.of(999), () -> {
      List<Boolean> seen = new java.util.ArrayList<>(List.of(compiles(spark)));
      seen.addAll(Parallel.map(spark, List.of(1, 2), 2, (i, session) -> compiles(session)));
      return seen;
    });
    assertEquals(List.of(false, false, false), inStage, "the stage's session and the sessions of its parallel work");
    assertFalse(spark.conf().contains(CodeGeneration.WHOLE_STAGE), "the settings are removed after the stage");
    assertFalse(spark.conf().contains(CodeGeneration.FACTORY_MODE));
    assertTrue(compiles(spark));
  }

  @Test
  void manyRowsUnknownRowsOrAConfiguredChoiceKeepSparksSetting() {
    assertTrue(CodeGeneration.forRows(spark, Map.of(), 1_000, () -> OptionalLong.of(1_000), () -> compiles(spark)));
    assertTrue(CodeGeneration.forRows(spark, Map.of(), 1_000, () -> OptionalLong.empty(), () -> compiles(spark)));
    assertTrue(CodeGeneration.forRows(spark, Map.of(), 0, () -> OptionalLong.of(5), () -> compiles(spark)), "0: always");
    assertTrue(CodeGeneration.forRows(spark, Map.of(CodeGeneration.WHOLE_STAGE, "true"), 1_000, () -> OptionalLong.of(5),
        () -> compiles(spark)), "the configuration's own choice wins");
  }
}
