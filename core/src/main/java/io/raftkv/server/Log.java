package io.raftkv.server;

import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One line per event on standard error: time (UTC), node, level (INFO, WARN, ERROR), message. Enough for a process a
 * launcher or systemd redirects to a file, and easy to grep. An error that carries an exception adds its stack trace
 * below the line: those are bugs, and the trace is what finds them.
 */
final class Log {

    private final String node;

    Log(int nodeId) {
        this.node = "node" + nodeId;
    }

    void info(String message) {
        line("INFO ", message);
    }

    void warn(String message) {
        line("WARN ", message);
    }

    void error(String message, Throwable t) {
        line("ERROR", message);
        if (t != null) t.printStackTrace();
    }

    private void line(String level, String message) {
        System.err.println(Instant.now() + " " + node + " " + level + " " + message);
    }

    /**
     * Sends what the layers below log through {@link System.Logger} (the WAL's torn tails, the snapshot directory, the
     * event loop's unexpected errors; java.util.logging by default) to this log, in its format, instead of
     * java.util.logging's two lines per record. For a node process only: it replaces the root logger's handlers.
     */
    void takeOverSystemLogger() {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) root.removeHandler(h);
        Formatter messages = new Formatter() {
            @Override
            public String format(LogRecord record) {
                return formatMessage(record);
            }
        };
        root.addHandler(new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (!isLoggable(record)) return;
                String message = messages.format(record);
                int level = record.getLevel().intValue();
                if (level >= Level.SEVERE.intValue()) error(message, record.getThrown());
                else if (level >= Level.WARNING.intValue()) warn(message + (record.getThrown() == null ? "" : ": " + record.getThrown()));
                else info(message);
            }

            @Override
            public void flush() {
                System.err.flush();
            }

            @Override
            public void close() {
            }
        });
    }
}
