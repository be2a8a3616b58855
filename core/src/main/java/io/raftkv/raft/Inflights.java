package io.raftkv.raft;

/**
 * The APPEND messages sent to one follower and not yet acknowledged, as the last index each carried and its
 * entries' bytes: a ring of fixed capacity, so a leader never has more than {@code capacity} messages in flight
 * per follower, and the window is full once their bytes reach {@code bytesMax} (etcd's MaxInflightBytes): a
 * message is admitted while the bytes are below it, so they never pass {@code bytesMax} plus one message.
 * Messages go out in log order, so the last indexes held increase from the oldest to the newest.
 */
final class Inflights {

    private final long[] lastIndexes;
    private final long[] bytes;
    private final long bytesMax;
    private int start;
    private int count;
    private long bytesInFlight;

    /** {@code bytesMax} 0: no bound on bytes. */
    Inflights(int capacity, long bytesMax) {
        if (capacity < 1) throw new IllegalArgumentException("inflight capacity must be at least 1");
        if (bytesMax < 0) throw new IllegalArgumentException("inflight bytes bound must not be negative");
        this.lastIndexes = new long[capacity];
        this.bytes = new long[capacity];
        this.bytesMax = bytesMax;
    }

    boolean full() {
        return count == lastIndexes.length || (bytesMax > 0 && bytesInFlight >= bytesMax);
    }

    long bytesInFlight() {
        return bytesInFlight;
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

    void add(long lastIndex, long messageBytes) {
        if (full()) throw new IllegalStateException("inflight window full (" + count + " messages, " + bytesInFlight + " bytes)");
        if (count > 0 && lastIndex <= newest()) {
            throw new IllegalStateException("inflight message ending at " + lastIndex + " sent after one ending at " + newest());
        }
        if (messageBytes < 0) throw new IllegalStateException("inflight message of " + messageBytes + " bytes");
        int slot = (start + count) % lastIndexes.length;
        lastIndexes[slot] = lastIndex;
        bytes[slot] = messageBytes;
        bytesInFlight += messageBytes;
        count++;
    }

    /** Frees every message whose last index is at or below {@code index}: the follower acknowledged them. */
    void freeUpTo(long index) {
        while (count > 0 && lastIndexes[start] <= index) freeOne();
    }

    /** Frees the oldest message, taken as lost. */
    void freeOldest() {
        if (count == 0) throw new IllegalStateException("no message in flight to free");
        freeOne();
    }

    private void freeOne() {
        bytesInFlight -= bytes[start];
        start = (start + 1) % lastIndexes.length;
        count--;
    }

    void reset() {
        start = 0;
        count = 0;
        bytesInFlight = 0;
    }
}
