package dev.lakehouse.spec;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Spark session: application name, master (empty: spark-submit's), settings, the S3A
 * settings of {@code lakehouse.s3}, and from how many rows a stage is compiled
 * ({@link dev.lakehouse.spark.CodeGeneration}; 0: always).
 */
public record SparkSettings(String appName, String master, Map<String, String> conf, S3 s3, long codegenMinRows) {

  /** S3-compatible storage; nothing is applied when {@code endpoint} is empty (AWS S3's defaults). */
  public record S3(String endpoint, String region, boolean pathStyleAccess, boolean ssl) {}

  public SparkSettings {
    conf = Collections.unmodifiableMap(new LinkedHashMap<>(conf));
  }
}
