package io.raftkv.raft;

/**
 * The APPEND messages sent to one follower and not yet acknowledged, as the last index each carried: a
 * ring of fixed capacity, so a leader never has more than {@code capacity} messages in flight per follower.
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

    int count() {
        return count;
    }

    void add(long lastIndex) {
        if (full()) throw new IllegalStateException("inflight window full");
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

    void freeFirst() {
        if (count == 0) return;
        start = (start + 1) % lastIndexes.length;
        count--;
    }

    void reset() {
        start = 0;
        count = 0;
    }
}
