package dev.lakehouse.source.replication;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One column of a replicated row. With pgoutput's {@code binary} option every type that has a
 * binary send function arrives as {@link Kind#BINARY}: exactly the bytes of that type's binary
 * send format, the same bytes a binary {@code COPY} field carries (without the length prefix).
 * A type without a send function (rare; no built-in type) arrives as {@link Kind#TEXT}, its text
 * output in UTF-8.
 */
public record ColumnValue(Kind kind, byte[] bytes) {

  public enum Kind {
    /** SQL NULL. In an old-key tuple, also every column that is not part of the key. */
    NULL,
    /**
     * A TOASTed value the change did not touch: the server does not resend it. The column keeps
     * the value it had; the change does not say what that is.
     */
    UNCHANGED_TOAST,
    /** The type's binary send format. */
    BINARY,
    /** The type's text output, UTF-8 (only for types without a binary send function). */
    TEXT
  }

  public static final ColumnValue NULL = new ColumnValue(Kind.NULL, null);
  public static final ColumnValue UNCHANGED_TOAST = new ColumnValue(Kind.UNCHANGED_TOAST, null);

  public ColumnValue {
    boolean carriesBytes = kind == Kind.BINARY || kind == Kind.TEXT;
    if (carriesBytes != (bytes != null)) {
      throw new IllegalArgumentException(kind + (carriesBytes ? " needs bytes" : " carries no bytes"));
    }
  }

  public boolean isNull() {
    return kind == Kind.NULL;
  }

  public boolean isUnchangedToast() {
    return kind == Kind.UNCHANGED_TOAST;
  }

  /** The value's bytes; only for {@link Kind#BINARY} and {@link Kind#TEXT}. */
  @Override
  public byte[] bytes() {
    if (bytes == null) {
      throw new IllegalStateException("a " + kind + " value has no bytes");
    }
    return bytes;
  }

  /** Length in bytes, or -1 for NULL and UNCHANGED_TOAST. */
  public int length() {
    return bytes == null ? -1 : bytes.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ColumnValue other && kind == other.kind && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return 31 * kind.hashCode() + Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return switch (kind) {
      case NULL, UNCHANGED_TOAST -> kind.name();
      case TEXT -> "TEXT[" + new String(bytes, StandardCharsets.UTF_8) + "]";
      case BINARY -> "BINARY[" + bytes.length + " bytes]";
    };
  }
}
