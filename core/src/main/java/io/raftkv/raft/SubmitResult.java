package io.raftkv.raft;

/**
 * The answer to {@link RaftCore#propose(byte[])} and {@link RaftCore#readIndex(long)}. ACCEPTED means the
 * core took the request; for a proposal {@code index}/{@code term} name the entry, which is applied if and
 * only if an entry with that index and term is committed. It may still be lost (leader change): the caller
 * keeps a deadline.
 */
public record SubmitResult(Status status, long index, long term, int leaderId, String reason) {

    public enum Status {
        ACCEPTED,
        /** This node cannot take it; {@code leaderId} names the leader when known ({@link RaftCore#NONE} if not). */
        NOT_LEADER,
        /** A bound was reached (uncommitted bytes, pending reads); retry later. */
        OVERLOADED,
        /** A configuration change or leadership transfer the leader will not make; {@code reason} says why. */
        REFUSED,
        /**
         * A configuration change the leader cannot take yet, for a moment ({@code reason} says why: its first commit of
         * the term is not done, or it is handing leadership over). Nothing was done: asking again shortly succeeds.
         */
        RETRY_LATER
    }

    static SubmitResult accepted(long index, long term) {
        return new SubmitResult(Status.ACCEPTED, index, term, RaftCore.NONE, null);
    }

    static SubmitResult notLeader(int leaderId) {
        return new SubmitResult(Status.NOT_LEADER, 0, 0, leaderId, null);
    }

    static SubmitResult overloaded(int leaderId) {
        return new SubmitResult(Status.OVERLOADED, 0, 0, leaderId, null);
    }

    static SubmitResult retryLater(int leaderId, String reason) {
        return new SubmitResult(Status.RETRY_LATER, 0, 0, leaderId, reason);
    }

    static SubmitResult refused(int leaderId, String reason) {
        return new SubmitResult(Status.REFUSED, 0, 0, leaderId, reason);
    }

    public boolean accepted() {
        return status == Status.ACCEPTED;
    }
}
