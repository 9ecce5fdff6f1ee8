package dev.lakehouse.spec;

/**
 * Where each layer's tables live under the lakehouse root. A table name must be a safe identifier
 * ({@link Identifiers#NAME}), so no configured name can reach outside its layer's directory.
 */
public record LakehousePaths(String root) {

  public static final String BRONZE = "bronze";
  public static final String SILVER = "silver";
  public static final String GOLD = "gold";
  public static final String QUARANTINE = "quarantine";
  public static final String CONTROL = "_control";

  public String table(String layer, String name) {
    if (!Identifiers.isName(name)) {
      throw new IllegalArgumentException("'" + Identifiers.printable(name) + "' is not a safe table name");
    }
    return root + "/" + layer + "/" + name;
  }

  public String bronze(String table) {
    return table(BRONZE, table);
  }

  public String silver(String table) {
    return table(SILVER, table);
  }

  public String gold(String table) {
    return table(GOLD, table);
  }

  public String quarantine(String table) {
    return table(QUARANTINE, table);
  }

  public String control(String table) {
    return table(CONTROL, table);
  }

  public String layer(String layer) {
    return root + "/" + layer;
  }
}
