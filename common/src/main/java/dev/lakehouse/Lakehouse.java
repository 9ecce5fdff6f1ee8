package dev.lakehouse;

import dev.lakehouse.source.EmbeddedSource;
import dev.lakehouse.spark.LakehouseSpark;
import dev.lakehouse.spec.LakehousePaths;
import dev.lakehouse.spec.LakehouseSpec;
import dev.lakehouse.spec.SourceSettings;
import java.nio.file.Paths;
import org.apache.spark.sql.SparkSession;

/**
 * What a job runs against: the specification, the Spark session and the source database, each
 * created on first use. With no source URL configured, the embedded PostgreSQL under
 * {@code lakehouse.source.embedded.data-dir} is started (and stopped on close).
 */
public final class Lakehouse implements AutoCloseable {

  private final LakehouseSpec spec;
  private EmbeddedSource embedded;
  private SourceSettings source;
  private SparkSession spark;

  public Lakehouse(LakehouseSpec spec) {
    this.spec = spec;
  }

  /**
   * The same lakehouse through another Spark session of the same application (its own settings
   * and temporary views): for work running at the same time as this one's. Closing it closes nothing.
   */
  public Lakehouse withSession(SparkSession session) {
    Lakehouse view = new Lakehouse(spec);
    view.source = source();
    view.spark = session;
    return view;
  }

  /** The same source and Spark session under another specification (e.g. another root). Closing it closes nothing. */
  public Lakehouse withSpec(LakehouseSpec other) {
    Lakehouse view = new Lakehouse(other);
    view.source = source();
    view.spark = spark();
    return view;
  }

  public LakehouseSpec spec() {
    return spec;
  }

  public LakehousePaths paths() {
    return spec.paths();
  }

  /** The source's connection settings (the embedded server's, once started, when no URL is configured). */
  public synchronized SourceSettings source() {
    if (source == null) {
      SourceSettings configured = spec.source();
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
    return spec.source().embedded();
  }

  public synchronized SparkSession spark() {
    if (spark == null) {
      LakehouseSpark.checkStorageReachable(spec.root(), spec.spark());
      spark = LakehouseSpark.getOrCreate(spec.spark());
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
