package io.raftkv.raft;

/**
 * A ReadIndex request held by the leader: released as {@code index} once a majority has answered a
 * heartbeat round numbered {@code round} or later, which proves no other leader had taken over when the
 * read arrived (thesis §6.4).
 */
record PendingRead(int from, long context, long index, long round) {
}
