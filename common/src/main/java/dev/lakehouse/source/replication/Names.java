package dev.lakehouse.source.replication;

import java.util.regex.Pattern;

/**
 * Slot and publication names are passed unquoted in replication commands and options, so only
 * plain lower-case identifiers are accepted (slot names may only hold these characters anyway).
 */
final class Names {

  private static final Pattern PLAIN = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private Names() {}

  static String slot(String name) {
    return check(name, "replication slot");
  }

  static String publication(String name) {
    return check(name, "publication");
  }

  private static String check(String name, String what) {
    if (name == null || !PLAIN.matcher(name).matches()) {
      throw new IllegalArgumentException("Invalid " + what + " name '" + name
          + "': use lower-case letters, digits and underscores (at most 63, not starting with a digit)");
    }
    return name;
  }
}
