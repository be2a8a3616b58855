package io.raftkv.raft;

/**
 * The APPEND messages sent to one follower and not yet acknowledged, as the last index each carried: a
 * ring of fixed capacity, so a leader never has more than {@code capacity} messages in flight per follower.
 * Messages go out in log order, so the last indexes held increase from the oldest to the newest.
 */
final class Inflights {

    private final long[] lastIndexes;
    private int start;
    private int count;

    Inflights(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("inflight capacity must be at least 1");
        this.lastIndexes = new long[capacity];
    }

    boolean full() {
        return count == lastIndexes.length;
    }

    boolean isEmpty() {
        return count == 0;
    }

    int count() {
        return count;
    }

    int capacity() {
        return lastIndexes.length;
    }

    /** The last index of the oldest message in flight; only when not empty. */
    long oldest() {
        if (count == 0) throw new IllegalStateException("no message in flight");
        return lastIndexes[start];
    }

    /** The last index of the newest message in flight; only when not empty. */
    long newest() {
        if (count == 0) throw new IllegalStateException("no message in flight");
        return lastIndexes[(start + count - 1) % lastIndexes.length];
    }

    void add(long lastIndex) {
        if (full()) throw new IllegalStateException("inflight window full (" + count + " messages)");
        if (count > 0 && lastIndex <= newest()) {
            throw new IllegalStateException("inflight message ending at " + lastIndex + " sent after one ending at " + newest());
        }
        lastIndexes[(start + count) % lastIndexes.length] = lastIndex;
        count++;
    }

    /** Frees every message whose last index is at or below {@code index}: the follower acknowledged them. */
    void freeUpTo(long index) {
        while (count > 0 && lastIndexes[start] <= index) {
            start = (start + 1) % lastIndexes.length;
            count--;
        }
    }

    /** Frees the oldest message, taken as lost. */
    void freeOldest() {
        if (count == 0) throw new IllegalStateException("no message in flight to free");
        start = (start + 1) % lastIndexes.length;
        count--;
    }

    void reset() {
        start = 0;
        count = 0;
    }
}
