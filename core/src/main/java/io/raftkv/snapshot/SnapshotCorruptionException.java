package io.raftkv.snapshot;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A snapshot file that cannot be trusted: missing, torn (a crash before its rename cannot leave one, so a torn file
 * was cut later), damaged, or named for another place in the log. The message names the file, the offset where
 * relevant, and the reason.
 */
public final class SnapshotCorruptionException extends IOException {

    /** {@link #offset()} when the reason is about the whole file. */
    public static final long NO_OFFSET = -1;

    private final Path file;
    private final long offset;
    private final String reason;

    public SnapshotCorruptionException(Path file, long offset, String reason) {
        super("snapshot " + file + (offset == NO_OFFSET ? "" : " at offset " + offset) + ": " + reason);
        this.file = file;
        this.offset = offset;
        this.reason = reason;
    }

    public SnapshotCorruptionException(Path file, String reason) {
        this(file, NO_OFFSET, reason);
    }

    public Path file() {
        return file;
    }

    /** Byte offset of the damaged field, or {@link #NO_OFFSET}. */
    public long offset() {
        return offset;
    }

    /** The reason alone, without the file and offset. */
    public String reason() {
        return reason;
    }
}
