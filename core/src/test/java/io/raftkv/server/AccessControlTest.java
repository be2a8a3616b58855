package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.kv.PasswordHash;
import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.Permission;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.WatchRequest;
import io.raftkv.raft.Entry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which requests a connection may send, by its user, once auth is enabled (docs/auth.md). */
class AccessControlTest {

    private static final PasswordHash HASH = new PasswordHash(new byte[16], 1, new byte[32]);

    private final KvStateMachine kv = new KvStateMachine();
    private final AccessControl access = new AccessControl(kv);
    private final AccessControl.Identity app = new AccessControl.Identity("app", HASH);
    private final AccessControl.Identity root = new AccessControl.Identity("root", HASH);

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private void apply(AuthRequest... changes) {
        for (AuthRequest r : changes) {
            boolean setsPassword = r instanceof AuthRequest.UserAdd || r instanceof AuthRequest.UserChangePassword;
            KvCommand change = new KvCommand.Auth(r, setsPassword ? HASH : null);
            // Once enabled, only root changes the store.
            if (kv.auth().enabled()) change = new KvCommand.AsUser("root", change);
            ApplyResult result = kv.apply(new Entry(1, kv.appliedIndex() + 1, change.encode()));
            assertInstanceOf(ApplyResult.Done.class, result, r.toString());
        }
    }

    private void enable() {
        apply(new AuthRequest.UserAdd("root", ""), new AuthRequest.UserGrantRole("root", "root"), new AuthRequest.UserAdd("app", ""),
                new AuthRequest.RoleAdd("app-rw"),
                new AuthRequest.RoleGrantPermission("app-rw", new Permission(Permission.Type.READWRITE, b("app/"), RangeRequest.prefixEnd(b("app/")))),
                new AuthRequest.UserGrantRole("app", "app-rw"), new AuthRequest.Enable());
    }

    /** The refusal's code when {@code r} arrives (0: none). */
    private int code(AccessControl.Identity who, ClientRequest r) {
        ClientResponse.Error e = access.refusal(who, r);
        return e == null ? 0 : e.code();
    }

    /** The refusal's code when a read is served. */
    private int served(AccessControl.Identity who, ClientRequest r) {
        ClientResponse.Error e = access.servingRefusal(who, r);
        return e == null ? 0 : e.code();
    }

    @Test
    void whileDisabledEverythingIsAllowedToAnyone() {
        apply(new AuthRequest.UserAdd("app", ""));
        assertNull(access.refusal(null, new ClientRequest.Put(1, b("x"), b("1"))));
        assertNull(access.refusal(null, new ClientRequest.Compact(1, 5)));
        assertNull(access.backupRefusal(null, 1));
    }

    @Test
    void anUnauthenticatedConnectionMayOnlyFindTheClusterAndAuthenticate() {
        enable();
        assertEquals(0, code(null, new ClientRequest.Status(1)));
        assertEquals(0, code(null, new ClientRequest.MemberList(1)));
        assertEquals(0, code(null, new ClientRequest.Auth(1, new AuthRequest.Authenticate("app", "x"))));
        assertEquals(0, code(null, new ClientRequest.Auth(1, new AuthRequest.Status())));
        ClientResponse.Error e = access.refusal(null, new ClientRequest.Get(1, b("app/a"), false));
        assertEquals(ErrorCode.AUTH_REQUIRED, e.code());
        assertTrue(e.message().startsWith("user name is empty"), e.message());
        assertEquals(ErrorCode.AUTH_REQUIRED, access.backupRefusal(null, 1).code());
    }

    @Test
    void readsAreCheckedWhenServedAndWritesWhenAppliedNotWhenTheyArrive() {
        enable();
        // A node that has not applied a grant yet must not refuse what the grant allows: the check waits for a newer store.
        assertEquals(0, code(app, new ClientRequest.Get(1, b("other"), false)));
        assertEquals(0, code(app, new ClientRequest.Put(1, b("other"), b("1"))), "KvStateMachine checks it when applied");
        assertEquals(ErrorCode.AUTH_REQUIRED, code(null, new ClientRequest.Put(1, b("app/a"), b("1"))), "but not without a user");
        assertEquals(0, served(app, new ClientRequest.Get(1, b("app/a"), false)));
        assertEquals(0, served(app, new ClientRequest.Range(1, RangeRequest.prefix(b("app/")))));
        assertEquals(ErrorCode.PERMISSION_DENIED, served(app, new ClientRequest.Range(1, RangeRequest.prefix(b("ap")))));
        assertEquals(ErrorCode.PERMISSION_DENIED, served(app, new ClientRequest.Get(1, b("other"), true)));
        assertEquals(ErrorCode.PERMISSION_DENIED, served(app, new ClientRequest.Auth(1, new AuthRequest.UserList())));
        assertEquals(0, served(app, new ClientRequest.Auth(1, new AuthRequest.UserGet("app"))), "a user reads itself");
    }

    @Test
    void requestsThatTakeEffectAtOnceNeedTheirPermissionsWhenTheyArrive() {
        enable();
        assertEquals(0, code(app, new ClientRequest.WatchCreate(1, WatchRequest.prefix(1, b("app/")))));
        assertEquals(ErrorCode.PERMISSION_DENIED, code(app, new ClientRequest.WatchCreate(1, WatchRequest.key(1, b("other")))));
        assertEquals(0, code(app, new ClientRequest.LeaseGrant(1, 0, 10)), "any user may hold leases");
        assertEquals(0, code(app, new ClientRequest.LeaseRevoke(1, 7)), "a revoke is checked against the lease's keys when applied");
        for (ClientRequest adminOnly : List.of(new ClientRequest.Compact(1, 2), new ClientRequest.MemberAdd(1, 4, "127.0.0.1:1", true),
                new ClientRequest.MemberRemove(1, 2), new ClientRequest.MoveLeader(1, 2), new ClientRequest.Auth(1, new AuthRequest.UserAdd("x", "y")),
                new ClientRequest.Auth(1, new AuthRequest.Disable()))) {
            assertEquals(ErrorCode.PERMISSION_DENIED, code(app, adminOnly), adminOnly.toString());
            assertEquals(0, code(root, adminOnly), adminOnly.toString());
        }
        assertEquals(ErrorCode.PERMISSION_DENIED, access.backupRefusal(app, 1).code());
        assertNull(access.backupRefusal(root, 1));
    }

    @Test
    void aConnectionWhoseUserChangedItsPasswordOrWasDeletedMustAuthenticateAgain() {
        enable();
        apply(new AuthRequest.UserChangePassword("app", ""));
        // The hash is the same object's equal here: a new salt is what a real change brings.
        PasswordHash other = new PasswordHash(new byte[16], 2, new byte[32]);
        ClientResponse.Error stale = access.refusal(new AccessControl.Identity("app", other), new ClientRequest.Get(1, b("app/a"), false));
        assertEquals(ErrorCode.AUTH_REQUIRED, stale.code());
        assertTrue(stale.message().startsWith("invalid auth token"), stale.message());
        apply(new AuthRequest.UserDelete("app"));
        assertEquals(ErrorCode.AUTH_REQUIRED, code(app, new ClientRequest.Get(1, b("app/a"), false)));
    }
}
