package dev.lakehouse.config;

/** Where each layer's tables live under the lakehouse root. */
public record LakehousePaths(String root) {

  public static final String BRONZE = "bronze";
  public static final String SILVER = "silver";
  public static final String GOLD = "gold";
  public static final String QUARANTINE = "quarantine";
  public static final String CONTROL = "_control";

  public String table(String layer, String name) {
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

  public String control(String table) {
    return table(CONTROL, table);
  }

  public String layer(String layer) {
    return root + "/" + layer;
  }
}
