package io.raftkv.server;

import io.raftkv.kv.AuthStore;
import io.raftkv.kv.Leases;
import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.Frames;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The checks a request passes before it reaches the core, so that nothing malformed is ever proposed: keys and
 * values within their limits, ranges whose end is after their key, transactions within {@code txnOpsMax} that
 * write no key twice (etcd's rule), lease grants with a TTL in [0, {@link Leases#TTL_SECONDS_MAX}] and an id not negative,
 * auth requests with names, passwords and permission keys within theirs. A refused request changes nothing.
 */
final class RequestChecks {

    /** Why a request is refused: an {@link ErrorCode} and a message for the client. */
    record Problem(int code, String message) { }

    private RequestChecks() {
    }

    /** The problem with {@code r}, or null when it may go ahead. */
    static Problem check(ClientRequest r, ClientRequests.Limits limits) {
        if (r instanceof ClientRequest.Put p) return orElse(key(p.key(), limits), () -> value(p.value(), limits));
        if (r instanceof ClientRequest.Delete d) return key(d.key(), limits);
        if (r instanceof ClientRequest.Get g) return key(g.key(), limits);
        if (r instanceof ClientRequest.Range range) return range(range.request(), limits);
        if (r instanceof ClientRequest.Txn t) return txn(t.request(), limits);
        if (r instanceof ClientRequest.LeaseGrant g) {
            if (g.leaseId() < 0) return new Problem(ErrorCode.BAD_REQUEST, "lease id " + g.leaseId() + " is negative (0: the leader picks one)");
            if (g.ttlSeconds() < 0) return new Problem(ErrorCode.BAD_REQUEST, "lease TTL " + g.ttlSeconds() + " s is negative");
            if (g.ttlSeconds() > Leases.TTL_SECONDS_MAX) {
                return new Problem(ErrorCode.BAD_REQUEST, "too large lease TTL: " + g.ttlSeconds() + " s is over the limit of " + Leases.TTL_SECONDS_MAX + " s");
            }
            return null;
        }
        if (r instanceof ClientRequest.Compact c) {
            return c.revision() < 1 ? new Problem(ErrorCode.BAD_REQUEST, "compaction revision " + c.revision() + " must be at least 1") : null;
        }
        if (r instanceof ClientRequest.Auth a) return auth(a.request(), limits);
        return null;
    }

    /** Names, passwords and permission keys within their limits; an unknown user at AUTHENTICATE is the store's to say. */
    private static Problem auth(AuthRequest r, ClientRequests.Limits limits) {
        if (r instanceof AuthRequest.Authenticate a) return password(a.password(), false);
        if (r instanceof AuthRequest.UserAdd a) return orElse(name(a.name(), "user"), () -> password(a.password(), true));
        if (r instanceof AuthRequest.UserChangePassword p) return orElse(name(p.name(), "user"), () -> password(p.password(), true));
        if (r instanceof AuthRequest.UserDelete d) return name(d.name(), "user");
        if (r instanceof AuthRequest.UserGet g) return name(g.name(), "user");
        if (r instanceof AuthRequest.UserGrantRole g) return orElse(name(g.user(), "user"), () -> name(g.role(), "role"));
        if (r instanceof AuthRequest.UserRevokeRole g) return orElse(name(g.user(), "user"), () -> name(g.role(), "role"));
        if (r instanceof AuthRequest.RoleAdd a) return name(a.name(), "role");
        if (r instanceof AuthRequest.RoleDelete d) return name(d.name(), "role");
        if (r instanceof AuthRequest.RoleGet g) return name(g.name(), "role");
        if (r instanceof AuthRequest.RoleGrantPermission g) {
            return orElse(name(g.role(), "role"), () -> permission(g.permission().key(), g.permission().rangeEnd(), limits));
        }
        if (r instanceof AuthRequest.RoleRevokePermission v) return orElse(name(v.role(), "role"), () -> permission(v.key(), v.rangeEnd(), limits));
        return null;
    }

    private static Problem name(String name, String what) {
        String problem = AuthStore.nameProblem(name, what);
        return problem == null ? null : new Problem(ErrorCode.BAD_REQUEST, problem);
    }

    private static Problem password(String password, boolean setting) {
        int bytes = password.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > AuthRequests.PASSWORD_BYTES_MAX) return tooLarge("password", bytes, AuthRequests.PASSWORD_BYTES_MAX);
        return setting && password.isEmpty() ? new Problem(ErrorCode.BAD_REQUEST, "password is empty") : null;
    }

    private static Problem permission(byte[] key, byte[] rangeEnd, ClientRequests.Limits limits) {
        if (key.length > limits.keyBytesMax()) return tooLarge("key", key.length, limits.keyBytesMax());
        if (rangeEnd.length > limits.keyBytesMax()) return tooLarge("range end", rangeEnd.length, limits.keyBytesMax());
        String problem = AuthStore.permissionProblem(key, rangeEnd);
        return problem == null ? null : new Problem(ErrorCode.BAD_REQUEST, problem);
    }

    private static Problem orElse(Problem first, Supplier<Problem> next) {
        return first != null ? first : next.get();
    }

    private static Problem key(byte[] key, ClientRequests.Limits limits) {
        if (key.length == 0) return new Problem(ErrorCode.BAD_REQUEST, "the key is empty");
        if (key.length > limits.keyBytesMax()) return tooLarge("key", key.length, limits.keyBytesMax());
        return null;
    }

    private static Problem value(byte[] value, ClientRequests.Limits limits) {
        return value.length > limits.valueBytesMax() ? tooLarge("value", value.length, limits.valueBytesMax()) : null;
    }

    private static Problem tooLarge(String what, int bytes, int max) {
        return new Problem(ErrorCode.TOO_LARGE, what + " of " + bytes + " bytes is over the limit of " + max);
    }

    /**
     * A key and an optional range end by etcd's conventions. An end before the key is refused (etcd answers it with
     * nothing; the issue asked for a clear error); an end equal to the key names no key, as in etcd.
     */
    private static Problem keyRange(byte[] key, byte[] rangeEnd, ClientRequests.Limits limits) {
        Problem p = key(key, limits);
        if (p != null) return p;
        if (rangeEnd.length > limits.keyBytesMax()) return tooLarge("range end", rangeEnd.length, limits.keyBytesMax());
        boolean fromKey = rangeEnd.length == 1 && rangeEnd[0] == 0;
        if (rangeEnd.length > 0 && !fromKey && Arrays.compareUnsigned(rangeEnd, key) < 0) {
            return new Problem(ErrorCode.BAD_REQUEST, "the range end " + Frames.printable(rangeEnd) + " is before the key " + Frames.printable(key));
        }
        return null;
    }

    /** As in etcd, a limit or revision of 0 or less means none: every key, the current revision. */
    private static Problem range(RangeRequest r, ClientRequests.Limits limits) {
        return keyRange(r.key(), r.rangeEnd(), limits);
    }

    private static Problem txn(TxnRequest t, ClientRequests.Limits limits) {
        if (t.size() > limits.txnOpsMax()) {
            return new Problem(ErrorCode.TOO_LARGE, "a transaction with " + t.size() + " compares or operations in one list is over the limit of "
                    + limits.txnOpsMax());
        }
        for (Compare c : t.compares()) {
            Problem p = keyRange(c.key(), c.rangeEnd(), limits);
            if (p != null) return p;
            if (c.target() == Compare.Target.VALUE) {
                p = value(c.value(), limits);
                if (p != null) return p;
            }
        }
        return orElse(branch(t.success(), limits), () -> branch(t.failure(), limits));
    }

    private static Problem branch(List<TxnOp> ops, ClientRequests.Limits limits) {
        Set<ByteBuffer> putKeys = new HashSet<>();
        for (TxnOp op : ops) {
            Problem p = null;
            if (op instanceof TxnOp.Range r) p = range(r.request(), limits);
            else if (op instanceof TxnOp.Put put) {
                p = orElse(key(put.key(), limits), () -> value(put.value(), limits));
                if (p == null && !putKeys.add(ByteBuffer.wrap(put.key()))) p = duplicate(put.key());
            } else if (op instanceof TxnOp.DeleteRange d) p = keyRange(d.key(), d.rangeEnd(), limits);
            if (p != null) return p;
        }
        // A put inside a range the same branch deletes writes that key twice as well.
        for (TxnOp op : ops) {
            if (!(op instanceof TxnOp.DeleteRange d)) continue;
            for (ByteBuffer k : putKeys) {
                byte[] key = k.array();
                if (inRange(key, d.key(), d.rangeEnd())) return duplicate(key);
            }
        }
        return null;
    }

    private static boolean inRange(byte[] key, byte[] start, byte[] end) {
        if (end.length == 0) return Arrays.equals(key, start);
        boolean fromKey = end.length == 1 && end[0] == 0;
        return Arrays.compareUnsigned(key, start) >= 0 && (fromKey || Arrays.compareUnsigned(key, end) < 0);
    }

    private static Problem duplicate(byte[] key) {
        return new Problem(ErrorCode.BAD_REQUEST, "duplicate key given in txn request: " + Frames.printable(key) + " is written twice");
    }
}
