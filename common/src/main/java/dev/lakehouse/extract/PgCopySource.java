package dev.lakehouse.extract;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lakehouse.spec.SourceSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.catalog.TableProvider;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.connector.read.Batch;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * A Spark data source that reads PostgreSQL through binary {@code COPY ... TO STDOUT}: one input
 * partition per SELECT statement, each streamed over its own connection and decoded straight into
 * Spark's internal rows. Use it through {@link CopyExtraction#read}; the options below are its
 * wire contract.
 */
public final class PgCopySource implements TableProvider {

  /** JDBC URL of the source. */
  public static final String URL = "url";
  public static final String USER = "user";
  /** Kept out of every description, name and toString. */
  public static final String PASSWORD = "password";
  /** Connect timeout in whole seconds. */
  public static final String CONNECT_TIMEOUT = "connectTimeout";
  /** The Spark schema as StructType JSON. */
  public static final String SCHEMA = "schema";
  /** Comma-separated {@link WireType} names, one per schema field. */
  public static final String WIRE_TYPES = "wireTypes";
  /**
   * Optional: comma-separated {@link WireType} names of array elements, one per schema field,
   * empty for a field that is not an array.
   */
  public static final String ELEMENT_WIRE_TYPES = "elementWireTypes";
  /** Optional: JSON array of each field's relation ({@code schema.table}), named in value errors. */
  public static final String RELATIONS = "relations";
  /** JSON array of SELECT statements, one input partition each, selecting the schema's columns in order. */
  public static final String PARTITIONS = "partitions";
  /** Optional exported snapshot id ({@code pg_export_snapshot()}) that every partition imports. */
  public static final String SNAPSHOT = "snapshot";

  // pg_export_snapshot() returns ids like 00000003-0000001B-1; anything else would be spliced into SQL.
  private static final Pattern SNAPSHOT_ID = Pattern.compile("[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+");
  private static final ObjectMapper JSON = new ObjectMapper();

  public PgCopySource() {}

  @Override
  public StructType inferSchema(CaseInsensitiveStringMap options) {
    return (StructType) DataType.fromJson(required(options, SCHEMA));
  }

  @Override
  public boolean supportsExternalMetadata() {
    return true;
  }

  @Override
  public Table getTable(StructType schema, Transform[] partitioning, Map<String, String> properties) {
    return new CopyTable(schema);
  }

  static String encodeSelects(List<String> selects) {
    return encode(selects, "the partition selects");
  }

  static String encodeRelations(List<String> relations) {
    return encode(relations, "the relations");
  }

  private static String encode(List<String> strings, String what) {
    try {
      return JSON.writeValueAsString(strings);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("Cannot encode " + what, e);
    }
  }

  private static String required(CaseInsensitiveStringMap options, String key) {
    String value = options.get(key);
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException("The PostgreSQL COPY source needs the option '" + key + "'");
    }
    return value;
  }

  static final class CopyTable implements SupportsRead {
    private final StructType schema;

    CopyTable(StructType schema) {
      this.schema = schema;
    }

    @Override
    public String name() {
      return "postgresql_copy";
    }

    @Override
    @SuppressWarnings("deprecation")
    public StructType schema() {
      return schema;
    }

    @Override
    public Set<TableCapability> capabilities() {
      return Set.of(TableCapability.BATCH_READ);
    }

    @Override
    public ScanBuilder newScanBuilder(CaseInsensitiveStringMap options) {
      return new CopyScan(schema, options);
    }
  }

  /** Builder, scan and batch in one: there is nothing to push down, the SELECTs are given. */
  static final class CopyScan implements ScanBuilder, Scan, Batch {
    private final StructType schema;
    private final String[] selects;
    private final ReaderFactory factory;
    private final String description;

    CopyScan(StructType schema, CaseInsensitiveStringMap options) {
      this.schema = schema;
      WireType[] wireTypes = wireTypes(required(options, WIRE_TYPES), schema.length(), WIRE_TYPES);
      String elementOption = options.get(ELEMENT_WIRE_TYPES);
      WireType[] elementWireTypes = elementOption == null
          ? new WireType[schema.length()]
          : wireTypes(elementOption, schema.length(), ELEMENT_WIRE_TYPES);
      String[] relations;
      try {
        String relationOption = options.get(RELATIONS);
        relations = relationOption == null ? new String[schema.length()] : JSON.readValue(relationOption, String[].class);
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException("Option '" + RELATIONS + "' is not a JSON array of strings", e);
      }
      if (relations.length != schema.length()) {
        throw new IllegalArgumentException("The schema has " + schema.length() + " fields but "
            + relations.length + " relations were given");
      }
      // Checks every field against its wire type before any executor starts.
      new PgBinaryDecoder(schema, wireTypes, elementWireTypes, relations);
      try {
        this.selects = JSON.readValue(required(options, PARTITIONS), String[].class);
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException("Option '" + PARTITIONS + "' is not a JSON array of strings", e);
      }
      if (selects.length == 0) {
        throw new IllegalArgumentException("Option '" + PARTITIONS + "' lists no SELECT statements");
      }
      String snapshot = options.get(SNAPSHOT);
      if (snapshot != null && snapshot.isEmpty()) {
        snapshot = null;
      }
      if (snapshot != null && !SNAPSHOT_ID.matcher(snapshot).matches()) {
        throw new IllegalArgumentException("'" + snapshot + "' is not a PostgreSQL snapshot id");
      }
      int connectTimeout = Integer.parseInt(options.getOrDefault(CONNECT_TIMEOUT, "30"));
      String url = required(options, URL);
      this.factory = new ReaderFactory(url, required(options, USER), options.getOrDefault(PASSWORD, ""),
          connectTimeout, schema, wireTypes, elementWireTypes, relations, snapshot);
      this.description = "PostgreSQL binary COPY from " + factory.settings().safeUrl() + ", "
          + selects.length + " partition(s)" + (snapshot == null ? "" : ", snapshot " + snapshot);
    }

    /** One wire type per field; an empty entry (only for elements) is none. */
    private static WireType[] wireTypes(String option, int fields, String key) {
      String[] names = option.split(",", -1);
      if (names.length != fields) {
        throw new IllegalArgumentException("The schema has " + fields + " fields but option '" + key + "' lists "
            + names.length + " wire types");
      }
      WireType[] types = new WireType[names.length];
      for (int i = 0; i < names.length; i++) {
        String name = names[i].trim();
        types[i] = name.isEmpty() ? null : WireType.valueOf(name);
      }
      return types;
    }

    @Override
    public Scan build() {
      return this;
    }

    @Override
    public StructType readSchema() {
      return schema;
    }

    @Override
    public String description() {
      return description;
    }

    @Override
    public Batch toBatch() {
      return this;
    }

    @Override
    public InputPartition[] planInputPartitions() {
      InputPartition[] partitions = new InputPartition[selects.length];
      for (int i = 0; i < selects.length; i++) {
        partitions[i] = new CopyPartition(i, selects[i]);
      }
      return partitions;
    }

    @Override
    public PartitionReaderFactory createReaderFactory() {
      return factory;
    }
  }

  /** One SELECT; its {@code index} only labels error messages. */
  record CopyPartition(int index, String select) implements InputPartition {}

  /**
   * Shipped to the executors, so it carries the password; a plain class (not a record) so no
   * generated toString can print it.
   */
  static final class ReaderFactory implements PartitionReaderFactory {
    private static final long serialVersionUID = 1L;

    private final String url;
    private final String user;
    private final String password;
    private final int connectTimeoutSeconds;
    final StructType schema;
    final WireType[] wireTypes;
    final WireType[] elementWireTypes;
    final String[] relations;
    final String snapshot;

    ReaderFactory(String url, String user, String password, int connectTimeoutSeconds,
        StructType schema, WireType[] wireTypes, WireType[] elementWireTypes, String[] relations, String snapshot) {
      this.url = url;
      this.user = user;
      this.password = password;
      this.connectTimeoutSeconds = connectTimeoutSeconds;
      this.schema = schema;
      this.wireTypes = wireTypes;
      this.elementWireTypes = elementWireTypes;
      this.relations = relations;
      this.snapshot = snapshot;
    }

    SourceSettings settings() {
      return new SourceSettings("copy", url, user, password, java.util.Optional.empty(), java.time.ZoneOffset.UTC,
          Duration.ofSeconds(connectTimeoutSeconds), "");
    }

    @Override
    public PartitionReader<InternalRow> createReader(InputPartition partition) {
      return new PgCopyReader(this, (CopyPartition) partition);
    }
  }
}
