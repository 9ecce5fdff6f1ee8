package dev.lakehouse.gold;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lakehouse.spec.DimensionSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class Scd2SpecTest {

  @Test
  void aConfiguredDimensionBecomesItsSpec() {
    Scd2Spec spec = Scd2Spec.of(new DimensionSpec("customer", "customers", List.of("customer_id"),
        List.of("name", "city"), List.of("email"), "customer_sk"));

    assertEquals(new Scd2Spec("customer", "customer_sk", List.of("customer_id"), List.of("name", "city"),
        List.of("email")), spec);
    assertEquals(List.of("customer_sk", "customer_id", "name", "city", "email", "valid_from", "valid_to",
        "is_current", "is_deleted", "is_inferred", "row_hash"), spec.dimensionColumns());
  }

  @Test
  void rejectsSpecsTheEngineCannotMaintain() {
    assertThrows(IllegalArgumentException.class, () -> Scd2Spec.of("customer", List.of(), List.of("a"), List.of()));
    assertThrows(IllegalArgumentException.class,
        () -> Scd2Spec.of("customer", List.of("id"), List.of("city"), List.of("City")), "listed twice");
    assertThrows(IllegalArgumentException.class,
        () -> Scd2Spec.of("customer", List.of("id"), List.of("valid_from"), List.of()), "reserved");
    assertThrows(IllegalArgumentException.class,
        () -> Scd2Spec.of("customer", List.of("customer_sk"), List.of("a"), List.of()), "key twice");
  }
}
