package io.raftkv.raft.sim;

/**
 * A simulated client: one operation at a time, on a small key space so that operations collide. It
 * follows NOT_LEADER hints, and gives up after a deadline, when a write's outcome becomes unknown.
 */
final class SimClient {

    enum Kind { PUT, DELETE, GET }

    /** The operation in progress. */
    static final class Op {
        final long opId;
        final Kind kind;
        final String key;
        final String value;
        final long invokedAt;
        final long deadlineMs;
        int attempts;

        Op(long opId, Kind kind, String key, String value, long invokedAt, long deadlineMs) {
            this.opId = opId;
            this.kind = kind;
            this.key = key;
            this.value = value;
            this.invokedAt = invokedAt;
            this.deadlineMs = deadlineMs;
        }

        boolean isWrite() {
            return kind != Kind.GET;
        }

        @Override
        public String toString() {
            return "op" + opId + " " + kind + " " + key + (value != null ? "=" + value : "");
        }
    }

    final int id;
    long seq;
    int leaderHint;
    Op current;

    SimClient(int id) {
        this.id = id;
    }

    long nextOpId() {
        return id * 1_000_000_000L + ++seq;
    }
}
