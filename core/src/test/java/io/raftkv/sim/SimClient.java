package io.raftkv.sim;

import io.raftkv.protocol.ClientRequest;

import java.nio.charset.StandardCharsets;

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

        /** The request a real client sends for this operation; its id is the operation's. */
        ClientRequest request() {
            byte[] k = key.getBytes(StandardCharsets.UTF_8);
            return switch (kind) {
                case PUT -> new ClientRequest.Put(opId, k, value.getBytes(StandardCharsets.UTF_8));
                case DELETE -> new ClientRequest.Delete(opId, k);
                case GET -> new ClientRequest.Get(opId, k, false);
            };
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
