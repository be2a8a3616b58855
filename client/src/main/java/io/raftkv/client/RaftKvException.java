package io.raftkv.client;

/** A request that did not succeed; {@link #kind()} says whether it may still have taken effect. */
public final class RaftKvException extends RuntimeException {

    public enum Kind {
        /** The node refused the request as given (bad request, too large): retrying will not help. */
        REJECTED,
        /** No node could serve it before the deadline; a write was never accepted by a leader. */
        UNAVAILABLE,
        /** A write was sent and its answer lost (timeout, connection died): it may or may not have been applied. */
        OUTCOME_UNKNOWN
    }

    private final Kind kind;
    private final int errorCode;

    public RaftKvException(Kind kind, String message) {
        this(kind, 0, message);
    }

    /** {@code errorCode}: the node's {@link io.raftkv.protocol.ErrorCode} when it refused the request, else 0. */
    public RaftKvException(Kind kind, int errorCode, String message) {
        super(message);
        this.kind = kind;
        this.errorCode = errorCode;
    }

    public Kind kind() {
        return kind;
    }

    /** The node's {@link io.raftkv.protocol.ErrorCode} for a request it refused (e.g. LEASE_NOT_FOUND), 0 when there is none. */
    public int errorCode() {
        return errorCode;
    }
}
