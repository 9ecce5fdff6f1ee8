package dev.lakehouse.gold;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.lakehouse.silver.SilverVersions;
import dev.lakehouse.silver.SilverVersions.Position;
import dev.lakehouse.spec.DimensionSpec;
import dev.lakehouse.spec.Identifiers;
import dev.lakehouse.spec.TableSpec;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * What a Type 2 dimension must apply between two positions of its silver table, in the change
 * feed {@link Scd2Merge} reads: every version the source showed (silver's versions: conformed,
 * without quarantined rows) and every delete silver recorded, each with its change time and when
 * the lakehouse observed it.
 */
final class DimensionChanges {

  private DimensionChanges() {}

  static Dataset<Row> between(SilverVersions silver, TableSpec source, DimensionSpec dimension, Position from,
                              Position to) {
    List<Column> columns = new ArrayList<>();
    dimension.sourceColumns().forEach(c -> columns.add(col(Identifiers.quote(c))));
    columns.add(col(SilverVersions.CHANGE_TIME).as(Scd2Columns.CHANGE_TIME));
    columns.add(col(SilverVersions.OBSERVED_AT).as(Scd2Columns.OBSERVED_AT));

    List<Column> versionColumns = new ArrayList<>(columns);
    versionColumns.add(lit(false).as(Scd2Columns.DELETE_EVENT));
    Dataset<Row> versions = silver.versions(source, from, to).select(versionColumns.toArray(Column[]::new));
    if (!from.before(to)) {
      return versions;
    }
    List<Column> deleteColumns = new ArrayList<>(columns);
    deleteColumns.add(lit(true).as(Scd2Columns.DELETE_EVENT));
    Dataset<Row> deletes = silver.deletes(source.name(), from, to).select(deleteColumns.toArray(Column[]::new));
    if (source.log()) {
      // Every delete the log holds, including those silver never showed (deleted, then back).
      Dataset<Row> logged = silver.logDeletes(source, from, to);
      List<Column> logColumns = new ArrayList<>();
      for (String column : dimension.sourceColumns()) {
        logColumns.add(java.util.Arrays.asList(logged.columns()).contains(column) ? col(Identifiers.quote(column))
            : lit(null).as(column));
      }
      logColumns.add(col(SilverVersions.CHANGE_TIME).as(Scd2Columns.CHANGE_TIME));
      logColumns.add(col(SilverVersions.OBSERVED_AT).as(Scd2Columns.OBSERVED_AT));
      logColumns.add(lit(true).as(Scd2Columns.DELETE_EVENT));
      deletes = deletes.unionByName(logged.select(logColumns.toArray(Column[]::new)), true);
    }
    return versions.unionByName(deletes);
  }
}
