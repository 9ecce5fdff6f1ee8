package dev.lakehouse.acme;

import dev.lakehouse.source.SourceDatabase;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * SQL text shared by the seeder and the simulator: {@code {name}} placeholders for the schema's
 * tables and the word lists, and the session functions that make server-side pseudo-randomness
 * deterministic.
 */
final class AcmeSql {

  static final List<String> FIRST_NAMES = List.of(
      "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Mateo", "Sofia", "Elias",
      "Amelia", "Hugo", "Isla", "Leo", "Chloe", "Oscar", "Nora", "Felix", "Zoe", "Arjun",
      "Priya", "Kenji", "Yuki", "Fatima", "Omar", "Ines", "Tomas", "Marta", "Lena", "Jonas",
      "Clara", "Pablo", "Aisha", "Daniel", "Grace", "Ivan", "Julia", "Karim", "Laura", "Marco");

  static final List<String> LAST_NAMES = List.of(
      "Smith", "Garcia", "Nguyen", "Kowalski", "Rossi", "Dubois", "Silva", "Tanaka", "Kim", "Patel",
      "Jensen", "Novak", "Berg", "Costa", "Fischer", "Haddad", "Ivanova", "Jones", "Larsen", "Moreau",
      "Okafor", "Petrov", "Quinn", "Romero", "Schmidt", "Takahashi", "Walsh", "Young", "Zhang", "Brown",
      "Lopez", "Meyer", "Andersson", "Bianchi", "Murphy", "Santos", "Weber", "Horvat", "Eriksen", "Duarte");

  /** Reserved example domains (RFC 2606 style), so no generated address can belong to anyone. */
  static final List<String> DOMAINS = List.of(
      "example.com", "example.net", "example.org", "mail.example", "post.example");

  /** Mistyped domains the customers sometimes enter; the simulator fixes them to {@link #TYPO_FIXES}. */
  static final List<String> TYPO_DOMAINS = List.of("exmaple.com", "example.con", "exampel.net", "mial.example");
  static final List<String> TYPO_FIXES = List.of("example.com", "example.com", "example.net", "mail.example");

  static final List<String> CITIES = List.of(
      "Lisbon", "Porto", "Madrid", "Barcelona", "Valencia", "Paris", "Lyon", "Marseille", "Berlin", "Hamburg",
      "Munich", "Amsterdam", "Rotterdam", "Brussels", "Antwerp", "Milan", "Rome", "Turin", "Vienna", "Zurich",
      "Copenhagen", "Stockholm", "Oslo", "Warsaw", "Krakow", "Prague", "Dublin", "Helsinki");
  static final List<String> COUNTRIES = List.of(
      "Portugal", "Portugal", "Spain", "Spain", "Spain", "France", "France", "France", "Germany", "Germany",
      "Germany", "Netherlands", "Netherlands", "Belgium", "Belgium", "Italy", "Italy", "Italy", "Austria",
      "Switzerland", "Denmark", "Sweden", "Norway", "Poland", "Poland", "Czechia", "Ireland", "Finland");

  static final List<String> ADJECTIVES = List.of(
      "Classic", "Compact", "Deluxe", "Eco", "Essential", "Pro", "Premium", "Smart", "Travel", "Ultra",
      "Heavy-Duty", "Lightweight");

  /** Product nouns and, at the same position, the category they belong to. */
  static final List<String> PRODUCT_NOUNS = List.of(
      "Kettle", "Toaster", "Blender", "Chef Knife", "Frying Pan",
      "Garden Hose", "Pruning Shears", "Planter", "Watering Can",
      "Desk Lamp", "Notebook", "Stapler", "Monitor Stand",
      "Headphones", "Power Bank", "USB-C Cable", "Keyboard", "Webcam",
      "Tent", "Sleeping Bag", "Backpack", "Water Bottle",
      "Throw Blanket", "Towel Set", "Candle", "Wall Clock");
  static final List<String> PRODUCT_CATEGORIES = List.of(
      "Kitchen", "Kitchen", "Kitchen", "Kitchen", "Kitchen",
      "Garden", "Garden", "Garden", "Garden",
      "Office", "Office", "Office", "Office",
      "Electronics", "Electronics", "Electronics", "Electronics", "Electronics",
      "Outdoor", "Outdoor", "Outdoor", "Outdoor",
      "Home", "Home", "Home", "Home");
  static final List<String> CATEGORIES = List.of("Kitchen", "Garden", "Office", "Electronics", "Outdoor", "Home");

  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([a-z_]+)}");

  private final Map<String, String> values = new HashMap<>();

  AcmeSql(String schema, long seed) {
    for (String table : AcmeSchema.TABLES) {
      values.put(table, SourceDatabase.qualified(schema, table));
    }
    values.put("customers_seq", sequence(schema, "customers", "customer_id"));
    values.put("products_seq", sequence(schema, "products", "product_id"));
    values.put("orders_seq", sequence(schema, "orders", "order_id"));
    values.put("order_items_seq", sequence(schema, "order_items", "order_item_id"));
    values.put("seed", Long.toString(seed));
    values.put("base", "TIMESTAMPTZ '" + AcmeSeeder.BASE_INSTANT + "'");
    words("first_names", FIRST_NAMES);
    words("last_names", LAST_NAMES);
    words("domains", DOMAINS);
    words("typo_domains", TYPO_DOMAINS);
    words("typo_fixes", TYPO_FIXES);
    words("cities", CITIES);
    words("countries", COUNTRIES);
    words("adjectives", ADJECTIVES);
    words("nouns", PRODUCT_NOUNS);
    words("noun_categories", PRODUCT_CATEGORIES);
    words("categories", CATEGORIES);
  }

  /**
   * Session-local helpers, created in {@code pg_temp} so the source schema gets nothing extra.
   * {@code acme_rank(n, seed, purpose)} is a pseudo-random bigint for key {@code n};
   * {@code acme_draw(n, seed, purpose, bound)} maps it into [0, bound). The purpose number gives
   * every decision its own independent stream. PostgreSQL's integer hash is computed from the value,
   * not its bytes, and is kept stable across versions because hash partitioning depends on it.
   * Both are simple SQL expressions, so the planner inlines them.
   */
  static void installFunctions(Statement statement) throws SQLException {
    statement.execute("""
        CREATE OR REPLACE FUNCTION pg_temp.acme_rank(n bigint, seed bigint, purpose integer)
        RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT hashint8extended(n, hashint8extended(purpose, seed)) $$""");
    statement.execute("""
        CREATE OR REPLACE FUNCTION pg_temp.acme_draw(n bigint, seed bigint, purpose integer, bound bigint)
        RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT (hashint8extended(n, hashint8extended(purpose, seed)) & 9223372036854775807) % bound $$""");
  }

  /** The template with every {@code {name}} replaced; {@code extra} holds name, value pairs. */
  String render(String template, Object... extra) {
    Map<String, String> all = new HashMap<>(values);
    for (int i = 0; i < extra.length; i += 2) {
      all.put((String) extra[i], String.valueOf(extra[i + 1]));
    }
    Matcher m = PLACEHOLDER.matcher(template);
    StringBuilder sql = new StringBuilder();
    while (m.find()) {
      String value = all.get(m.group(1));
      if (value == null) {
        throw new IllegalArgumentException("No value for {" + m.group(1) + "} in " + template);
      }
      m.appendReplacement(sql, Matcher.quoteReplacement(value));
    }
    m.appendTail(sql);
    return sql.toString();
  }

  private void words(String name, List<String> words) {
    values.put(name, words.stream().map(AcmeSql::literal)
        .collect(Collectors.joining(", ", "(ARRAY[", "]::text[])")));
    values.put(name + "_count", Integer.toString(words.size()));
  }

  /** The identity sequence behind a key column, as a regclass expression for nextval/setval. */
  private static String sequence(String schema, String table, String column) {
    return "pg_get_serial_sequence(" + literal(SourceDatabase.qualified(schema, table)) + ", "
        + literal(column) + ")::regclass";
  }

  static String literal(String text) {
    return "'" + text.replace("'", "''") + "'";
  }
}
