package io.raftkv.client;

import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.Permission;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.WatchRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Authentication and authorisation on three node processes (docs/auth.md): after auth enable, a user whose role has
 * readwrite on the prefix app/ reads and writes under it and nothing else, root does anything, a wrong password and an
 * unauthenticated connection are refused, a client fails over to another node as its user, a revoked role and a changed
 * password take effect, auth disable opens everything again; a node that installs a snapshot holds the users and roles.
 */
class AuthClusterTest {

    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private LocalCluster cluster;

    @AfterEach
    void stopCluster() throws Exception {
        if (cluster != null) cluster.close();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static RaftKvException refused(int code, Runnable call) {
        RaftKvException e = assertThrows(RaftKvException.class, call::run);
        assertEquals(RaftKvException.Kind.REJECTED, e.kind(), e.getMessage());
        assertEquals(code, e.errorCode(), e.getMessage());
        return e;
    }

    /** root (role root) and app (role app-rw: readwrite on app/), then auth enabled; through {@code open}, before auth. */
    private static void setUpUsers(RaftKvClient open) {
        Auth auth = open.auth();
        auth.userAdd("root", "rootpw");
        auth.roleAdd("root");
        auth.userGrantRole("root", "root");
        auth.userAdd("app", "apppw");
        auth.roleAdd("app-rw");
        auth.roleGrantPrefix("app-rw", Permission.Type.READWRITE, b("app/"));
        auth.userGrantRole("app", "app-rw");
        auth.enable();
    }

    @Test
    @DisplayName("a user with readwrite on app/ is confined to it, root may do anything, auth disable opens everything again")
    void aPrefixRoleConfinesItsUser() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        try (RaftKvClient open = cluster.client()) {
            int leader = cluster.awaitLeader(open, DEADLINE);
            open.put("outside", "before");
            setUpUsers(open);
            assertTrue(open.authStatusAsync().get().enabled(), "anyone may ask whether auth is on");
            RaftKvException anonymous = refused(ErrorCode.AUTH_REQUIRED, () -> open.put("app/x", "1"));
            assertTrue(anonymous.getMessage().contains("user name is empty"), anonymous.getMessage());
            refused(ErrorCode.AUTH_REQUIRED, () -> open.get("app/x"));

            try (RaftKvClient wrong = cluster.client()) {
                RaftKvException e = refused(ErrorCode.AUTH_FAILED, () -> wrong.authenticate("app", "nope"));
                assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
                refused(ErrorCode.AUTH_FAILED, () -> wrong.authenticate("nobody", "apppw"));
            }

            try (RaftKvClient app = cluster.client().authenticate("app", "apppw");
                 RaftKvClient root = cluster.client().authenticate("root", "rootpw")) {
                app.put("app/a", "1");
                assertEquals("1", app.get("app/a"));
                assertEquals(1, app.range(RangeRequest.prefix(b("app/"))).kvs().size());

                long revision = root.range(RangeRequest.key(b("outside"))).header().revision();
                RaftKvException denied = refused(ErrorCode.PERMISSION_DENIED, () -> app.put("outside", "changed"));
                assertTrue(denied.getMessage().contains("permission denied"), denied.getMessage());
                refused(ErrorCode.PERMISSION_DENIED, () -> app.get("outside"));
                refused(ErrorCode.PERMISSION_DENIED, () -> app.put("app0", "just past the prefix"));
                refused(ErrorCode.PERMISSION_DENIED, () -> app.range(RangeRequest.prefix(b("ap"))));
                refused(ErrorCode.PERMISSION_DENIED, () -> app.txn(new TxnRequest(List.of(),
                        List.of(new TxnOp.Put(b("app/b"), b("1"), false), new TxnOp.Put(b("outside"), b("2"), false)), List.of())));
                refused(ErrorCode.PERMISSION_DENIED, () -> app.deleteRange(b("a"), b("b"), false));
                refused(ErrorCode.PERMISSION_DENIED, () -> app.compact(1));
                refused(ErrorCode.PERMISSION_DENIED, () -> app.auth().userList());
                refused(ErrorCode.PERMISSION_DENIED, () -> app.auth().disable());
                assertEquals(List.of("app-rw"), app.auth().userGet("app"), "a user reads itself");
                assertEquals("before", root.get("outside"), "nothing the refused requests asked was written");
                assertEquals(null, root.get("app/b"));
                assertEquals(null, root.get("app0"));
                assertEquals(revision, root.range(RangeRequest.key(b("outside"))).header().revision(), "no refused write made a revision");

                CompletableFuture<String> canceled = new CompletableFuture<>();
                app.watch(WatchRequest.key(0, b("outside")), new WatchListener() {
                    @Override
                    public void onEvents(WatchResponse response) {
                        canceled.completeExceptionally(new AssertionError("events outside app/: " + response));
                    }

                    @Override
                    public void onCanceled(long compactRevision, String reason) {
                        canceled.complete(reason);
                    }
                });
                String reason = canceled.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
                assertTrue(reason.contains("PERMISSION_DENIED"), reason);

                root.put("outside", "by root");
                root.put("app/a", "2");
                assertEquals("2", root.get("app/a"));
                assertEquals(List.of("app", "root"), root.auth().userList());

                // The leader goes: app's client takes another node, authenticating there by itself. A read first: a write
                // sent to the killed node before the client has seen its connection close has an unknown outcome, which
                // the client reports rather than retries (seen twice in ~35 runs), while a read is retried elsewhere.
                cluster.kill(leader);
                assertEquals("2", app.get("app/a"));
                app.put("app/c", "after failover");
                assertEquals("after failover", app.get("app/c"));
                cluster.start(leader);

                root.auth().userRevokeRole("app", "app-rw");
                refused(ErrorCode.PERMISSION_DENIED, () -> app.put("app/d", "1"));
                root.auth().userGrantRole("app", "app-rw");
                app.put("app/d", "1");

                root.auth().userChangePassword("app", "newpw");
                refused(ErrorCode.AUTH_FAILED, () -> app.get("app/d"));
                try (RaftKvClient again = cluster.client().authenticate("app", "newpw")) {
                    assertEquals("1", again.get("app/d"));
                }

                root.auth().disable();
                assertFalse(open.authStatusAsync().get().enabled());
            }
            open.put("outside", "open again");
            assertEquals("open again", open.get("outside"));
            try (RaftKvClient stale = cluster.client().authenticate("app", "whatever")) {
                assertEquals("open again", stale.get("outside"), "with auth disabled, credentials are not checked, as etcd's client");
            }
        }
    }

    @Test
    @DisplayName("a node that was down while users and roles were made learns them from the leader's snapshot, and enforces them")
    void usersAndRolesReachANodeBySnapshot() throws Exception {
        cluster = new LocalCluster(dir, 3);
        cluster.jvmOptions.addAll(List.of("-Draftkv.snapshotEntries=50", "-Draftkv.snapshotCatchUpEntries=10"));
        cluster.startAll();
        try (RaftKvClient open = cluster.client()) {
            int leader = cluster.awaitLeader(open, DEADLINE);
            int behind = leader % 3 + 1;
            open.put("app/x", "0");
            cluster.kill(behind);
            setUpUsers(open);
            try (RaftKvClient root = cluster.client().authenticate("root", "rootpw")) {
                for (int i = 0; i < 150; i++) root.put("app/x", Integer.toString(i));
            }
            cluster.start(behind);
            try (RaftKvClient app = LocalCluster.await(DEADLINE, "node " + behind + " to authenticate app", () -> {
                RaftKvClient c = new RaftKvClient(List.of(cluster.address(behind)), Duration.ofSeconds(2));
                try {
                    return c.authenticate("app", "apppw");
                } catch (RaftKvException e) {
                    c.close();
                    return null; // not up yet, or auth not there yet
                }
            })) {
                String value = LocalCluster.await(DEADLINE, "node " + behind + " to serve app/x", () -> {
                    try {
                        Optional<byte[]> v = app.get(b("app/x"), true);
                        return v.map(x -> new String(x, StandardCharsets.UTF_8)).filter("149"::equals).orElse(null);
                    } catch (RaftKvException e) {
                        return null;
                    }
                });
                assertEquals("149", value);
                refused(ErrorCode.PERMISSION_DENIED, () -> app.get(b("outside"), true));
                assertEquals(List.of("app-rw"), app.auth().userGet("app"));
            }
            assertTrue(cluster.log(behind).contains("installed snapshot"), "node " + behind + " caught up through a snapshot:\n" + cluster.log(behind));
        }
    }
}
