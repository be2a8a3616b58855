package io.raftkv.raft;

/**
 * One log entry. An entry with empty {@code data} is the no-op a new leader appends (§8 of the paper:
 * it lets the leader commit entries of earlier terms); the state machine skips it.
 */
public record Entry(long term, long index, byte[] data) {

    /** Bytes an entry is counted as in message and memory limits: its data plus a fixed header. */
    public static final int OVERHEAD_BYTES = 16;

    public Entry {
        if (term < 1 || index < 1) throw new IllegalArgumentException("entry term and index start at 1: " + term + "/" + index);
        if (data == null) throw new IllegalArgumentException("entry data is null");
    }

    public long sizeBytes() {
        return OVERHEAD_BYTES + data.length;
    }

    public boolean isNoop() {
        return data.length == 0;
    }

    @Override
    public String toString() {
        return "Entry{" + index + "@t" + term + ", " + data.length + "B}";
    }
}
