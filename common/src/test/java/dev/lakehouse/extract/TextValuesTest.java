package dev.lakehouse.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.temporal.ChronoUnit;
import org.apache.spark.sql.catalyst.CatalystTypeConverters;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;

/**
 * Values from the log's text, as Spark stores them. Money: the value is its digits, whichever
 * locale wrote the text. The replication session asks for the C locale; the other forms are what
 * a server's own lc_monetary writes (this machine has no other locale to start PostgreSQL in), and
 * read the same. Dates and times: the numbers the COPY path stores, over PostgreSQL's whole range.
 */
class TextValuesTest {

  private static Object money(String text, int scale) {
    return TextValues.parse(text, DataTypes.createDecimalType(19, 2), "money", scale);
  }

  @Test
  void moneyIsItsDigitsInEveryLocalesForm() {
    BigDecimal expected = new BigDecimal("1234567.89");
    for (String text : new String[] {"$1,234,567.89", "1.234.567,89 €", "1 234 567,89 €", "€ 1.234.567,89",
        "CHF 1'234'567.89"}) {
      assertEquals(expected, money(text, 2), text);
    }
    for (String text : new String[] {"-$1,234,567.89", "-1.234.567,89 €", "($1,234,567.89)"}) {
      assertEquals(expected.negate(), money(text, 2), text);
    }
    assertEquals(new BigDecimal("0.05"), money("$0.05", 2));
    assertEquals(new BigDecimal("92233720368547758.07"), money("$92,233,720,368,547,758.07", 2));
  }

  @Test
  void aLocaleWithoutFractionDigitsKeepsWholeUnits() {
    // Yen: money::numeric (the COPY path) gives 1234568 under a locale with no fraction digits.
    assertEquals(new BigDecimal("1234568.00"), money("￥1,234,568", 0));
  }

  @Test
  void moneyArraysAndNonsense() {
    assertEquals(java.util.Arrays.asList(new BigDecimal("-1.00"), null, new BigDecimal("1000.00")),
        TextValues.parse("{-$1.00,NULL,\"$1,000.00\"}", DataTypes.createArrayType(DataTypes.createDecimalType(19, 2)),
            "_money", 2));
    assertThrows(IllegalArgumentException.class, () -> money("$", 2));
  }

  /** What Spark stores for the value read from {@code text}: as a row of the log's batch holds it. */
  private static Object stored(String text, DataType type, String pgType) {
    return CatalystTypeConverters.createToCatalystConverter(type).apply(TextValues.parse(text, type, pgType, 2));
  }

  private static long micros(LocalDateTime utc) {
    return ChronoUnit.MICROS.between(LocalDateTime.of(1970, 1, 1, 0, 0), utc);
  }

  @Test
  void datesAndTimesLandAsTheCopyPathLandsThemOverPostgresWholeRange() {
    // The COPY path lands PostgreSQL's day or microsecond count on Spark's proleptic Gregorian
    // calendar: years before 1582 exact, BC years, and years past 9999, which the text writes
    // with five or more digits. The log's text must give the same numbers.
    String[][] dates = {{"0001-01-01", "1-01-01"}, {"1582-10-04", "1582-10-04"}, {"1969-12-31", "1969-12-31"},
        {"10000-01-01", "10000-01-01"}, {"5874897-12-31", "5874897-12-31"}, {"4713-01-01 BC", "-4712-01-01"},
        {"0001-12-31 BC", "0-12-31"}};
    for (String[] d : dates) {
      String[] ymd = d[1].split("(?<=\\d)-");
      LocalDate expected = LocalDate.of(Integer.parseInt(ymd[0]), Integer.parseInt(ymd[1]), Integer.parseInt(ymd[2]));
      assertEquals((int) expected.toEpochDay(), stored(d[0], DataTypes.DateType, "date"), d[0]);
    }
    Object[][] times = {
        {"0001-01-01 00:00:00", LocalDateTime.of(1, 1, 1, 0, 0)},
        {"1500-06-01 12:30:00.5", LocalDateTime.of(1500, 6, 1, 12, 30, 0, 500_000_000)},
        {"2026-12-05 13:00:00.000001", LocalDateTime.of(2026, 12, 5, 13, 0, 0, 1_000)},
        {"10000-01-01 00:00:00", LocalDateTime.of(10000, 1, 1, 0, 0)},
        {"294247-01-01 00:00:00", LocalDateTime.of(294247, 1, 1, 0, 0)},
        {"4713-01-01 00:00:00 BC", LocalDateTime.of(-4712, 1, 1, 0, 0)}};
    for (Object[] t : times) {
      String text = (String) t[0];
      LocalDateTime expected = (LocalDateTime) t[1];
      assertEquals(micros(expected), stored(text, DataTypes.TimestampNTZType, "timestamp"), text);
      String zoned = text.endsWith(" BC") ? text.replace(" BC", "+00 BC") : text + "+00";
      assertEquals(micros(expected), stored(zoned, DataTypes.TimestampType, "timestamptz"), zoned);
    }
    assertEquals(micros(LocalDateTime.of(1500, 6, 1, 10, 30)),
        stored("1500-06-01 12:30:00+02", DataTypes.TimestampType, "timestamptz"), "an offset other than UTC");
    assertEquals(micros(LocalDateTime.of(1899, 12, 31, 22, 36, 15)),
        stored("1900-01-01 00:00:00+01:23:45", DataTypes.TimestampType, "timestamptz"), "an offset in seconds");
  }
}
