package io.raftkv.kv;

import io.raftkv.protocol.OpResult;

import java.util.List;

/** What applying one committed entry did, for the client that proposed it; {@code revision} is the store's after it. */
public sealed interface ApplyResult {

    /** A no-op entry (a new leader's): nothing to answer. */
    record Nothing(long revision) implements ApplyResult { }

    /** A PUT, DELETE or COMPACT done. */
    record Done(long revision) implements ApplyResult { }

    /** A lease granted: its id and TTL. */
    record LeaseGranted(long revision, long leaseId, long ttlSeconds) implements ApplyResult { }

    /** A lease revoked; {@code keysDeleted}: its keys, deleted at {@code revision} (no new revision when there were none). */
    record LeaseRevoked(long revision, long leaseId, int keysDeleted) implements ApplyResult { }

    record TxnDone(long revision, boolean succeeded, List<OpResult> results) implements ApplyResult { }

    /** Refused by the store, the same way on every replica, with nothing changed: {@code code} is an ErrorCode. */
    record Refused(long revision, int code, String message) implements ApplyResult { }

    long revision();
}
