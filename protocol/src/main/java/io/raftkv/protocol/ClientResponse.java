package io.raftkv.protocol;

/** What a node answers; {@code requestId} repeats the request's (0 for an error about the connection itself). */
public sealed interface ClientResponse {

    long requestId();

    record Ok(long requestId) implements ClientResponse { }

    record Value(long requestId, byte[] value) implements ClientResponse { }

    record NotFound(long requestId) implements ClientResponse { }

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
}
