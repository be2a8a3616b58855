package io.raftkv.wal;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The WAL holds damage that a crash during a write cannot explain, so replaying past it could resurrect
 * or lose acknowledged data. The node must not start on it: an operator restores the replica (or wipes it
 * and lets it catch up from the leader).
 */
public final class WalCorruptionException extends IOException {

    private final Path file;
    private final long offset;

    public WalCorruptionException(Path file, long offset, String detail) {
        super("WAL corrupt: " + file + " at offset " + offset + ": " + detail);
        this.file = file;
        this.offset = offset;
    }

    /** The damaged segment; for a missing segment, the file that should have been there. */
    public Path file() {
        return file;
    }

    /** Byte offset in {@link #file()} where the damaged record (or header) starts. */
    public long offset() {
        return offset;
    }
}
