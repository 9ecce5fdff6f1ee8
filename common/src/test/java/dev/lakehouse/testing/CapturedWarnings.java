package dev.lakehouse.testing;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

/** Warnings of the lakehouse's loggers while open. */
public final class CapturedWarnings extends AbstractAppender implements AutoCloseable {
  public final List<String> lines = new CopyOnWriteArrayList<>();
  private final LoggerConfig logger;

  public CapturedWarnings() {
    super("captured-" + UUID.randomUUID(), null, null, true, Property.EMPTY_ARRAY);
    start();
    LoggerContext context = (LoggerContext) LogManager.getContext(false);
    logger = context.getConfiguration().getLoggerConfig("dev.lakehouse");
    logger.addAppender(this, Level.WARN, null);
    context.updateLoggers();
  }

  @Override
  public void append(LogEvent event) {
    lines.add(event.getMessage().getFormattedMessage());
  }

  @Override
  public void close() {
    logger.removeAppender(getName());
    ((LoggerContext) LogManager.getContext(false)).updateLoggers();
    stop();
  }
}
