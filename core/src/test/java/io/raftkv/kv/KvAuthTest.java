package io.raftkv.kv;

import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.Permission;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.raft.Entry;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The auth store in the state machine: commands checked at their place in the log, the log's encoding, snapshots (format 3). */
class KvAuthTest {

    private static final PasswordHash HASH = new PasswordHash(new byte[16], 1, new byte[32]);
    private static final int KEY_BYTES_MAX = 4096;

    private final KvStateMachine kv = new KvStateMachine();

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private ApplyResult apply(KvCommand c) {
        return kv.apply(new Entry(1, kv.appliedIndex() + 1, c.encode()));
    }

    private ApplyResult as(String user, KvCommand c) {
        return apply(new KvCommand.AsUser(user, c));
    }

    private static KvCommand change(AuthRequest r) {
        boolean setsPassword = r instanceof AuthRequest.UserAdd || r instanceof AuthRequest.UserChangePassword;
        return new KvCommand.Auth(r, setsPassword ? HASH : null);
    }

    /** root, and app with readwrite on the prefix app/; auth enabled. */
    private void setUp() {
        for (AuthRequest r : List.of(new AuthRequest.UserAdd("root", ""), new AuthRequest.RoleAdd("root"), new AuthRequest.UserGrantRole("root", "root"),
                new AuthRequest.UserAdd("app", ""), new AuthRequest.RoleAdd("app-rw"),
                new AuthRequest.RoleGrantPermission("app-rw", new Permission(Permission.Type.READWRITE, b("app/"), RangeRequest.prefixEnd(b("app/")))),
                new AuthRequest.UserGrantRole("app", "app-rw"), new AuthRequest.Enable())) {
            assertInstanceOf(ApplyResult.Done.class, apply(change(r)), r.toString());
        }
    }

    @Test
    void authCommandsRoundTripThroughTheLogWithTheHashNeverAPassword() {
        KvCommand add = new KvCommand.AsUser("root", change(new AuthRequest.UserAdd("bob", "")));
        KvCommand.AsUser decoded = (KvCommand.AsUser) KvCommand.decode(add.encode());
        assertEquals("root", decoded.user());
        assertEquals(HASH, ((KvCommand.Auth) decoded.command()).password());
        assertThrows(IllegalArgumentException.class, () -> new KvCommand.Auth(new AuthRequest.UserAdd("bob", "cleartext"), HASH));
        assertThrows(IllegalArgumentException.class, () -> new KvCommand.Auth(new AuthRequest.UserAdd("bob", ""), null));
        assertThrows(IllegalArgumentException.class, () -> new KvCommand.AsUser("a", new KvCommand.AsUser("b", KvCommand.put(b("k"), b("v")))));
        KvCommand grant = change(new AuthRequest.RoleGrantPermission("r", new Permission(Permission.Type.WRITE, b("k"), b("l"))));
        assertEquals(grant, KvCommand.decode(grant.encode()));
    }

    @Test
    void whileDisabledEveryCommandAppliesAsToday() {
        assertInstanceOf(ApplyResult.Done.class, as("nobody", KvCommand.put(b("x"), b("1"))));
        assertInstanceOf(ApplyResult.Done.class, apply(KvCommand.put(b("y"), b("1"))));
        assertArrayEquals(b("1"), kv.get(b("x")));
    }

    @Test
    void aWriteAppliesOnlyWhereItsUserMayWriteAndARefusalChangesNothing() {
        setUp();
        long revision = kv.revision();
        assertInstanceOf(ApplyResult.Done.class, as("app", KvCommand.put(b("app/a"), b("1"))));
        assertEquals(revision + 1, kv.revision());
        ApplyResult.Refused outside = assertInstanceOf(ApplyResult.Refused.class, as("app", KvCommand.put(b("other"), b("1"))));
        assertEquals(ErrorCode.PERMISSION_DENIED, outside.code());
        assertNull(kv.get(b("other")));
        assertEquals(revision + 1, kv.revision(), "a refused write makes no revision");
        TxnRequest mixed = new TxnRequest(List.of(), List.of(new TxnOp.Put(b("app/b"), b("1"), false), new TxnOp.Put(b("x"), b("1"), false)), List.of());
        assertEquals(ErrorCode.PERMISSION_DENIED, assertInstanceOf(ApplyResult.Refused.class, as("app", new KvCommand.Txn(mixed))).code());
        assertNull(kv.get(b("app/b")), "nothing of a refused transaction applies");
        assertInstanceOf(ApplyResult.Done.class, as("root", KvCommand.put(b("other"), b("1"))));
        assertEquals(ErrorCode.PERMISSION_DENIED, assertInstanceOf(ApplyResult.Refused.class, as("app", new KvCommand.Compact(2))).code(),
                "compaction is root's");
        assertEquals(ErrorCode.PERMISSION_DENIED, assertInstanceOf(ApplyResult.Refused.class, as("app", change(new AuthRequest.Disable()))).code());
        assertEquals(ErrorCode.PERMISSION_DENIED, assertInstanceOf(ApplyResult.Refused.class, as("ghost", KvCommand.put(b("app/a"), b("2")))).code());
    }

    @Test
    void aWriteWithoutAUserIsRefusedOnceEnabledButTheNodesOwnRevocationsAndCompactionsGo() {
        setUp();
        ApplyResult.Refused r = assertInstanceOf(ApplyResult.Refused.class, apply(KvCommand.put(b("app/a"), b("1"))));
        assertEquals(ErrorCode.AUTH_REQUIRED, r.code());
        assertTrue(r.message().startsWith("user name is empty"), r.message());
        assertInstanceOf(ApplyResult.LeaseGranted.class, as("app", new KvCommand.LeaseGrant(7, 60)));
        assertInstanceOf(ApplyResult.LeaseRevoked.class, apply(new KvCommand.LeaseRevoke(7)), "the leader's lessor revokes without a user");
        assertInstanceOf(ApplyResult.Done.class, apply(new KvCommand.Compact(1)), "so does the auto-compactor");
    }

    @Test
    void aRevokedPermissionTakesEffectAtItsPlaceInTheLog() {
        setUp();
        // Both writes were checked and proposed while app could write; the revoke is committed between them.
        KvCommand first = new KvCommand.AsUser("app", KvCommand.put(b("app/a"), b("1")));
        KvCommand second = new KvCommand.AsUser("app", KvCommand.put(b("app/b"), b("1")));
        assertInstanceOf(ApplyResult.Done.class, apply(first));
        assertInstanceOf(ApplyResult.Done.class, as("root", change(new AuthRequest.UserRevokeRole("app", "app-rw"))));
        assertEquals(ErrorCode.PERMISSION_DENIED, assertInstanceOf(ApplyResult.Refused.class, apply(second)).code());
        assertNull(kv.get(b("app/b")));
    }

    @Test
    void revokingALeaseNeedsWriteOnEveryKeyItHolds() {
        setUp();
        as("root", new KvCommand.LeaseGrant(9, 60));
        as("root", new KvCommand.Txn(new TxnRequest(List.of(), List.of(new TxnOp.Put(b("app/l"), b("1"), false, 9),
                new TxnOp.Put(b("secret"), b("1"), false, 9)), List.of())));
        assertEquals(ErrorCode.PERMISSION_DENIED, assertInstanceOf(ApplyResult.Refused.class, as("app", new KvCommand.LeaseRevoke(9))).code());
        assertArrayEquals(b("1"), kv.get(b("secret")));
        assertInstanceOf(ApplyResult.LeaseRevoked.class, as("root", new KvCommand.LeaseRevoke(9)));
    }

    @Test
    void usersAndRolesSurviveASnapshotAndAreCheckedAfterIt() throws IOException {
        setUp();
        as("app", KvCommand.put(b("app/a"), b("1")));
        byte[] bytes = snapshot(kv);
        KvStateMachine restored = new KvStateMachine();
        restored.restore(kv.appliedIndex(), new ByteArrayInputStream(bytes), KEY_BYTES_MAX, 1 << 20);
        AuthStore auth = restored.auth();
        assertTrue(auth.enabled());
        assertEquals(kv.auth().revision(), auth.revision());
        assertEquals(List.of("app", "root"), auth.users().stream().map(AuthStore.User::name).toList());
        assertEquals(HASH, auth.user("app").password());
        assertEquals(List.of("app-rw"), auth.user("app").roles());
        assertEquals(kv.auth().role("app-rw"), auth.role("app-rw"));
        Entry denied = new Entry(1, restored.appliedIndex() + 1, new KvCommand.AsUser("app", KvCommand.put(b("x"), b("1"))).encode());
        assertEquals(ErrorCode.PERMISSION_DENIED, assertInstanceOf(ApplyResult.Refused.class, restored.apply(denied)).code());
        assertFalse(new String(bytes, StandardCharsets.ISO_8859_1).contains("s3cret"));
    }

    @Test
    void aSnapshotOfTheFormatBeforeAuthIsStillRead() throws IOException {
        kv.apply(new Entry(1, 1, KvCommand.put(b("a"), b("1")).encode()));
        byte[] v3 = snapshot(kv);
        // Format 2: version 2, no auth section (here empty).
        int auth = KvSnapshotFormat.HEADER_BYTES;
        byte[] v2 = Arrays.copyOf(v3, v3.length - KvSnapshotFormat.AUTH_FIXED_BYTES);
        System.arraycopy(v3, auth + KvSnapshotFormat.AUTH_FIXED_BYTES, v2, auth, v3.length - auth - KvSnapshotFormat.AUTH_FIXED_BYTES);
        ByteBuffer.wrap(v2).putShort(KvSnapshotFormat.MAGIC.length, (short) 2);
        KvStateMachine restored = new KvStateMachine();
        restored.restore(1, new ByteArrayInputStream(withCrc(v2)), KEY_BYTES_MAX, 1 << 20);
        assertEquals(kv.hash(), restored.hash());
        assertFalse(restored.auth().enabled());
        assertTrue(restored.auth().users().isEmpty());
    }

    @Test
    void aDamagedAuthSectionIsRefusedWithItsReason() throws IOException {
        setUp();
        byte[] good = snapshot(kv);
        int auth = KvSnapshotFormat.HEADER_BYTES;
        byte[] badFlag = good.clone();
        badFlag[auth] = 2;
        KvSnapshotFormatException e = assertThrows(KvSnapshotFormatException.class, () -> restore(withCrc(badFlag)));
        assertTrue(e.getMessage().contains("enabled flag is 2"), e.getMessage());
        // The first role is app-rw: [name str "app-rw"][count u32 = 1][type u8] right after the fixed part.
        int type = auth + KvSnapshotFormat.AUTH_FIXED_BYTES + 2 + 6 + 4;
        byte[] badType = good.clone();
        badType[type] = 7;
        e = assertThrows(KvSnapshotFormatException.class, () -> restore(withCrc(badType)));
        assertTrue(e.getMessage().contains("unknown type 7"), e.getMessage());
    }

    private static byte[] snapshot(KvStateMachine kv) throws IOException {
        KvSnapshot s = kv.snapshot();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        s.writeTo(out);
        s.release();
        return out.toByteArray();
    }

    private static void restore(byte[] bytes) throws IOException {
        new KvStateMachine().restore(1, new ByteArrayInputStream(bytes), KEY_BYTES_MAX, 1 << 20);
    }

    private static byte[] withCrc(byte[] payload) {
        CRC32C crc = new CRC32C();
        crc.update(payload, 0, payload.length - 4);
        ByteBuffer.wrap(payload).putInt(payload.length - 4, (int) crc.getValue());
        return payload;
    }
}
