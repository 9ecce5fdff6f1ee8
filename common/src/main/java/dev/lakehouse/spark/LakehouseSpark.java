package dev.lakehouse.spark;

import dev.lakehouse.config.LakehouseConfig;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds the Spark session from configuration: Delta enabled, UTC session time zone. */
public final class LakehouseSpark {

  private static final Logger LOG = LoggerFactory.getLogger(LakehouseSpark.class);

  private LakehouseSpark() {}

  public static SparkSession getOrCreate(LakehouseConfig config) {
    SparkSession.Builder builder = SparkSession.builder().appName(config.sparkAppName());
    String master = config.sparkMaster();
    // spark-submit passes its --master to the application as the system property spark.master.
    // It decides: the configured master (local[2] in conf/local.conf) would otherwise turn a
    // cluster submission into a local run inside the driver, silently.
    String submitted = System.getProperty("spark.master");
    if (submitted != null && !submitted.isBlank()) {
      if (!master.isBlank() && !master.equals(submitted)) {
        LOG.info("Spark master {} from spark-submit; lakehouse.spark.master ({}) does not apply", submitted, master);
      }
    } else if (!master.isBlank()) {
      builder.master(master);
    }
    config.sparkConf().forEach(builder::config);
    SparkSession spark = builder.getOrCreate();
    // An existing session (spark-submit, Zeppelin) may have been built without our settings.
    spark.conf().set("spark.sql.session.timeZone", "UTC");
    return spark;
  }
}
