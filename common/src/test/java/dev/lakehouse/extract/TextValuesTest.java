package dev.lakehouse.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigDecimal;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;

/**
 * Money from the log's text: the value is its digits, whichever locale wrote the text. The
 * replication session asks for the C locale; the other forms are what a server's own lc_monetary
 * writes (this machine has no other locale to start PostgreSQL in), and read the same.
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
}
