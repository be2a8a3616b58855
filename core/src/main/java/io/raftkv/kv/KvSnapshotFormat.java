package io.raftkv.kv;

/**
 * The byte layout of a state machine snapshot, as constants; docs/snapshots.md has it byte by byte. Integers are
 * big-endian; u32 lengths are read as unsigned.
 *
 * <pre>
 * header   [magic "RKVKVS" 6][format version u16][revision u64][compactRevision u64][digest u64][key count u64]
 * per key  [key length u32][key][version count u32], then per version, newest first:
 *          [createRevision u64][modRevision u64][version u64][kind u8] and for {@link #KIND_VALUE} [value length u32][value]
 * trailer  [CRC32C u32 of every byte before it]
 * </pre>
 *
 * The digest is {@link MvccStore#digest()} at the revision: restore recomputes it from the keys, which checks the
 * writer's view as well as the bytes. The CRC is the payload's own, because the payload also travels outside a
 * snapshot file (to a follower).
 */
final class KvSnapshotFormat {

    static final byte[] MAGIC = {'R', 'K', 'V', 'K', 'V', 'S'};
    static final int FORMAT_VERSION = 1;
    static final int HEADER_BYTES = MAGIC.length + 2 + 4 * 8;
    static final int KEY_FIXED_BYTES = 4 + 4;
    static final int VERSION_FIXED_BYTES = 3 * 8 + 1;
    static final int VALUE_LENGTH_BYTES = 4;
    static final int TRAILER_BYTES = 4;

    /** A version holding a value; its value follows. */
    static final int KIND_VALUE = 0;
    /** A delete: no value follows, and its create revision and version are 0. */
    static final int KIND_TOMBSTONE = 1;

    private KvSnapshotFormat() {
    }
}
