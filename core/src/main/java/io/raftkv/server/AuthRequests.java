package io.raftkv.server;

import io.raftkv.kv.AuthStore;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.kv.PasswordHash;
import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.ResponseHeader;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The AUTH requests of clients (etcd's Auth API), beside {@link ClientRequests}, on the loop thread. The slow hash
 * (PBKDF2, tens of milliseconds) never runs there: AUTHENTICATE waits for a read index (so that it sees every user and
 * password change committed before it, on any node), then checks the password on a hashing thread of its own, and the
 * result comes back to the loop, which sets the connection's user if that user's password is still the one checked;
 * a user add or a password change is hashed there too, then proposed (the log holds the hash, never the password).
 * Other changes are proposed at once, and reads wait for a read index, through the request table. The hashing thread
 * takes at most {@link #HASHES_PENDING_MAX} jobs waiting; past them a request gets OVERLOADED. One thread, so that a
 * burst of authentications takes one core at most and the loop keeps the other.
 */
final class AuthRequests {

    static final int HASHES_PENDING_MAX = 64;
    /** A password longer than this is refused before anything is hashed. */
    static final int PASSWORD_BYTES_MAX = 1024;
    private static final long HASHER_IDLE_MS = 1_000;

    private final ClientRequests requests;
    private final KvStateMachine kv;
    /** Runs a task on the loop thread, from any thread; drops it once the loop is stopped. */
    private final Executor loop;
    private final ThreadPoolExecutor hasher;
    private final SecureRandom random = new SecureRandom();
    /** Checked against when the user does not exist, so that an unknown name takes as long as a wrong password. */
    private final PasswordHash decoy;

    AuthRequests(ClientRequests requests, KvStateMachine kv, Executor loop) {
        this.requests = requests;
        this.kv = kv;
        this.loop = loop;
        // The thread ends when idle, so a stopped node leaves none behind.
        this.hasher = new ThreadPoolExecutor(1, 1, HASHER_IDLE_MS, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(HASHES_PENDING_MAX), r -> {
            Thread t = new Thread(r, "raftkv-auth-hash");
            t.setDaemon(true);
            return t;
        });
        hasher.allowCoreThreadTimeOut(true);
        byte[] salt = new byte[PasswordHash.SALT_BYTES];
        random.nextBytes(salt);
        this.decoy = new PasswordHash(salt, PasswordHash.ITERATIONS, new byte[PasswordHash.HASH_BYTES]);
    }

    void handle(ClientRequests.Channel c, ClientRequest.Auth auth) {
        long id = auth.requestId();
        AuthRequest r = auth.request();
        if (r.reads() || r instanceof AuthRequest.Authenticate) {
            requests.readIndex(c, auth);
        } else if (r instanceof AuthRequest.UserAdd || r instanceof AuthRequest.UserChangePassword) {
            // Only the leader proposes: a follower says so before it spends a hash.
            ClientResponse notLeader = requests.notLeaderNow(id);
            if (notLeader != null) {
                c.reply(notLeader);
                return;
            }
            String password = r instanceof AuthRequest.UserAdd a ? a.password() : ((AuthRequest.UserChangePassword) r).password();
            AuthRequest withoutPassword = r instanceof AuthRequest.UserAdd a ? new AuthRequest.UserAdd(a.name(), "")
                    : new AuthRequest.UserChangePassword(((AuthRequest.UserChangePassword) r).name(), "");
            hash(c, id, () -> {
                PasswordHash hash = PasswordHash.of(password, random);
                return () -> requests.propose(c, id, new KvCommand.Auth(withoutPassword, hash));
            });
        } else {
            requests.propose(c, id, new KvCommand.Auth(r, null));
        }
    }

    /**
     * AUTHENTICATE, once its read index is applied: refused at once while auth is disabled (etcd's "authentication is not
     * enabled"; the client goes on without a user, as etcd's does), else checked off the loop. The user's store entry may
     * change meanwhile: the answer takes only the password that is still the user's.
     */
    private void authenticate(ClientRequests.Channel c, long id, AuthRequest.Authenticate a) {
        AuthStore auth = kv.auth();
        if (!auth.enabled()) {
            c.reply(new ClientResponse.Error(id, ErrorCode.AUTH_NOT_ENABLED, "authentication is not enabled"));
            return;
        }
        AuthStore.User user = auth.user(a.name());
        PasswordHash stored = user == null ? decoy : user.password();
        hash(c, id, () -> {
            boolean matches = user != null && stored.matches(a.password());
            return () -> {
                AuthStore.User now = kv.auth().user(a.name());
                if (matches && now != null && now.password().equals(stored)) {
                    c.identify(new AccessControl.Identity(a.name(), stored));
                    c.reply(new ClientResponse.Ok(id, requests.header()));
                } else {
                    c.reply(new ClientResponse.Error(id, ErrorCode.AUTH_FAILED, "authentication failed, invalid user ID or password"));
                }
            };
        });
    }

    /** Work for the hashing thread that returns what the loop does with its result. */
    private interface HashJob {
        Runnable run();
    }

    private void hash(ClientRequests.Channel c, long id, HashJob job) {
        try {
            hasher.execute(() -> loop.execute(job.run()));
        } catch (RejectedExecutionException e) {
            c.reply(new ClientResponse.Error(id, ErrorCode.OVERLOADED, HASHES_PENDING_MAX + " password checks already waiting; retry later"));
        }
    }

    /**
     * Serves an auth read once its read index is applied, from the auth store as applied now; starts the password check
     * of an AUTHENTICATE, whose answer comes later: null then.
     */
    ClientResponse answer(ClientRequests.Channel c, ClientRequest.Auth r, ResponseHeader h, long resultBytesMax) {
        AuthStore auth = kv.auth();
        long id = r.requestId();
        AuthRequest q = r.request();
        if (q instanceof AuthRequest.Authenticate a) {
            authenticate(c, id, a);
            return null;
        }
        if (q instanceof AuthRequest.Status) return new ClientResponse.AuthStatus(id, h, auth.enabled(), auth.revision());
        ClientResponse answer;
        if (q instanceof AuthRequest.UserList) {
            List<String> names = new ArrayList<>();
            for (AuthStore.User u : auth.users()) names.add(u.name());
            answer = new ClientResponse.Names(id, h, names);
        } else if (q instanceof AuthRequest.RoleList) {
            List<String> names = new ArrayList<>();
            for (AuthStore.Role role : auth.roles()) names.add(role.name());
            answer = new ClientResponse.Names(id, h, names);
        } else if (q instanceof AuthRequest.UserGet g) {
            AuthStore.User u = auth.user(g.name());
            if (u == null) return new ClientResponse.Error(id, ErrorCode.BAD_REQUEST, "user name not found");
            answer = new ClientResponse.Names(id, h, u.roles());
        } else {
            AuthStore.Role role = auth.role(((AuthRequest.RoleGet) q).name());
            if (role == null) return new ClientResponse.Error(id, ErrorCode.BAD_REQUEST, "role name not found");
            answer = new ClientResponse.Permissions(id, h, role.permissions());
        }
        long bytes = answer instanceof ClientResponse.Names n ? ClientCodec.namesFrameBytes(n.names())
                : ClientCodec.permissionsFrameBytes(((ClientResponse.Permissions) answer).permissions());
        if (bytes > resultBytesMax) {
            return new ClientResponse.Error(id, ErrorCode.TOO_LARGE, "the answer takes " + bytes + " bytes, over the limit of " + resultBytesMax);
        }
        return answer;
    }
}
