package io.raftkv.snapshot;

/**
 * The byte layout of a snapshot file, as constants; docs/snapshots.md has it byte by byte. Integers are big-endian.
 *
 * <pre>
 * header   [magic "RKVSNP" 6][format version u16][index u64][term u64][voter count u32][voter id u32]*
 * payload  any length (the state machine's own format)
 * trailer  [payload length u64][CRC32C u32 of every byte before it][end magic "RKVEND" 6]
 * </pre>
 *
 * The trailer comes last so that a file cut anywhere lacks it, and the payload length in it places the payload
 * without trusting the header alone.
 */
final class SnapshotFormat {

    static final byte[] MAGIC = {'R', 'K', 'V', 'S', 'N', 'P'};
    static final byte[] END_MAGIC = {'R', 'K', 'V', 'E', 'N', 'D'};
    static final int FORMAT_VERSION = 1;

    static final int VERSION_OFFSET = MAGIC.length;
    static final int INDEX_OFFSET = VERSION_OFFSET + 2;
    static final int TERM_OFFSET = INDEX_OFFSET + 8;
    static final int VOTER_COUNT_OFFSET = TERM_OFFSET + 8;
    /** The header without its voter ids. */
    static final int HEADER_FIXED_BYTES = VOTER_COUNT_OFFSET + 4;
    static final int VOTER_ID_BYTES = 4;

    /** Trailer fields, as offsets back from the end of the file. */
    static final int TRAILER_BYTES = 8 + 4 + END_MAGIC.length;
    static final int CRC_FROM_END = 4 + END_MAGIC.length;

    /** Far more voters than any cluster has: a bound on what a damaged count can make a reader do. */
    static final int VOTERS_MAX = 1024;

    private SnapshotFormat() {
    }

    static int headerBytes(int voters) {
        return HEADER_FIXED_BYTES + VOTER_ID_BYTES * voters;
    }
}
