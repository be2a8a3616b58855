package io.raftkv.sim;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A simulated client: one operation at a time, on a small key space so that operations collide. It
 * follows NOT_LEADER hints, and gives up after a deadline, when a write's outcome becomes unknown.
 * Besides puts, deletes and reads of one key it reads a range over every key (a prefix) and does
 * compare-and-swaps: a transaction that puts a new value if the key holds the value this client last saw,
 * and else reads it. Half of those it can (when it saw the value's mod revision too) compare the mod revision instead
 * of the value, as optimistic concurrency control does: the node may hold them behind a transaction in flight on the
 * key, and serve those that failed for good as reads (ClientRequests).
 */
final class SimClient {

    enum Kind { PUT, DELETE, GET, RANGE, CAS }

    /** The prefix every simulated key starts with: a RANGE over it reads them all. */
    static final String KEY_PREFIX = "k";
    /** What a CAS expects when this client has seen no value of the key: never written, so the CAS fails and reads. */
    static final String NEVER_WRITTEN = "none";

    /** The operation in progress. */
    static final class Op {
        final long opId;
        final Kind kind;
        final String key;
        final String value;
        /** CAS only: the value the key must hold for the swap. */
        final String expected;
        /** CAS only: when not 0, the compare is of the key's mod revision with this (which wrote {@code expected}). */
        final long expectedModRevision;
        final long invokedAt;
        final long deadlineMs;
        int attempts;

        Op(long opId, Kind kind, String key, String value, String expected, long expectedModRevision, long invokedAt, long deadlineMs) {
            this.opId = opId;
            this.kind = kind;
            this.key = key;
            this.value = value;
            this.expected = expected;
            this.expectedModRevision = expectedModRevision;
            this.invokedAt = invokedAt;
            this.deadlineMs = deadlineMs;
        }

        boolean isWrite() {
            return kind == Kind.PUT || kind == Kind.DELETE || kind == Kind.CAS;
        }

        /** The request a real client sends for this operation; its id is the operation's. */
        ClientRequest request() {
            byte[] k = key.getBytes(StandardCharsets.UTF_8);
            return switch (kind) {
                case PUT -> new ClientRequest.Put(opId, k, value.getBytes(StandardCharsets.UTF_8));
                case DELETE -> new ClientRequest.Delete(opId, k);
                case GET -> new ClientRequest.Get(opId, k, false);
                case RANGE -> new ClientRequest.Range(opId, RangeRequest.prefix(KEY_PREFIX.getBytes(StandardCharsets.UTF_8)));
                case CAS -> new ClientRequest.Txn(opId, new TxnRequest(
                        List.of(expectedModRevision != 0 ? Compare.modRevision(k, Compare.Result.EQUAL, expectedModRevision)
                                : Compare.value(k, Compare.Result.EQUAL, expected.getBytes(StandardCharsets.UTF_8))),
                        List.of(new TxnOp.Put(k, value.getBytes(StandardCharsets.UTF_8), false)),
                        List.of(new TxnOp.Range(RangeRequest.key(k)))));
            };
        }

        @Override
        public String toString() {
            return "op" + opId + " " + kind + " " + key + (expected != null ? " if " + expected : "")
                    + (expectedModRevision != 0 ? " (mod revision " + expectedModRevision + ")" : "") + (value != null ? "=" + value : "");
        }
    }

    final int id;
    /** The value this client last saw for each key (its own writes and its reads): what its CAS expects. */
    final Map<String, String> lastSeen = new HashMap<>();
    /** The mod revision of the value in {@link #lastSeen}, when the client saw it. */
    final Map<String, Long> lastSeenModRevision = new HashMap<>();
    long seq;
    int leaderHint;
    Op current;

    SimClient(int id) {
        this.id = id;
    }

    /** This client saw {@code value} (null: absent) as {@code key}'s, written at {@code modRevision} (0: not known). */
    void saw(String key, String value, long modRevision) {
        lastSeen.put(key, value);
        if (value != null && modRevision > 0) lastSeenModRevision.put(key, modRevision);
        else lastSeenModRevision.remove(key);
    }

    void forget(String key) {
        lastSeen.remove(key);
        lastSeenModRevision.remove(key);
    }

    long nextOpId() {
        return id * 1_000_000_000L + ++seq;
    }
}
