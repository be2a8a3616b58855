package io.raftkv.kv;

import java.io.IOException;
import java.io.InputStream;
import io.raftkv.protocol.Permission;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * Reads a snapshot stream ({@link KvSnapshotFormat}) into a new {@link MvccStore} and its {@link Leases}, checking as it goes everything a
 * writer of the format always makes true, so that damage is refused with its place and reason instead of becoming a
 * store that answers wrongly: lengths within the limits (never an allocation a damaged length asks for), keys in
 * strictly ascending order, each key's versions newest first with the store's invariants between them, the
 * compaction rule, leases in ascending order with TTLs in range, every live key's lease among them, the CRC, the digest,
 * and nothing after the trailer.
 */
final class KvSnapshotReader {

    private static final int READ_BUFFER_BYTES = 64 * 1024;

    private final InputStream in;
    private final int keyBytesMax;
    private final int valueBytesMax;
    private final CRC32C crc = new CRC32C();
    /**
     * The reader's own buffer: fields are decoded from it directly and the CRC is taken over whole runs of it, so a
     * key costs no per-field stream call or CRC update (a million-key snapshot is read while a node starts).
     */
    private final byte[] buf = new byte[READ_BUFFER_BYTES];
    private int pos;
    private int lim;
    /** The first byte of {@link #buf} not yet in the CRC. */
    private int crcFrom;
    /** Bytes of the stream before {@code buf[0]}: {@code base + pos} is where the next field starts. */
    private long base;
    /** Where the reader is, for messages: the key (from 1; 0 in the header) and the version (from 1; 0 outside one). */
    private long keyNumber;
    private long keyCount;
    private int versionNumber;
    private long versionCount;

    private KvSnapshotReader(InputStream in, int keyBytesMax, int valueBytesMax) {
        this.in = in;
        this.keyBytesMax = keyBytesMax;
        this.valueBytesMax = valueBytesMax;
    }

    /** The store and leases the stream holds; throws {@link KvSnapshotFormatException} when it is malformed. Reads to its end. */
    static KvStateMachine.Restored read(InputStream in, int keyBytesMax, int valueBytesMax) throws IOException {
        if (keyBytesMax < 0 || valueBytesMax < 0) throw new IllegalArgumentException("keyBytesMax and valueBytesMax must not be negative");
        return new KvSnapshotReader(in, keyBytesMax, valueBytesMax).store();
    }

    /** The format being read: version 1 has no leases. */
    private int formatVersion;

    private KvStateMachine.Restored store() throws IOException {
        byte[] magic = bytes(KvSnapshotFormat.MAGIC.length, "the magic");
        if (!Arrays.equals(magic, KvSnapshotFormat.MAGIC)) throw bad(0, "not a key-value snapshot: the magic is " + HexFormat.of().formatHex(magic));
        formatVersion = u16("the format version");
        if (formatVersion < KvSnapshotFormat.FORMAT_VERSION_NO_LEASES || formatVersion > KvSnapshotFormat.FORMAT_VERSION) {
            throw bad(offset() - 2, "format version " + formatVersion + ", this build reads " + KvSnapshotFormat.FORMAT_VERSION_NO_LEASES
                    + " to " + KvSnapshotFormat.FORMAT_VERSION);
        }
        long revision = i64("the revision");
        if (revision < 1) throw bad(offset() - 8, "revision " + revision + ", a store is at 1 or more");
        long compactRevision = i64("the compact revision");
        if (compactRevision < 0 || compactRevision > revision) throw bad(offset() - 8, "compact revision " + compactRevision + " outside [0, revision " + revision + "]");
        long digest = i64("the digest");
        long keyCount = i64("the key count");
        if (keyCount < 0) throw bad(offset() - 8, "key count " + keyCount + " is negative");
        Leases leases = new Leases();
        if (formatVersion >= KvSnapshotFormat.FORMAT_VERSION_NO_AUTH) {
            long leaseCount = i64("the lease count");
            if (leaseCount < 0) throw bad(offset() - 8, "lease count " + leaseCount + " is negative");
            long previousId = 0;
            for (long i = 0; i < leaseCount; i++) {
                long start = offset();
                long id = i64("lease " + (i + 1) + " of " + leaseCount + ": its id");
                long ttl = i64("lease " + (i + 1) + " of " + leaseCount + ": its TTL");
                if (id <= previousId) throw bad(start, "lease " + (i + 1) + " of " + leaseCount + ": id " + id + " is not above the one before (" + previousId + ")");
                if (ttl < 1 || ttl > Leases.TTL_SECONDS_MAX) {
                    throw bad(start + 8, "lease " + (i + 1) + " of " + leaseCount + ": TTL " + ttl + " s outside [1, " + Leases.TTL_SECONDS_MAX + "]");
                }
                leases.grant(id, ttl);
                previousId = id;
            }
        }
        AuthStore auth = formatVersion >= KvSnapshotFormat.FORMAT_VERSION ? auth() : AuthStore.EMPTY;

        MvccStore.Loader loader = new MvccStore.Loader(revision, compactRevision);
        // Every version but the oldest is above the compaction point and at most the revision, all distinct.
        long versionsMax = revision - compactRevision + 1;
        byte[] previousKey = null;
        ArrayList<MvccStore.Version> versions = new ArrayList<>();
        this.keyCount = keyCount;
        for (long k = 0; k < keyCount; k++) {
            keyNumber = k + 1;
            versionNumber = 0;
            long keyStart = offset();
            byte[] key = bytes(length(keyBytesMax, "key length", "keyBytesMax"), "key");
            if (previousKey != null && Arrays.compareUnsigned(previousKey, key) >= 0) throw bad(keyStart, where() + " is not after the key before it");
            previousKey = key;
            long count = Integer.toUnsignedLong(i32("version count"));
            if (count < 1 || count > versionsMax) throw bad(offset() - 4, where() + ": version count " + count + " outside [1, " + versionsMax + "]");
            versionCount = count;
            versions.clear();
            for (int i = 0; i < count; i++) {
                versionNumber = i + 1;
                versions.add(version(versions, i == count - 1, revision, compactRevision));
            }
            versionNumber = 0;
            MvccStore.Version chain = null;
            for (int i = versions.size() - 1; i >= 0; i--) chain = versions.get(i).withPrev(chain);
            // The newest version at the revision attaches a live key to its lease, which must be one of the snapshot's.
            if (!chain.isTombstone() && chain.lease() != 0) {
                if (leases.get(chain.lease()) == null) {
                    throw bad(keyStart, where() + " is attached to lease " + Long.toHexString(chain.lease()) + ", which the snapshot does not hold");
                }
                leases.attach(chain.lease(), key);
            }
            loader.add(key, chain);
        }
        keyNumber = 0;
        long trailerAt = offset();
        crc.update(buf, crcFrom, pos - crcFrom);
        crcFrom = pos;
        int computed = (int) crc.getValue();
        int stored = i32("the trailer's CRC");
        if (stored != computed) throw bad(trailerAt, "bad CRC32C: the trailer says " + hex(stored) + ", the bytes give " + hex(computed));
        if (pos < lim || in.read() >= 0) throw bad(offset(), "bytes after the trailer");
        MvccStore store = loader.store();
        if (store.digest() != digest) throw bad(0, "the keys give digest " + Long.toHexString(store.digest()) + ", the header says " + Long.toHexString(digest));
        return new KvStateMachine.Restored(store, leases, auth);
    }

    /** One version, checked against the newer ones of its key already read ({@code newer}, newest first). */
    private MvccStore.Version version(ArrayList<MvccStore.Version> newer, boolean oldest, long revision, long compactRevision) throws IOException {
        long start = offset();
        long create = i64("create revision");
        long mod = i64("mod revision");
        long version = i64("version");
        int kind = u8("kind");
        boolean leased = kind == KvSnapshotFormat.KIND_LEASED_VALUE && formatVersion >= KvSnapshotFormat.FORMAT_VERSION_NO_AUTH;
        long lease = 0;
        if (leased) {
            lease = i64("lease");
            if (lease <= 0) throw bad(offset() - 8, where() + ": lease " + lease + ", a leased value's is above 0");
        }
        byte[] value = switch (kind) {
            case KvSnapshotFormat.KIND_VALUE -> bytes(length(valueBytesMax, "value length", "valueBytesMax"), "value");
            case KvSnapshotFormat.KIND_TOMBSTONE -> null;
            default -> {
                if (!leased) throw bad(offset() - 1, where() + ": unknown kind " + kind);
                yield bytes(length(valueBytesMax, "value length", "valueBytesMax"), "value");
            }
        };
        MvccStore.Version v = MvccStore.Version.of(create, mod, version, value, lease, null);
        MvccStore.Version next = newer.isEmpty() ? null : newer.get(newer.size() - 1);
        String wrong = broken(v, next, oldest, revision, compactRevision);
        if (wrong != null) throw bad(start, where() + ": " + wrong);
        return v;
    }

    /** The auth section (format 3): each name, permission and hash checked as an auth change would be. */
    private AuthStore auth() throws IOException {
        long start = offset();
        int enabled = u8("auth's enabled flag");
        if (enabled > 1) throw bad(start, "auth's enabled flag is " + enabled + ", not 0 or 1");
        long revision = i64("the auth revision");
        long roleCount = Integer.toUnsignedLong(i32("the role count"));
        if (roleCount > AuthStore.ROLES_MAX) throw bad(offset() - 4, "role count " + roleCount + " over " + AuthStore.ROLES_MAX);
        long userCount = Integer.toUnsignedLong(i32("the user count"));
        if (userCount > AuthStore.USERS_MAX) throw bad(offset() - 4, "user count " + userCount + " over " + AuthStore.USERS_MAX);
        List<AuthStore.Role> roles = new ArrayList<>();
        String previous = null;
        for (long i = 0; i < roleCount; i++) {
            String where = "role " + (i + 1) + " of " + roleCount;
            String name = name(where, "role", previous);
            previous = name;
            long count = Integer.toUnsignedLong(i32(where + ": its permission count"));
            if (count > AuthStore.PERMISSIONS_PER_ROLE_MAX) throw bad(offset() - 4, where + ": " + count + " permissions, over " + AuthStore.PERMISSIONS_PER_ROLE_MAX);
            List<Permission> permissions = new ArrayList<>();
            for (long j = 0; j < count; j++) {
                long at = offset();
                String what = where + ": permission " + (j + 1);
                int type = u8(what + ": its type");
                if (type > Permission.Type.READWRITE.code) throw bad(at, what + ": unknown type " + type);
                byte[] key = bytes(length(keyBytesMax, what + ": key length", "keyBytesMax"), what + ": key");
                byte[] end = bytes(length(keyBytesMax, what + ": range end length", "keyBytesMax"), what + ": range end");
                String problem = AuthStore.permissionProblem(key, end);
                if (problem != null) throw bad(at, what + ": " + problem);
                if (!permissions.isEmpty() && AuthStore.compare(key, end, permissions.get(permissions.size() - 1)) <= 0) {
                    throw bad(at, what + " is not after the one before it");
                }
                permissions.add(new Permission(Permission.Type.ofCode(type), key, end));
            }
            roles.add(new AuthStore.Role(name, permissions));
        }
        List<AuthStore.User> users = new ArrayList<>();
        previous = null;
        for (long i = 0; i < userCount; i++) {
            String where = "user " + (i + 1) + " of " + userCount;
            String name = name(where, "user", previous);
            previous = name;
            long at = offset();
            byte[] salt = bytes(length(PasswordHash.FIELD_BYTES_MAX, where + ": salt length", "a salt's " + PasswordHash.FIELD_BYTES_MAX + " bytes"), where + ": salt");
            int iterations = i32(where + ": iterations");
            byte[] hash = bytes(length(PasswordHash.FIELD_BYTES_MAX, where + ": hash length", "a hash's " + PasswordHash.FIELD_BYTES_MAX + " bytes"), where + ": hash");
            PasswordHash password;
            try {
                password = new PasswordHash(salt, iterations, hash);
            } catch (IllegalArgumentException e) {
                throw bad(at, where + ": " + e.getMessage());
            }
            long count = Integer.toUnsignedLong(i32(where + ": its role count"));
            if (count > AuthStore.ROLES_PER_USER_MAX) throw bad(offset() - 4, where + ": " + count + " roles, over " + AuthStore.ROLES_PER_USER_MAX);
            List<String> userRoles = new ArrayList<>();
            String previousRole = null;
            for (long j = 0; j < count; j++) {
                String role = name(where + ": role " + (j + 1), "role", previousRole);
                previousRole = role;
                userRoles.add(role);
            }
            users.add(new AuthStore.User(name, password, userRoles));
        }
        try {
            return AuthStore.restored(enabled == 1, revision, users, roles);
        } catch (IllegalArgumentException e) {
            throw bad(start, "the auth section: " + e.getMessage());
        }
    }

    /** A name ({@code [u16 n][UTF-8]}) of a user or role, after {@code previous} in the order names are kept. */
    private String name(String where, String what, String previous) throws IOException {
        long at = offset();
        int n = u16(where + ": its name's length");
        String name = new String(bytes(n, where + ": its name"), StandardCharsets.UTF_8);
        String problem = AuthStore.nameProblem(name, what);
        if (problem != null) throw bad(at, where + ": " + problem);
        if (previous != null && previous.compareTo(name) >= 0) throw bad(at, where + ": " + name + " is not after " + previous);
        return name;
    }

    /** Where the reader is, in words: built only for a message. */
    private String where() {
        if (keyNumber == 0) return "the header";
        String key = "key " + keyNumber + " of " + keyCount;
        return versionNumber == 0 ? key : key + ": version " + versionNumber + " of " + versionCount;
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
        if (length > max) throw bad(offset() - 4, where() + ": " + what + " " + length + " over " + limitName + " " + max);
        return (int) length;
    }

    private long offset() {
        return base + pos;
    }

    /** Makes {@code n} bytes (at most the buffer's size) readable at {@code pos}; {@code what} names the field for a message. */
    private void need(int n, String what) throws IOException {
        if (lim - pos >= n) return;
        crc.update(buf, crcFrom, pos - crcFrom);
        System.arraycopy(buf, pos, buf, 0, lim - pos);
        base += pos;
        lim -= pos;
        pos = 0;
        crcFrom = 0;
        while (lim < n) {
            int r = in.read(buf, lim, buf.length - lim);
            if (r < 0) throw truncated(lim, n, what);
            lim += r;
        }
    }

    private KvSnapshotFormatException truncated(int have, int n, String what) {
        return bad(offset() + have, "the stream ends " + have + " bytes into " + (keyNumber == 0 ? what : where() + ": " + what) + " (" + n
                + " bytes): truncated");
    }

    private byte[] bytes(int n, String what) throws IOException {
        byte[] b = new byte[n];
        if (n <= buf.length) {
            need(n, what);
            System.arraycopy(buf, pos, b, 0, n);
            pos += n;
            return b;
        }
        // Longer than the buffer (a large value): what is buffered, then the rest straight from the stream.
        int buffered = lim - pos;
        System.arraycopy(buf, pos, b, 0, buffered);
        pos = lim;
        crc.update(buf, crcFrom, pos - crcFrom);
        crcFrom = pos;
        int done = buffered;
        while (done < n) {
            int r = in.read(b, done, n - done);
            if (r < 0) throw truncated(done, n, what);
            done += r;
        }
        crc.update(b, buffered, n - buffered);
        base += n - buffered;
        return b;
    }

    private int u8(String what) throws IOException {
        need(1, what);
        return buf[pos++] & 0xff;
    }

    private int u16(String what) throws IOException {
        need(2, what);
        int v = (buf[pos] & 0xff) << 8 | (buf[pos + 1] & 0xff);
        pos += 2;
        return v;
    }

    private int i32(String what) throws IOException {
        need(4, what);
        int v = (buf[pos] & 0xff) << 24 | (buf[pos + 1] & 0xff) << 16 | (buf[pos + 2] & 0xff) << 8 | (buf[pos + 3] & 0xff);
        pos += 4;
        return v;
    }

    private long i64(String what) throws IOException {
        need(8, what);
        long v = 0;
        for (int i = 0; i < 8; i++) v = v << 8 | (buf[pos + i] & 0xff);
        pos += 8;
        return v;
    }

    private static String hex(int crc) {
        return String.format("%08x", crc);
    }

    private static KvSnapshotFormatException bad(long offset, String reason) {
        return new KvSnapshotFormatException(offset, reason);
    }
}
