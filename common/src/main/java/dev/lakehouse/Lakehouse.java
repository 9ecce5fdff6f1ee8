package dev.lakehouse;

import dev.lakehouse.config.LakehouseConfig;
import dev.lakehouse.config.LakehousePaths;
import dev.lakehouse.config.SourceSettings;
import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.spark.LakehouseSpark;
import java.nio.file.Paths;
import org.apache.spark.sql.SparkSession;

/**
 * What a job runs against: the configuration, the Spark session and the source database, each
 * created on first use. With no source URL configured, the embedded PostgreSQL under
 * {@code lakehouse.source.embedded.data-dir} is started (and stopped on close).
 */
public final class Lakehouse implements AutoCloseable {

  private final LakehouseConfig config;
  private EmbeddedSource embedded;
  private SourceSettings source;
  private SparkSession spark;

  public Lakehouse(LakehouseConfig config) {
    this.config = config;
  }

  public LakehouseConfig config() {
    return config;
  }

  public LakehousePaths paths() {
    return config.paths();
  }

  public synchronized SourceSettings source() {
    if (source == null) {
      SourceSettings configured = config.source();
      if (configured.embedded()) {
        embedded = EmbeddedSource.start(Paths.get(configured.embeddedDataDir()).toAbsolutePath());
        source = embedded.settings(configured);
      } else {
        source = configured;
      }
    }
    return source;
  }

  public boolean sourceIsEmbedded() {
    return config.source().embedded();
  }

  public synchronized SparkSession spark() {
    if (spark == null) {
      spark = LakehouseSpark.getOrCreate(config);
    }
    return spark;
  }

  @Override
  public synchronized void close() {
    if (embedded != null) {
      embedded.close();
      embedded = null;
      source = null;
    }
  }
}
