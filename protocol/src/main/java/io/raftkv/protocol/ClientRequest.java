package io.raftkv.protocol;

/**
 * What a client asks; every request carries an id the answer repeats, so requests can be pipelined. PUT, DELETE
 * and GET are the thin single-key forms (a put without prev_kv, a delete of one key, a range of one key answered
 * VALUE or NOT_FOUND); RANGE, TXN and COMPACT carry etcd's full requests. A put or delete with prev_kv, or of a
 * range, travels as a TXN without compares. The member requests read and change the cluster's membership, as etcd's
 * Cluster API does; MOVE_LEADER is etcd's Maintenance.MoveLeader. WATCH_CREATE and WATCH_CANCEL open and close watches,
 * whose events the node sends unasked ({@link ClientResponse.WatchEvents}). AUTH carries etcd's Auth API
 * ({@link AuthRequest}).
 */
public sealed interface ClientRequest {

    long requestId();

    record Put(long requestId, byte[] key, byte[] value) implements ClientRequest { }

    record Delete(long requestId, byte[] key) implements ClientRequest { }

    /** {@code serializable}: answer from the node's own map, possibly stale, instead of a linearizable read. */
    record Get(long requestId, byte[] key, boolean serializable) implements ClientRequest { }

    record Status(long requestId) implements ClientRequest { }

    record Range(long requestId, RangeRequest request) implements ClientRequest { }

    record Txn(long requestId, TxnRequest request) implements ClientRequest { }

    /** Drops the history below {@code revision}: reads at earlier revisions are answered COMPACTED from then on. */
    record Compact(long requestId, long revision) implements ClientRequest { }

    /** The members as the node asked knows them (its latest configuration), from any node: answered MEMBERS. */
    record MemberList(long requestId) implements ClientRequest { }

    /**
     * Adds node {@code nodeId} serving at {@code address} ({@code host:port}, see {@link MemberInfo#addressProblem}),
     * as a learner or a voter; at the leader, answered MEMBERS once the new configuration is committed.
     */
    record MemberAdd(long requestId, int nodeId, String address, boolean learner) implements ClientRequest { }

    /** Removes node {@code nodeId}; at the leader, answered MEMBERS once the new configuration is committed. */
    record MemberRemove(long requestId, int nodeId) implements ClientRequest { }

    /** Makes learner {@code nodeId} a voter; at the leader, answered MEMBERS once the new configuration is committed. */
    record MemberPromote(long requestId, int nodeId) implements ClientRequest { }

    /** Hands the leadership to voter {@code nodeId}; at the leader, answered MEMBERS once that node leads. */
    record MoveLeader(long requestId, int nodeId) implements ClientRequest { }

    /** Opens a watch on this connection: answered OK (its header names the revision then), or ERROR; events follow. */
    record WatchCreate(long requestId, WatchRequest watch) implements ClientRequest { }

    /** Closes the watch {@code watchId} of this connection: OK, or ERROR BAD_REQUEST when there is no such watch. */
    record WatchCancel(long requestId, long watchId) implements ClientRequest { }
    /**
     * Grants a lease of {@code ttlSeconds} (raised to the cluster's minimum when below it, as etcd does) with id
     * {@code leaseId}, or an id the leader picks when it is 0; answered LEASE_RESULT once applied.
     */
    record LeaseGrant(long requestId, long leaseId, long ttlSeconds) implements ClientRequest { }

    /** Ends a lease and deletes its keys, in one revision; answered OK once applied. */
    record LeaseRevoke(long requestId, long leaseId) implements ClientRequest { }

    /** Renews a lease for its granted TTL from now, at the leader only; answered LEASE_RESULT. */
    record LeaseKeepAlive(long requestId, long leaseId) implements ClientRequest { }

    /** A lease's granted and remaining TTL, and its keys when {@code keys}, from the leader; answered LEASE_RESULT. */
    record LeaseTimeToLive(long requestId, long leaseId, boolean keys) implements ClientRequest { }

    /** The ids of every lease, from the leader; answered LEASES. */
    record LeaseLeases(long requestId) implements ClientRequest { }

    /** An auth request (etcd's Auth API): see {@link AuthRequest} for what each is answered. */
    record Auth(long requestId, AuthRequest request) implements ClientRequest { }
}
