package io.raftkv.kv;

/**
 * The byte layout of a state machine snapshot, as constants; docs/snapshots.md has it byte by byte. Integers are
 * big-endian; u32 lengths are read as unsigned.
 *
 * <pre>
 * header    [magic "RKVKVS" 6][format version u16][revision u64][compactRevision u64][digest u64][key count u64]
 *           [lease count u64] (format 2)
 * per lease [id u64][granted TTL in seconds u64], ids ascending (format 2)
 * auth      [enabled u8][auth revision u64][role count u32][user count u32] (format 3), then
 *   per role, names ascending: [name str][permission count u32], then per permission, ascending by key then range end:
 *           [type u8: 0 read, 1 write, 2 readwrite][key bytes][range end bytes]
 *   per user, names ascending: [name str][salt bytes][iterations u32][hash bytes][role count u32][role name str]...,
 *           roles ascending, each a role above or root
 *           (str = [length u16][UTF-8], bytes = [length u32][bytes]; the hash is PBKDF2WithHmacSHA256, never a password)
 * per key   [key length u32][key][version count u32], then per version, newest first:
 *           [createRevision u64][modRevision u64][version u64][kind u8] and for {@link #KIND_VALUE} [value length u32][value],
 *           for {@link #KIND_LEASED_VALUE} [lease u64][value length u32][value] (format 2)
 * trailer   [CRC32C u32 of every byte before it]
 * </pre>
 * Format 1 (before leases) is still read: no lease count, no lease, no leased value; format 2 (before auth) too: no
 * auth section, auth disabled with no users and roles.
 *
 * The digest is {@link MvccStore#digest()} at the revision: restore recomputes it from the keys, which checks the
 * writer's view as well as the bytes. The CRC is the payload's own, because the payload also travels outside a
 * snapshot file (to a follower).
 */
final class KvSnapshotFormat {

    static final byte[] MAGIC = {'R', 'K', 'V', 'K', 'V', 'S'};
    static final int FORMAT_VERSION = 3;
    /** Before auth: read, never written. */
    static final int FORMAT_VERSION_NO_AUTH = 2;
    /** Before leases: read, never written. */
    static final int FORMAT_VERSION_NO_LEASES = 1;
    static final int HEADER_BYTES = MAGIC.length + 2 + 5 * 8;
    static final int LEASE_BYTES = 2 * 8;
    /** The auth section of a store without users or roles. */
    static final int AUTH_FIXED_BYTES = 1 + 8 + 4 + 4;
    static final int KEY_FIXED_BYTES = 4 + 4;
    static final int VERSION_FIXED_BYTES = 3 * 8 + 1;
    static final int VALUE_LENGTH_BYTES = 4;
    static final int TRAILER_BYTES = 4;

    /** A version holding a value; its value follows. */
    static final int KIND_VALUE = 0;
    /** A delete: no value follows, and its create revision and version are 0. */
    static final int KIND_TOMBSTONE = 1;
    /** A version holding a value, its key attached to a lease: the lease (not 0) follows, then the value. */
    static final int KIND_LEASED_VALUE = 2;

    private KvSnapshotFormat() {
    }
}
