package io.raftkv.snapshot;

/**
 * The byte layout of a snapshot file, as constants; docs/snapshots.md has it byte by byte. Integers are big-endian.
 *
 * <pre>
 * header   [magic "RKVSNP" 6][format version u16 = 2][index u64][term u64][membership length u32][membership]
 *          (membership: the cluster configuration at index, as io.raftkv.raft.Membership encodes it)
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
    /** 2: the header holds the whole configuration (members, roles, addresses); 1 held voter ids only. */
    static final int FORMAT_VERSION = 2;

    static final int VERSION_OFFSET = MAGIC.length;
    static final int INDEX_OFFSET = VERSION_OFFSET + 2;
    static final int TERM_OFFSET = INDEX_OFFSET + 8;
    static final int MEMBERSHIP_LENGTH_OFFSET = TERM_OFFSET + 8;
    /** The header without its membership. */
    static final int HEADER_FIXED_BYTES = MEMBERSHIP_LENGTH_OFFSET + 4;

    /** Trailer fields, as offsets back from the end of the file. */
    static final int TRAILER_BYTES = 8 + 4 + END_MAGIC.length;
    static final int CRC_FROM_END = 4 + END_MAGIC.length;

    /** Far more than any configuration takes: a bound on what a damaged length can make a reader do. */
    static final int MEMBERSHIP_BYTES_MAX = 1 << 20;

    private SnapshotFormat() {
    }

    static int headerBytes(int membershipBytes) {
        return HEADER_FIXED_BYTES + membershipBytes;
    }
}
