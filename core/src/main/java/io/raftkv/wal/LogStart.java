package io.raftkv.wal;

/**
 * Where the log starts: it holds nothing at or below {@code index}, whose entry had {@code term} and is now
 * inside a snapshot; the next entry is {@code index + 1}.
 *
 * <p>{@link #INITIAL} (0, 0) is a log from index 1. A term of 0 with an index above 0 means the term is
 * unknown: replay inferred the start from the first entry it found after older segments were released, and
 * only the caller, which holds the snapshot, knows the boundary's term.
 */
public record LogStart(long index, long term) {

    public static final LogStart INITIAL = new LogStart(0, 0);

    public LogStart {
        if (index < 0 || term < 0) throw new IllegalArgumentException("negative log start index " + index + " or term " + term);
    }
}
