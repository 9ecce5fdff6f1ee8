package dev.lakehouse.catalog;

import dev.lakehouse.spec.LakehousePaths;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.catalog.SessionCatalog;
import org.apache.spark.sql.delta.util.FileNames;

/**
 * Makes the lakehouse's Delta tables addressable by name ({@code bronze.orders},
 * {@code _control.runs}, {@code silver.*}, {@code gold.*}) in a Spark session: one database per
 * layer, one external table per Delta directory. With an in-memory catalog this lasts for the
 * session; with a metastore it persists. Path-based access keeps working either way.
 */
public final class LakehouseCatalog {

  public static final List<String> LAYERS = List.of(
      LakehousePaths.BRONZE, LakehousePaths.SILVER, LakehousePaths.GOLD,
      LakehousePaths.QUARANTINE, LakehousePaths.CONTROL);

  public record TableRef(String layer, String name, String path) {
    public String qualifiedName() {
      return layer + "." + name;
    }
  }

  private LakehouseCatalog() {}

  /** Every Delta table under the root, by layer then name. */
  public static List<TableRef> discover(SparkSession spark, LakehousePaths paths) {
    List<TableRef> tables = new ArrayList<>();
    for (String layer : LAYERS) {
      Path dir = new Path(paths.layer(layer));
      try {
        FileSystem fs = dir.getFileSystem(spark.sessionState().newHadoopConf());
        FileStatus[] children;
        try {
          children = fs.listStatus(dir);
        } catch (FileNotFoundException e) {
          continue;
        }
        java.util.Arrays.sort(children, java.util.Comparator.comparing(s -> s.getPath().getName()));
        for (FileStatus child : children) {
          if (child.isDirectory() && hasCommit(fs, child.getPath())) {
            tables.add(new TableRef(layer, child.getPath().getName(), paths.table(layer, child.getPath().getName())));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot list " + dir, e);
      }
    }
    return tables;
  }

  /**
   * Whether the directory's Delta log holds a commit or a checkpoint. A first write that failed
   * leaves its data files and an empty log directory (Delta creates it before committing): that is
   * no table yet, and naming it would fail every query of the session.
   */
  static boolean hasCommit(FileSystem fs, Path table) throws IOException {
    org.apache.hadoop.fs.RemoteIterator<FileStatus> log;
    try {
      log = fs.listStatusIterator(new Path(table, "_delta_log"));
    } catch (FileNotFoundException e) {
      return false;
    }
    while (log.hasNext()) {
      Path file = log.next().getPath();
      if (FileNames.isDeltaFile(file) || FileNames.isCheckpointFile(file)) {
        return true;
      }
    }
    return false;
  }

  /** Registers every table found; returns them. */
  public static List<TableRef> registerAll(SparkSession spark, LakehousePaths paths) {
    List<TableRef> tables = discover(spark, paths);
    for (TableRef table : tables) {
      register(spark, table);
    }
    return tables;
  }

  public static void register(SparkSession spark, TableRef table) {
    spark.sql("CREATE DATABASE IF NOT EXISTS `" + table.layer() + "`");
    String name = "`" + table.layer() + "`.`" + table.name() + "`";
    String location = table.path().replace("'", "\\'");
    // The session catalog's own record, not the table: resolving a Delta table whose location
    // is gone (a deleted or moved lakehouse) fails, and this is where such a name is re-pointed.
    // The tables are external, so dropping a name leaves its files alone.
    SessionCatalog catalog = spark.sessionState().catalog();
    TableIdentifier id = new TableIdentifier(table.name(), scala.Option.apply(table.layer()));
    if (catalog.tableExists(id)) {
      String current;
      try {
        current = catalog.getTableMetadata(id).location().toString();
      } catch (org.apache.spark.sql.AnalysisException e) {
        throw new IllegalStateException("Cannot read the catalog entry of " + name, e);
      }
      if (sameLocation(current, table.path())) {
        return;
      }
      catalog.dropTable(id, true, false);
    }
    spark.sql("CREATE TABLE " + name + " USING delta LOCATION '" + location + "'");
  }

  private static boolean sameLocation(String a, String b) {
    return strip(a).equals(strip(b));
  }

  private static String strip(String location) {
    return location.replaceFirst("^file:", "").replaceAll("^/+", "/").replaceAll("/+$", "");
  }
}
