package dev.lakehouse.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.lakehouse.testing.LakehouseTestBase;
import java.util.List;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * The tasks of the lakehouse's sessions, the first one and those made for parallel work, load
 * classes from the application's class path: not through a class loader of the session's own that
 * asks the driver for each class it lacks (an RPC per name Janino's compiler tries, and a stack
 * trace when a cancelled task is interrupted during one).
 */
class SessionClassLoaderTest extends LakehouseTestBase {

  private static List<String> taskClassLoaders(SparkSession session) {
    return session.range(0, 2, 1, 2)
        .map((MapFunction<Long, String>) id -> Thread.currentThread().getContextClassLoader().getClass().getSimpleName(),
            Encoders.STRING())
        .distinct().collectAsList();
  }

  @Test
  void tasksOfEverySessionUseTheApplicationsClassLoader() {
    assertEquals("false", spark.conf().get("spark.sql.artifact.isolation.enabled"));
    for (SparkSession session : List.of(spark, LakehouseSpark.newSession(spark))) {
      List<String> loaders = taskClassLoaders(session);
      assertEquals(1, loaders.size(), "one class loader: " + loaders);
      assertNotEquals("ExecutorClassLoader", loaders.get(0), "tasks ran under a class loader that fetches from the driver");
    }
  }
}
