package io.raftkv.kv;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * Reads a snapshot stream ({@link KvSnapshotFormat}) into a new {@link MvccStore}, checking as it goes everything a
 * writer of the format always makes true, so that damage is refused with its place and reason instead of becoming a
 * store that answers wrongly: lengths within the limits (never an allocation a damaged length asks for), keys in
 * strictly ascending order, each key's versions newest first with the store's invariants between them, the
 * compaction rule, the CRC, the digest, and nothing after the trailer.
 */
final class KvSnapshotReader {

    private static final int READ_BUFFER_BYTES = 64 * 1024;

    private final InputStream in;
    private final int keyBytesMax;
    private final int valueBytesMax;
    private final CRC32C crc = new CRC32C();
    private final byte[] scratch = new byte[8];
    /** Bytes read so far: where the next field starts. */
    private long offset;

    private KvSnapshotReader(InputStream in, int keyBytesMax, int valueBytesMax) {
        this.in = in;
        this.keyBytesMax = keyBytesMax;
        this.valueBytesMax = valueBytesMax;
    }

    /** The store the stream holds; throws {@link KvSnapshotFormatException} when it is malformed. Reads to its end. */
    static MvccStore read(InputStream in, int keyBytesMax, int valueBytesMax) throws IOException {
        if (keyBytesMax < 0 || valueBytesMax < 0) throw new IllegalArgumentException("keyBytesMax and valueBytesMax must not be negative");
        return new KvSnapshotReader(new BufferedInputStream(in, READ_BUFFER_BYTES), keyBytesMax, valueBytesMax).store();
    }

    private MvccStore store() throws IOException {
        byte[] magic = bytes(KvSnapshotFormat.MAGIC.length, "the magic");
        if (!Arrays.equals(magic, KvSnapshotFormat.MAGIC)) throw bad(0, "not a key-value snapshot: the magic is " + HexFormat.of().formatHex(magic));
        int formatVersion = u16("the format version");
        if (formatVersion != KvSnapshotFormat.FORMAT_VERSION) {
            throw bad(offset - 2, "format version " + formatVersion + ", this build reads " + KvSnapshotFormat.FORMAT_VERSION);
        }
        long revision = i64("the revision");
        if (revision < 1) throw bad(offset - 8, "revision " + revision + ", a store is at 1 or more");
        long compactRevision = i64("the compact revision");
        if (compactRevision < 0 || compactRevision > revision) throw bad(offset - 8, "compact revision " + compactRevision + " outside [0, revision " + revision + "]");
        long digest = i64("the digest");
        long keyCount = i64("the key count");
        if (keyCount < 0) throw bad(offset - 8, "key count " + keyCount + " is negative");

        MvccStore.Loader loader = new MvccStore.Loader(revision, compactRevision);
        // Every version but the oldest is above the compaction point and at most the revision, all distinct.
        long versionsMax = revision - compactRevision + 1;
        byte[] previousKey = null;
        ArrayList<MvccStore.Version> versions = new ArrayList<>();
        for (long k = 0; k < keyCount; k++) {
            long keyStart = offset;
            String where = "key " + (k + 1) + " of " + keyCount;
            byte[] key = bytes(length(keyBytesMax, where + ": key length", "keyBytesMax"), where);
            if (previousKey != null && Arrays.compareUnsigned(previousKey, key) >= 0) throw bad(keyStart, where + " is not after the key before it");
            previousKey = key;
            long count = Integer.toUnsignedLong(i32(where + ": version count"));
            if (count < 1 || count > versionsMax) throw bad(offset - 4, where + ": version count " + count + " outside [1, " + versionsMax + "]");
            versions.clear();
            for (int i = 0; i < count; i++) versions.add(version(where + ": version " + (i + 1) + " of " + count, versions, i == count - 1, revision, compactRevision));
            MvccStore.Version chain = null;
            for (int i = versions.size() - 1; i >= 0; i--) chain = versions.get(i).withPrev(chain);
            loader.add(key, chain);
        }
        long trailerAt = offset;
        int computed = (int) crc.getValue();
        int stored = i32("the trailer's CRC");
        if (stored != computed) throw bad(trailerAt, "bad CRC32C: the trailer says " + hex(stored) + ", the bytes give " + hex(computed));
        if (in.read() >= 0) throw bad(offset, "bytes after the trailer");
        MvccStore store = loader.store();
        if (store.digest() != digest) throw bad(0, "the keys give digest " + Long.toHexString(store.digest()) + ", the header says " + Long.toHexString(digest));
        return store;
    }

    /** One version, checked against the newer ones of its key already read ({@code newer}, newest first). */
    private MvccStore.Version version(String where, ArrayList<MvccStore.Version> newer, boolean oldest, long revision, long compactRevision) throws IOException {
        long start = offset;
        long create = i64(where + ": create revision");
        long mod = i64(where + ": mod revision");
        long version = i64(where + ": version");
        int kind = u8(where + ": kind");
        byte[] value = switch (kind) {
            case KvSnapshotFormat.KIND_VALUE -> bytes(length(valueBytesMax, where + ": value length", "valueBytesMax"), where + ": value");
            case KvSnapshotFormat.KIND_TOMBSTONE -> null;
            default -> throw bad(offset - 1, where + ": unknown kind " + kind);
        };
        MvccStore.Version v = new MvccStore.Version(create, mod, version, value, null);
        MvccStore.Version next = newer.isEmpty() ? null : newer.get(newer.size() - 1);
        String wrong = broken(v, next, oldest, revision, compactRevision);
        if (wrong != null) throw bad(start, where + ": " + wrong);
        return v;
    }

    /**
     * What breaks the store's invariants in version {@code v} whose newer neighbour is {@code next} (null for the
     * newest), or null. The rules are the writes': a put on a live key keeps its create revision and adds one to its
     * version, a put after a delete or on a new key starts at version 1 with create = mod, a delete has neither.
     */
    private static String broken(MvccStore.Version v, MvccStore.Version next, boolean oldest, long revision, long compactRevision) {
        if (v.modRevision < 1 || v.modRevision > revision) return "mod revision " + v.modRevision + " outside [1, revision " + revision + "]";
        if (next != null && v.modRevision >= next.modRevision) return "mod revision " + v.modRevision + " is not below the newer version's " + next.modRevision;
        if (v.modRevision <= compactRevision) {
            if (!oldest) return "mod revision " + v.modRevision + " at or below the compact revision " + compactRevision + " but older versions follow";
            if (v.isTombstone()) return "a delete at or below the compact revision " + compactRevision + ", which compaction drops";
        }
        if (v.isTombstone()) {
            if (v.createRevision != 0 || v.version != 0) return "a delete with create revision " + v.createRevision + " and version " + v.version + ", not 0 and 0";
            if (next != null && next.isTombstone()) return "a delete right before another delete";
            if (next != null && next.version != 1) return "the put after this delete has version " + next.version + ", not 1";
            return null;
        }
        if (v.version < 1) return "version " + v.version + ", a live key's is 1 or more";
        if ((v.version == 1) != (v.createRevision == v.modRevision)) {
            return "version " + v.version + " with create revision " + v.createRevision + " and mod revision " + v.modRevision;
        }
        if (v.createRevision < 1 || v.createRevision > v.modRevision) return "create revision " + v.createRevision + " outside [1, mod revision " + v.modRevision + "]";
        if (next != null && !next.isTombstone() && (next.createRevision != v.createRevision || next.version != v.version + 1)) {
            return "the newer version (create " + next.createRevision + ", version " + next.version + ") does not follow this one (create "
                    + v.createRevision + ", version " + v.version + ")";
        }
        return null;
    }

    private int length(int max, String what, String limitName) throws IOException {
        long length = Integer.toUnsignedLong(i32(what));
        if (length > max) throw bad(offset - 4, what + " " + length + " over " + limitName + " " + max);
        return (int) length;
    }

    private byte[] bytes(int n, String what) throws IOException {
        byte[] b = new byte[n];
        readFully(b, n, what);
        return b;
    }

    private int u8(String what) throws IOException {
        readFully(scratch, 1, what);
        return scratch[0] & 0xff;
    }

    private int u16(String what) throws IOException {
        readFully(scratch, 2, what);
        return (scratch[0] & 0xff) << 8 | (scratch[1] & 0xff);
    }

    private int i32(String what) throws IOException {
        readFully(scratch, 4, what);
        return (scratch[0] & 0xff) << 24 | (scratch[1] & 0xff) << 16 | (scratch[2] & 0xff) << 8 | (scratch[3] & 0xff);
    }

    private long i64(String what) throws IOException {
        readFully(scratch, 8, what);
        long v = 0;
        for (int i = 0; i < 8; i++) v = v << 8 | (scratch[i] & 0xff);
        return v;
    }

    private void readFully(byte[] b, int n, String what) throws IOException {
        int done = 0;
        while (done < n) {
            int r = in.read(b, done, n - done);
            if (r < 0) throw bad(offset, "the stream ends " + done + " bytes into " + what + " (" + n + " bytes): truncated");
            done += r;
        }
        crc.update(b, 0, n);
        offset += n;
    }

    private static String hex(int crc) {
        return String.format("%08x", crc);
    }

    private static KvSnapshotFormatException bad(long offset, String reason) {
        return new KvSnapshotFormatException(offset, reason);
    }
}
