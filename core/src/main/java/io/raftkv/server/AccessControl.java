package io.raftkv.server;

import io.raftkv.kv.AuthStore;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.kv.Leases;
import io.raftkv.kv.PasswordHash;
import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.WatchRequest;

/**
 * Whether a client may ask what it asks, once auth is enabled (docs/auth.md): etcd's rules, from the auth store as this
 * node applied it. While auth is disabled the answer is one boolean away. When a request arrives, its connection must
 * have authenticated; its permission is checked then too, except where it takes effect later against a newer store: a
 * read ({@code GET}, {@code RANGE}, an auth read) when it is served ({@link #servingRefusal}), after its read index, and a
 * write ({@code PUT}, {@code DELETE}, {@code TXN}) when it is applied ({@link KvStateMachine}), so that a revoked
 * permission takes effect at one place in the log everywhere, and a grant a client was told of is never refused by a
 * node that has not applied it yet.
 */
final class AccessControl {

    /** Who a connection authenticated as: the user, and the password hash it proved, so that a new password ends it. */
    record Identity(String user, PasswordHash password) { }

    private static final byte[] NO_END = new byte[0];

    private final KvStateMachine kv;

    AccessControl(KvStateMachine kv) {
        this.kv = kv;
    }

    /** The refusal of {@code r} when it arrives from a connection authenticated as {@code who} (null: not authenticated), or null. */
    ClientResponse.Error refusal(Identity who, ClientRequest r) {
        return check(who, r, true);
    }

    /** The refusal of a read when it is served, from the auth store as applied by then, or null. */
    ClientResponse.Error servingRefusal(Identity who, ClientRequest r) {
        return check(who, r, false);
    }

    private ClientResponse.Error check(Identity who, ClientRequest r, boolean arriving) {
        AuthStore auth = kv.auth();
        if (!auth.enabled()) return null;
        // Anyone may ask these: a client finds the leader and the members, and authenticates, before it has a user.
        if (r instanceof ClientRequest.Status || r instanceof ClientRequest.MemberList) return null;
        if (r instanceof ClientRequest.Auth a && (a.request() instanceof AuthRequest.Authenticate || a.request() instanceof AuthRequest.Status)) return null;
        ClientResponse.Error unknown = unauthenticated(auth, who, r.requestId());
        if (unknown != null) return unknown;
        if (arriving && checkedLater(r)) return null;
        return allowed(auth, who.user(), r) ? null : denied(r.requestId(), who.user());
    }

    /** Reads checked when served, writes when applied. */
    private static boolean checkedLater(ClientRequest r) {
        return r instanceof ClientRequest.Get || r instanceof ClientRequest.Range || r instanceof ClientRequest.Put || r instanceof ClientRequest.Delete
                || r instanceof ClientRequest.Txn || (r instanceof ClientRequest.Auth a && a.request().reads());
    }

    /** The refusal of a backup (SNAPSHOT), which only root may take, or null. */
    ClientResponse.Error backupRefusal(Identity who, long requestId) {
        AuthStore auth = kv.auth();
        if (!auth.enabled()) return null;
        ClientResponse.Error unknown = unauthenticated(auth, who, requestId);
        if (unknown != null) return unknown;
        return auth.isRoot(who.user()) ? null : denied(requestId, who.user());
    }

    /** AUTH_REQUIRED when the connection has no user, or a user that is gone or changed its password since; else null. */
    private static ClientResponse.Error unauthenticated(AuthStore auth, Identity who, long requestId) {
        if (who == null) {
            return new ClientResponse.Error(requestId, ErrorCode.AUTH_REQUIRED, "user name is empty: auth is enabled, authenticate first (raftkvctl --user NAME)");
        }
        AuthStore.User u = auth.user(who.user());
        if (u == null || !u.password().equals(who.password())) {
            return new ClientResponse.Error(requestId, ErrorCode.AUTH_REQUIRED, "invalid auth token: user " + who.user()
                    + (u == null ? " was deleted" : " changed its password") + " since this connection authenticated; authenticate again");
        }
        return null;
    }

    private static ClientResponse.Error denied(long requestId, String user) {
        return new ClientResponse.Error(requestId, ErrorCode.PERMISSION_DENIED, "permission denied to user " + user);
    }

    private boolean allowed(AuthStore auth, String user, ClientRequest r) {
        if (auth.isRoot(user)) return true;
        if (r instanceof ClientRequest.Get g) return auth.canRead(user, g.key(), NO_END);
        if (r instanceof ClientRequest.Range range) {
            RangeRequest q = range.request();
            return auth.canRead(user, q.key(), q.rangeEnd());
        }
        if (r instanceof ClientRequest.Put p) return auth.canWrite(user, p.key(), NO_END);
        if (r instanceof ClientRequest.Delete d) return auth.canWrite(user, d.key(), NO_END);
        if (r instanceof ClientRequest.Txn t) return auth.permitsTxn(user, t.request());
        if (r instanceof ClientRequest.WatchCreate w) {
            WatchRequest q = w.watch();
            return auth.canRead(user, q.key(), q.rangeEnd());
        }
        if (r instanceof ClientRequest.Auth a) return auth.permitsAuth(user, a.request());
        if (r instanceof ClientRequest.LeaseTimeToLive t && t.keys()) {
            // As etcd: a lease's keys are shown only to a user who may read each of them.
            Leases.Lease lease = kv.leases().get(t.leaseId());
            if (lease != null) for (byte[] key : lease.keys()) if (!auth.canRead(user, key, NO_END)) return false;
            return true;
        }
        // Any authenticated user may hold leases (a revoke is checked against the lease's keys when applied) and
        // cancel its watches; compaction, membership and leader transfer are root's.
        return r instanceof ClientRequest.WatchCancel || r instanceof ClientRequest.LeaseGrant || r instanceof ClientRequest.LeaseRevoke
                || r instanceof ClientRequest.LeaseKeepAlive || r instanceof ClientRequest.LeaseTimeToLive || r instanceof ClientRequest.LeaseLeases;
    }
}
