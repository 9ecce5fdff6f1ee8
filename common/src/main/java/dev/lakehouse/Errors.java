package dev.lakehouse;

import dev.lakehouse.spec.SpecException;
import java.io.FileNotFoundException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.UnsupportedFileSystemException;
import org.apache.spark.sql.AnalysisException;

/**
 * The one place where a failure becomes a line for a person: our own messages as they are, and
 * Spark's, Delta's and the driver's unwrapped to what went wrong and what to do. The detail (the
 * stack trace) goes to the debug log only.
 */
public final class Errors {

  private static final Pattern SQL_STATE = Pattern.compile("\\s*SQLSTATE: \\w+\\.?");
  private static final Pattern QUERY_CONTEXT =
      Pattern.compile("\\R?== SQL(?: of [^(]*)? \\(line (\\d+), position (\\d+)\\) ==");
  private static final Pattern ERROR_CLASS = Pattern.compile("^\\[[A-Z_.]+\\]\\s*");
  private static final Pattern MISSING_FILE = Pattern.compile("(?:File|file|path)\\s+(\\S+?\\.parquet)\\S*\\s+does not exist");
  private static final Pattern S3A_BUCKET = Pattern.compile("s3a://([^/\\s]+)");
  private static final Pattern SCHEME = Pattern.compile("scheme \"([^\"]+)\"");
  private static final Pattern DELTA_TABLE = Pattern.compile("((?:[a-z0-9]+:)?/\\S*?)/(?:_delta_log|part-|[^/\\s]+\\.parquet)");

  private Errors() {}

  /** One line saying what failed and, where we know it, what to do. */
  public static String describe(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof LakehouseException) {
        return oneLine(t.getMessage());
      }
    }
    String all = chain(error);
    Matcher missing = MISSING_FILE.matcher(all);
    if (missing.find() || hasCause(error, FileNotFoundException.class) && all.contains(".parquet")) {
      if (!missing.find(0)) {
        return "a Delta table is damaged: a data file is missing. DESCRIBE HISTORY lists its versions; restore one"
            + " from before the loss (RESTORE TABLE delta.`<path>` TO VERSION AS OF <n>), or rebuild it from the layer below";
      }
      String file = local(missing.group(1));
      String table = file.substring(0, file.lastIndexOf('/')).replaceAll("(/[^/=]+=[^/]*)+$", "");
      return "the Delta table at " + table + " is damaged: its data file " + file.substring(table.length() + 1)
          + " is missing. Restore a version from before the loss (DESCRIBE HISTORY delta.`" + table + "` lists them;"
          + " RESTORE TABLE delta.`" + table + "` TO VERSION AS OF <n>), or rebuild the table from the layer below";
    }
    if (all.contains("_delta_log") && (all.contains("JsonParseException") || all.contains("Unexpected end-of-input")
        || all.contains("MismatchedInputException") || all.contains("DELTA_LOG_FILE_NOT_FOUND")
        || all.contains("Could not parse") || all.contains("EOFException") || all.contains("ChecksumException"))) {
      Matcher table = DELTA_TABLE.matcher(all);
      String where = table.find() ? local(table.group(1)) : "a table";
      return "the transaction log of " + where + " is damaged (a _delta_log entry cannot be read); move the"
          + " damaged entry aside to return to the previous version, or restore the table from a copy";
    }
    Throwable root = error;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (all.contains("Unable to load credentials") || all.contains("NoAuthWithAWSException")) {
      return inContext(error, root, "S3 found no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and"
          + " AWS_SESSION_TOKEN with temporary ones) in the environment");
    }
    if (all.contains("Status Code: 403")) {
      // The SDK's own message is often just "null" and the status.
      return inContext(error, root, "S3 refused the request (403 Forbidden); check that AWS_ACCESS_KEY_ID and"
          + " AWS_SECRET_ACCESS_KEY are right and may read and write the lakehouse's bucket");
    }
    if (root instanceof UnsupportedFileSystemException) {
      Matcher scheme = SCHEME.matcher(all);
      String name = scheme.find() ? scheme.group(1) : "?";
      // Hadoop's S3 connector is S3A; "s3://" and "s3n://" name connectors it no longer has.
      return inContext(error, root, "lakehouse.root: Hadoop has no file system for " + name + "://"
          + (name.matches("s3n?") ? "; S3 is s3a://bucket/path here (Hadoop's S3A)" : "; use a local path, file:// or s3a://"));
    }
    if (all.contains("UnknownStoreException") || all.contains("NoSuchBucket")
        || all.contains("The specified bucket does not exist")) {
      Matcher bucket = S3A_BUCKET.matcher(all);
      return inContext(error, root, "the bucket " + (bucket.find() ? bucket.group(1) + " " : "") + "does not exist at"
          + " the S3 endpoint; create it, or correct lakehouse.root (or lakehouse.s3.endpoint)");
    }
    if (all.contains("Status Code: 404") && all.contains("Request ID: null")) {
      // Every S3 API server names its request; a 404 without that is a web server of another kind.
      return inContext(error, root, "the S3 endpoint answered 404 Not Found without an S3 request id, so it is not"
          + " an S3 API server; check lakehouse.s3.endpoint (host and port)");
    }
    if (root instanceof FileSystemException files) {
      return inContext(error, root, fileProblem(files));
    }
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof AnalysisException analysis) {
        // A query's mistake, said as Spark says it, with its line and position but without the
        // plan Spark appends (hundreds of characters of internal column ids).
        return inContext(error, t, oneLine(analysis.getSimpleMessage()));
      }
    }
    String failedQuery = queryFailure(error);
    if (failedQuery != null) {
      return inContext(error, root, failedQuery);
    }
    String message = clean(root.getMessage() != null ? root.getMessage() : error.getMessage());
    if (root instanceof IllegalArgumentException || root instanceof SpecException) {
      return message;
    }
    return root.getClass().getSimpleName() + ": " + message;
  }

  /**
   * A query that failed while it ran (a division by zero, a cast of a malformed value), said as
   * an analysis error is: Spark's condition, words and SQLSTATE, then the line and position of
   * the expression instead of the excerpt Spark draws under it. Null when no Spark error in the
   * chain has a condition and a query position (the deepest is the cause; the outer ones wrap it).
   */
  private static String queryFailure(Throwable error) {
    String message = null;
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof org.apache.spark.SparkThrowable spark && spark.getCondition() != null
          && !spark.getCondition().startsWith("INTERNAL_ERROR") && t.getMessage() != null) {
        message = t.getMessage();
      }
    }
    if (message == null) {
      return null;
    }
    Matcher context = QUERY_CONTEXT.matcher(message);
    if (!context.find()) {
      return null; // not a query's expression: said as other errors are, below
    }
    // Spark counts the excerpt's position from 1, an analysis error's from 0: said as the latter.
    return oneLine(message.substring(0, context.start())) + "; line " + context.group(1) + " pos "
        + (Integer.parseInt(context.group(2)) - 1);
  }

  /**
   * What is wrong with a file, in words: Java names the problem by the exception's class (its
   * message is only the path), which means nothing to the person who chose the path.
   */
  private static String fileProblem(FileSystemException error) {
    String file = error.getFile() == null ? "a file" : local(error.getFile());
    if (error instanceof NoSuchFileException) {
      return file + ": no such file or directory";
    }
    if (error instanceof AccessDeniedException) {
      return file + ": permission denied";
    }
    if (error instanceof NotDirectoryException || error instanceof FileAlreadyExistsException
        || "Not a directory".equals(error.getReason())) {
      // The path itself, or the nearest of its parents, that is there but is not a directory.
      for (Path p = error.getFile() == null ? null : Path.of(error.getFile()); p != null; p = p.getParent()) {
        if (Files.exists(p) && !Files.isDirectory(p)) {
          return p + " is a file where a directory is needed";
        }
      }
    }
    if (error instanceof FileAlreadyExistsException) {
      return file + " exists already";
    }
    return file + ": " + (error.getReason() != null ? error.getReason() : "cannot be used");
  }

  /**
   * {@code problem}, after the message of the outermost exception our own code threw around
   * {@code root}, if any: that one says what was being done.
   */
  private static String inContext(Throwable error, Throwable root, String problem) {
    for (Throwable t = error; t != null && t != root; t = t.getCause()) {
      StackTraceElement[] frames = t.getStackTrace();
      if (t.getMessage() != null && frames.length > 0 && frames[0].getClassName().startsWith("dev.lakehouse.")) {
        return oneLine(t.getMessage()) + ": " + problem;
      }
    }
    return problem;
  }

  /** A local file's path without Hadoop's {@code file:} scheme, which only gets in a person's way. */
  private static String local(String path) {
    return path.startsWith("file:/") ? path.substring("file:".length()).replaceFirst("^//+", "/") : path;
  }

  /** The message of a Spark error without its error class and SQLSTATE, on one line. */
  public static String clean(String message) {
    if (message == null) {
      return "(no message)";
    }
    String line = oneLine(message);
    line = SQL_STATE.matcher(line).replaceAll("");
    line = ERROR_CLASS.matcher(line).replaceFirst("");
    return line.length() > 400 ? line.substring(0, 400) + "..." : line;
  }

  public static String oneLine(String message) {
    if (message == null) {
      return "(no message)";
    }
    return message.replaceAll("\\s*\\R\\s*", " ").trim();
  }

  private static boolean hasCause(Throwable error, Class<? extends Throwable> type) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String chain(Throwable error) {
    StringBuilder all = new StringBuilder();
    for (Throwable t = error; t != null; t = t.getCause()) {
      all.append(t.getClass().getName()).append(": ").append(t.getMessage()).append('\n');
      if (all.length() > 20_000) {
        break;
      }
    }
    return all.toString();
  }
}
