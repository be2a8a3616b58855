package io.raftkv.server;

import java.time.Instant;

/** One line per event on standard error: time, node, level, message. Enough for a process a launcher redirects to a file. */
final class Log {

    private final String node;

    Log(int nodeId) {
        this.node = "node" + nodeId;
    }

    void info(String message) {
        System.err.println(Instant.now() + " " + node + " INFO  " + message);
    }

    void warn(String message) {
        System.err.println(Instant.now() + " " + node + " WARN  " + message);
    }

    void error(String message, Throwable t) {
        System.err.println(Instant.now() + " " + node + " ERROR " + message);
        if (t != null) t.printStackTrace();
    }
}
