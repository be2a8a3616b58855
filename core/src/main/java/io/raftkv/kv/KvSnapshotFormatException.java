package io.raftkv.kv;

import java.io.IOException;

/**
 * A state machine snapshot stream that is not one: cut short, damaged, or breaking an invariant of the store. The
 * state machine that was asked to restore it is left as it was.
 */
public final class KvSnapshotFormatException extends IOException {

    private final long offset;

    KvSnapshotFormatException(long offset, String reason) {
        super("key-value snapshot malformed at byte " + offset + ": " + reason);
        this.offset = offset;
    }

    /** Byte offset in the stream where the malformed field starts. */
    public long offset() {
        return offset;
    }
}
