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

    public RaftKvException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
