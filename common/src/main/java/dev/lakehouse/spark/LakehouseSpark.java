package dev.lakehouse.spark;

import dev.lakehouse.config.LakehouseConfig;
import org.apache.spark.sql.SparkSession;

/** Builds the Spark session from configuration: Delta enabled, UTC session time zone. */
public final class LakehouseSpark {

  private LakehouseSpark() {}

  public static SparkSession getOrCreate(LakehouseConfig config) {
    SparkSession.Builder builder = SparkSession.builder().appName(config.sparkAppName());
    String master = config.sparkMaster();
    if (!master.isBlank()) {
      builder.master(master);
    }
    config.sparkConf().forEach(builder::config);
    SparkSession spark = builder.getOrCreate();
    // An existing session (spark-submit, Zeppelin) may have been built without our settings.
    spark.conf().set("spark.sql.session.timeZone", "UTC");
    return spark;
  }
}
