package io.raftkv.protocol;

import java.util.List;

/**
 * What a node answers; {@code requestId} repeats the request's (0 for an error about the connection itself).
 * Every answer to a key/value request carries a {@link ResponseHeader}.
 */
public sealed interface ClientResponse {

    long requestId();

    /** A PUT, DELETE or COMPACT done; the header names the revision it produced (or the current one). */
    record Ok(long requestId, ResponseHeader header) implements ClientResponse { }

    /** A GET's key, with its metadata. */
    record Value(long requestId, ResponseHeader header, KeyValue kv) implements ClientResponse {
        public byte[] value() {
            return kv.value();
        }
    }

    record NotFound(long requestId, ResponseHeader header) implements ClientResponse { }

    /** {@code count}: keys in the range at the header's revision; {@code more}: the limit left some out. */
    record RangeResult(long requestId, ResponseHeader header, List<KeyValue> kvs, boolean more, long count) implements ClientResponse {
        public RangeResult {
            kvs = List.copyOf(kvs);
        }
    }

    /** {@code succeeded}: every compare held and the success branch ran; {@code results}, one per operation of the branch that ran. */
    record TxnResult(long requestId, ResponseHeader header, boolean succeeded, List<OpResult> results) implements ClientResponse {
        public TxnResult {
            results = List.copyOf(results);
        }
    }

    /** {@code leaderId} 0 when unknown; then host is empty and port 0. */
    record NotLeader(long requestId, int leaderId, String host, int port) implements ClientResponse { }

    record Error(long requestId, int code, String message) implements ClientResponse {
        @Override
        public String toString() {
            return ErrorCode.name(code) + ": " + message;
        }
    }

    /** A node's view of itself: role is the Raft role's name (LEADER, FOLLOWER, ...); keyHash digests the map (equal maps, equal hash). */
    record StatusResult(long requestId, int nodeId, String role, long term, int leaderId, long commit, long applied,
                        long keys, long keyHash) implements ClientResponse { }

    /**
     * The answer to every member request: the configuration of the cluster {@code clusterId} as node {@code nodeId}
     * (the one answering) knows it, the log index of that configuration ({@code configIndex}: a higher one is newer),
     * the leader it knows ({@code leaderId}, 0 when unknown) and the members, ascending by id.
     */
    record Members(long requestId, long clusterId, int nodeId, int leaderId, long configIndex, List<MemberInfo> members)
            implements ClientResponse {
        public Members {
            members = List.copyOf(members);
        }

        /** The member with {@code id}, or null. */
        public MemberInfo member(int id) {
            for (MemberInfo m : members) if (m.id() == id) return m;
            return null;
        }
    }

    /**
     * Not an answer: events of watch {@code watchId}, sent as they happen, in revision order, a revision's events
     * together (sorted by key). {@code header.revision()}: every event of the watch up to it has now been sent (no events:
     * a progress notification). {@code fragment}: the last revision's events go on in the next frame, which the client
     * joins to this one before it hands them on.
     */
    record WatchEvents(long watchId, ResponseHeader header, boolean fragment, List<WatchEvent> events) implements ClientResponse {
        public WatchEvents {
            events = List.copyOf(events);
        }

        @Override
        public long requestId() {
            return 0;
        }
    }

    /**
     * Not an answer: the node closed watch {@code watchId}, saying why ({@code code}, an {@link ErrorCode}). COMPACTED:
     * the revisions the watch needs next were compacted; {@code compactRevision} is the compaction point (0 otherwise).
     */
    record WatchCanceled(long watchId, long compactRevision, int code, String reason) implements ClientResponse {
        @Override
        public long requestId() {
            return 0;
        }
    }

    /**
     * A lease granted, renewed or looked up: {@code ttlSeconds} is what is left of it (for a grant or a keepalive, the
     * whole TTL), {@code grantedTtlSeconds} the TTL it was granted with, {@code keys} its keys in key order when asked
     * for (LEASE_TIMETOLIVE with keys), else empty.
     */
    record LeaseResult(long requestId, ResponseHeader header, long leaseId, long ttlSeconds, long grantedTtlSeconds, List<byte[]> keys)
            implements ClientResponse {
        public LeaseResult {
            keys = List.copyOf(keys);
        }
    }

    /** The ids of every lease, ascending. */
    record Leases(long requestId, ResponseHeader header, List<Long> leaseIds) implements ClientResponse {
        public Leases {
            leaseIds = List.copyOf(leaseIds);
        }
    }

    /** AUTH_STATUS: whether auth is enabled, and the auth store's revision (one more for every change applied). */
    record AuthStatus(long requestId, ResponseHeader header, boolean enabled, long authRevision) implements ClientResponse { }

    /** NAMES: users or roles, ascending (USER_LIST, ROLE_LIST), or the roles of a user (USER_GET). */
    record Names(long requestId, ResponseHeader header, List<String> names) implements ClientResponse {
        public Names {
            names = List.copyOf(names);
        }
    }

    /** PERMISSIONS: a role's permissions, ascending by key then range end (ROLE_GET). */
    record Permissions(long requestId, ResponseHeader header, List<Permission> permissions) implements ClientResponse {
        public Permissions {
            permissions = List.copyOf(permissions);
        }
    }
}
