package io.raftkv.kv;

import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.Permission;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The auth store's changes and permission checks, by etcd's rules (docs/auth.md). */
class AuthStoreTest {

    /** A hash made without PBKDF2: the store only keeps it. */
    private static final PasswordHash HASH = new PasswordHash(new byte[16], 1, new byte[32]);
    private static final byte[] NO_END = new byte[0];

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Permission perm(Permission.Type type, String key, String end) {
        return new Permission(type, b(key), b(end));
    }

    private static AuthStore apply(AuthStore s, AuthRequest... changes) {
        for (AuthRequest c : changes) {
            boolean setsPassword = c instanceof AuthRequest.UserAdd || c instanceof AuthRequest.UserChangePassword;
            s = s.apply(c, setsPassword ? HASH : null);
        }
        return s;
    }

    private static KvException refused(AuthStore s, AuthRequest c) {
        boolean setsPassword = c instanceof AuthRequest.UserAdd || c instanceof AuthRequest.UserChangePassword;
        return assertThrows(KvException.class, () -> s.apply(c, setsPassword ? HASH : null));
    }

    /** root (with the root role) and app, whose role may read and write under app/ and read the key config. */
    private static AuthStore withApp() {
        return apply(AuthStore.EMPTY, new AuthRequest.UserAdd("root", ""), new AuthRequest.RoleAdd("root"), new AuthRequest.UserGrantRole("root", "root"),
                new AuthRequest.UserAdd("app", ""), new AuthRequest.RoleAdd("app-rw"),
                new AuthRequest.RoleGrantPermission("app-rw", new Permission(Permission.Type.READWRITE, b("app/"), RangeRequest.prefixEnd(b("app/")))),
                new AuthRequest.RoleGrantPermission("app-rw", perm(Permission.Type.READ, "config", "")),
                new AuthRequest.UserGrantRole("app", "app-rw"), new AuthRequest.Enable());
    }

    @Test
    void aPrefixPermissionCoversItsKeysAndRangesInsideAndNothingElse() {
        AuthStore s = withApp();
        assertTrue(s.canRead("app", b("app/x"), NO_END));
        assertTrue(s.canWrite("app", b("app/x"), NO_END));
        assertTrue(s.canRead("app", b("app/"), RangeRequest.prefixEnd(b("app/"))), "the whole prefix");
        assertTrue(s.canRead("app", b("app/a"), b("app/m")));
        assertFalse(s.canRead("app", b("app/a"), RangeRequest.FROM_KEY), "from app/a on reaches past the prefix");
        assertFalse(s.canRead("app", b("ap"), RangeRequest.prefixEnd(b("ap"))), "a wider prefix");
        assertFalse(s.canRead("app", b("app0"), NO_END), "app0 is the prefix's end, outside it");
        assertFalse(s.canWrite("app", b("other"), NO_END));
        assertTrue(s.canRead("app", b("config"), NO_END));
        assertFalse(s.canWrite("app", b("config"), NO_END), "a read permission does not write");
        assertFalse(s.canRead("app", b("config"), b("confih")), "one key's permission covers [config, config\\0), not more");
        assertFalse(s.canRead("nobody", b("app/x"), NO_END), "a user that does not exist may nothing");
        assertTrue(s.canWrite("root", b("anything"), RangeRequest.FROM_KEY), "the root role may do anything");
    }

    @Test
    void permissionsThatTouchMergeSoARangeAcrossThemIsCovered() {
        AuthStore s = apply(AuthStore.EMPTY, new AuthRequest.UserAdd("u", ""), new AuthRequest.RoleAdd("a"), new AuthRequest.RoleAdd("b"),
                new AuthRequest.RoleGrantPermission("a", perm(Permission.Type.READ, "a", "c")),
                new AuthRequest.RoleGrantPermission("b", perm(Permission.Type.READWRITE, "c", "e")),
                new AuthRequest.RoleGrantPermission("b", perm(Permission.Type.READ, "e", "")),
                new AuthRequest.UserGrantRole("u", "a"), new AuthRequest.UserGrantRole("u", "b"));
        assertTrue(s.canRead("u", b("a"), b("e")), "[a, c) and [c, e) from two roles");
        assertTrue(s.canRead("u", b("b"), b("e\0")), "and the key e, [e, e\\0)");
        assertFalse(s.canRead("u", b("b"), b("e\0\0")));
        assertFalse(s.canWrite("u", b("b"), b("d")), "b is read only");
        assertTrue(s.canWrite("u", b("c"), b("e")));
        AuthStore all = apply(s, new AuthRequest.RoleGrantPermission("a", new Permission(Permission.Type.READ, NO_END, RangeRequest.FROM_KEY)));
        assertTrue(all.canRead("u", RangeRequest.FROM_KEY, RangeRequest.FROM_KEY), "an empty key with \\0: every key");
        assertTrue(all.canRead("u", b("zzz"), NO_END));
    }

    @Test
    void aTransactionNeedsReadOnItsComparesAndEachOperationOfBothBranches() {
        AuthStore s = withApp();
        TxnOp.Put put = new TxnOp.Put(b("app/k"), b("v"), false);
        Compare compare = Compare.value(b("app/k"), Compare.Result.EQUAL, b("v"));
        assertTrue(s.permitsTxn("app", new TxnRequest(List.of(compare), List.of(put), List.of(new TxnOp.Range(RangeRequest.key(b("config")))))));
        assertFalse(s.permitsTxn("app", new TxnRequest(List.of(), List.of(put), List.of(new TxnOp.Put(b("x"), b("v"), false)))),
                "the failure branch writes outside, whether or not it would run");
        assertFalse(s.permitsTxn("app", new TxnRequest(List.of(Compare.value(b("secret"), Compare.Result.EQUAL, b("v"))),
                List.of(put), List.of())), "a compare reads its key");
        assertFalse(s.permitsTxn("app", new TxnRequest(List.of(), List.of(new TxnOp.DeleteRange(b("app/"), RangeRequest.FROM_KEY, false)), List.of())));
    }

    @Test
    void authCanBeEnabledOnlyWithARootUserHoldingTheRootRole() {
        KvException noRoot = refused(AuthStore.EMPTY, new AuthRequest.Enable());
        assertEquals("root user does not exist", noRoot.getMessage());
        AuthStore rootWithoutRole = apply(AuthStore.EMPTY, new AuthRequest.UserAdd("root", ""));
        assertEquals("root user does not have root role", refused(rootWithoutRole, new AuthRequest.Enable()).getMessage());
        // As etcd, the role root may be granted without a role of that name.
        AuthStore enabled = apply(rootWithoutRole, new AuthRequest.UserGrantRole("root", "root"), new AuthRequest.Enable());
        assertTrue(enabled.enabled());
        assertSame(enabled, apply(enabled, new AuthRequest.Enable()), "enabling twice changes nothing");
        assertFalse(apply(enabled, new AuthRequest.Disable()).enabled());
    }

    @Test
    void whileEnabledRootCannotLoseItsPower() {
        AuthStore s = withApp();
        assertTrue(refused(s, new AuthRequest.UserDelete("root")).getMessage().startsWith("invalid auth management"));
        assertTrue(refused(s, new AuthRequest.UserRevokeRole("root", "root")).getMessage().startsWith("invalid auth management"));
        assertTrue(refused(s, new AuthRequest.RoleDelete("root")).getMessage().startsWith("invalid auth management"));
        AuthStore disabled = apply(s, new AuthRequest.Disable(), new AuthRequest.UserRevokeRole("root", "root"));
        assertFalse(disabled.isRoot("root"));
    }

    @Test
    void changesFollowEtcd() {
        AuthStore s = withApp();
        long revision = s.revision();
        assertEquals("user name already exists", refused(s, new AuthRequest.UserAdd("app", "")).getMessage());
        assertEquals("user name not found", refused(s, new AuthRequest.UserDelete("nobody")).getMessage());
        assertEquals("role name not found", refused(s, new AuthRequest.UserGrantRole("app", "nothing")).getMessage());
        assertEquals("role is not granted to the user", refused(s, new AuthRequest.UserRevokeRole("app", "root")).getMessage());
        assertEquals("role name already exists", refused(s, new AuthRequest.RoleAdd("app-rw")).getMessage());
        assertEquals("permission is not granted to the role", refused(s, new AuthRequest.RoleRevokePermission("app-rw", b("zzz"), NO_END)).getMessage());
        assertEquals(ErrorCode.BAD_REQUEST, refused(s, new AuthRequest.RoleAdd("")).code());
        assertSame(s, apply(s, new AuthRequest.UserGrantRole("app", "app-rw")), "a role granted twice changes nothing");

        AuthStore readOnly = apply(s, new AuthRequest.RoleGrantPermission("app-rw",
                new Permission(Permission.Type.READ, b("app/"), RangeRequest.prefixEnd(b("app/")))));
        assertEquals(revision + 1, readOnly.revision());
        assertEquals(2, readOnly.role("app-rw").permissions().size(), "a grant on the same keys replaces the type");
        assertFalse(readOnly.canWrite("app", b("app/x"), NO_END));
        assertTrue(s.canWrite("app", b("app/x"), NO_END), "the store before the change is unchanged");

        AuthStore noRole = apply(s, new AuthRequest.RoleDelete("app-rw"));
        assertEquals(List.of(), noRole.user("app").roles(), "a deleted role leaves its users");
        assertFalse(noRole.canRead("app", b("app/x"), NO_END));
    }

    @Test
    void aUserMayReadItselfItsRolesAndChangeItsOwnPasswordOnly() {
        AuthStore s = withApp();
        assertTrue(s.permitsAuth("app", new AuthRequest.UserGet("app")));
        assertTrue(s.permitsAuth("app", new AuthRequest.RoleGet("app-rw")));
        assertTrue(s.permitsAuth("app", new AuthRequest.UserChangePassword("app", "")));
        assertFalse(s.permitsAuth("app", new AuthRequest.UserGet("root")));
        assertFalse(s.permitsAuth("app", new AuthRequest.RoleGet("root")));
        assertFalse(s.permitsAuth("app", new AuthRequest.UserChangePassword("root", "")));
        assertFalse(s.permitsAuth("app", new AuthRequest.UserList()));
        assertFalse(s.permitsAuth("app", new AuthRequest.Disable()));
        assertTrue(s.permitsAuth("root", new AuthRequest.Disable()));
    }

    @Test
    void aPasswordHashChecksOnlyItsPassword() {
        PasswordHash h = PasswordHash.of("s3cret", new java.security.SecureRandom());
        assertTrue(h.matches("s3cret"));
        assertFalse(h.matches("s3creT"));
        assertFalse(h.matches(""));
        assertEquals(PasswordHash.ITERATIONS, h.iterations());
        assertNotEquals(h, PasswordHash.of("s3cret", new java.security.SecureRandom()), "each hash has its own salt");
        assertFalse(h.toString().contains("s3cret"));
    }
}
